import t, { type Test } from 'tap';
import { request } from 'undici';
import { Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { FastifyInstance } from 'fastify';
import { Money } from '../../src/domain/model.js';
import { buildPricingService } from '../../backends/pricing-service/server.js';
import { driftJson } from '../../backends/kit/faults.js';

/** The consumer's view of a price: what every drift must break. */
const PriceConsumer = TypeCompiler.Compile(Type.Object({ sku: Type.String(), price: Money }));
/** An OCC-style consumer (the ACL reads price.value as a number, stock.stockLevelStatus). */
const OccConsumer = TypeCompiler.Compile(
  Type.Object({
    code: Type.String(),
    price: Type.Object({ currencyIso: Type.String(), value: Type.Number() }),
    stock: Type.Object({ stockLevelStatus: Type.String(), stockLevel: Type.Optional(Type.Integer()) }),
  }),
);

const PATH = '/v1/sites/electronics-spa/prices/1000001';

async function listening(t: Test): Promise<{ app: FastifyInstance; base: string }> {
  const app = await buildPricingService();
  await app.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => app.close());
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { app, base: `http://127.0.0.1:${port}` };
}

async function putFaults(base: string, body: unknown) {
  const res = await request(`${base}/__faults`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.statusCode, body: await res.body.text(), type: res.headers['content-type'] };
}

async function get(base: string, path = PATH) {
  const start = performance.now();
  const res = await request(`${base}${path}`);
  const headersAt = performance.now() - start;
  const body = await res.body.text();
  return { status: res.statusCode, body, type: String(res.headers['content-type']), headersAt, elapsed: performance.now() - start };
}

t.test('faults are off by default and GET reports them', async (t) => {
  const { base } = await listening(t);
  const res = await request(`${base}/__faults`);
  t.same(await res.body.json(), { latencyMs: 0, jitterMs: 0, errorRate: 0, resetRate: 0, malformedRate: 0, driftRate: 0, slowBodyMs: 0, valueSkewRate: 0, valueSkewMinor: 1 });
  const ok = await get(base);
  t.equal(ok.status, 200);
  t.ok(PriceConsumer.Check(JSON.parse(ok.body)));
});

t.test('bad PUT is a 400 in the service error format', async (t) => {
  const { base } = await listening(t);
  for (const body of [{ bogus: 1 }, { errorRate: 2 }, { resetRate: -0.1 }, { latencyMs: -1 }, { latencyMs: 1.5 }, { driftRate: 'half' }, [1], 'x']) {
    const r = await putFaults(base, body);
    t.equal(r.status, 400, `rejects ${JSON.stringify(body)}`);
    t.match(r.type, /application\/problem\+json/);
    t.match(JSON.parse(r.body), { status: 400, code: 'BAD_REQUEST' });
  }
  const res = await request(`${base}/__faults`);
  t.same(await res.body.json(), { latencyMs: 0, jitterMs: 0, errorRate: 0, resetRate: 0, malformedRate: 0, driftRate: 0, slowBodyMs: 0, valueSkewRate: 0, valueSkewMinor: 1 }, 'nothing changed');
});

t.test('latency and jitter delay requests, not /healthz', async (t) => {
  const { base } = await listening(t);
  t.equal((await putFaults(base, { latencyMs: 150, jitterMs: 50 })).status, 200);
  const r = await get(base);
  t.equal(r.status, 200);
  t.ok(r.elapsed >= 145, `delayed ${r.elapsed.toFixed(0)} ms ≥ 150`);
  t.ok(r.elapsed < 1_000, 'but not forever');
  const h = await get(base, '/healthz');
  t.ok(h.elapsed < 100, `healthz not delayed (${h.elapsed.toFixed(0)} ms)`);
});

t.test('errorRate gives 500s in the service format; /healthz and /__faults exempt', async (t) => {
  const { base } = await listening(t);
  await putFaults(base, { errorRate: 1 });
  const r = await get(base);
  t.equal(r.status, 500);
  t.match(r.type, /application\/problem\+json/);
  t.match(JSON.parse(r.body), { status: 500, code: 'PRICING_INTERNAL_ERROR' });
  t.equal((await get(base, '/healthz')).status, 200);
  t.equal((await get(base, '/__faults')).status, 200);
});

t.test('resetRate destroys the socket without a response', async (t) => {
  const { base } = await listening(t);
  await putFaults(base, { resetRate: 1 });
  await t.rejects(request(`${base}${PATH}`), { code: /UND_ERR_SOCKET|ECONNRESET|UND_ERR_CLOSED/ });
  t.equal((await get(base, '/healthz')).status, 200, 'healthz still answers');
});

t.test('malformedRate sends a 200 with truncated JSON', async (t) => {
  const { base } = await listening(t);
  await putFaults(base, { malformedRate: 1 });
  for (const path of [PATH, '/v1/sites/electronics-spa/prices?skus=1000000,1000001']) {
    const r = await get(base, path);
    t.equal(r.status, 200);
    t.throws(() => JSON.parse(r.body), SyntaxError, `truncated: ${r.body}`);
  }
});

t.test('driftRate shape-shifts every 200 into something the consumer rejects', async (t) => {
  const { base } = await listening(t);
  await putFaults(base, { driftRate: 1 });
  const seen = new Set<string>();
  for (let i = 0; i < 20; i++) {
    const r = await get(base);
    t.equal(r.status, 200);
    const body: unknown = JSON.parse(r.body);
    t.notOk(PriceConsumer.Check(body), `drifted payload rejected: ${r.body}`);
    seen.add(r.body);
  }
  t.ok(seen.size >= 2, 'more than one kind of drift observed');
});

t.test('driftJson: each mode is applied recursively and always changes the payload', async (t) => {
  const occ = JSON.stringify({
    code: '1000001',
    price: { currencyIso: 'USD', value: 90.99, formattedValue: '$90.99', priceType: 'BUY' },
    stock: { stockLevel: 12, stockLevelStatus: 'inStock' },
  });
  t.ok(OccConsumer.Check(JSON.parse(occ)), 'the original is valid');
  const renamed = JSON.parse(driftJson(occ, 'rename'));
  t.same(Object.keys(renamed.price), ['currency_iso', 'value', 'formatted_value', 'price_type']);
  t.equal(renamed.stock.stock_level_status, 'inStock');
  const retyped = JSON.parse(driftJson(occ, 'retype'));
  t.equal(retyped.price.value, '90.99');
  t.equal(retyped.stock.stockLevel, '12');
  const dropped = JSON.parse(driftJson(occ, 'drop'));
  t.same(dropped, {}, 'code, price and stock are required fields');
  for (const d of [renamed, retyped, dropped]) t.notOk(OccConsumer.Check(d));

  // nothing to rename or retype: falls through to dropping
  const summaries = JSON.stringify({ items: [{ sku: 'a', promotions: [] }], missing: [] });
  t.same(JSON.parse(driftJson(summaries, 'rename')), {});
  // canonical money has no camelCase key: rename falls through to retype
  t.same(JSON.parse(driftJson(JSON.stringify({ sku: 'a', price: { amount: 5, currency: 'USD' } }), 'rename')), { sku: 'a', price: { amount: '5', currency: 'USD' } });
  // unknown keys only: the first key of every object goes
  t.same(JSON.parse(driftJson(JSON.stringify({ foo: 'x', bar: 'y' }), 'drop')), { bar: 'y' });
  t.equal(driftJson('not json', 'drop'), 'not json', 'non-JSON left alone');
});

t.test('slowBodyMs streams the body in chunks over that time', async (t) => {
  const { base } = await listening(t);
  await putFaults(base, { slowBodyMs: 400 });
  const r = await get(base, '/v1/sites/electronics-spa/prices?skus=1000000,1000001,1000002,1000003');
  t.equal(r.status, 200);
  t.ok(r.elapsed >= 350, `body took ${r.elapsed.toFixed(0)} ms ≥ 400-ish`);
  t.ok(r.headersAt < r.elapsed - 200, `headers (${r.headersAt.toFixed(0)} ms) came well before the body ended`);
  t.ok(PriceConsumer.Check(JSON.parse(r.body).prices[0]), 'the body is intact');
});

t.test('DELETE turns every fault off', async (t) => {
  const { base } = await listening(t);
  await putFaults(base, { latencyMs: 300, errorRate: 1, resetRate: 1, malformedRate: 1, driftRate: 1, slowBodyMs: 300 });
  const del = await request(`${base}/__faults`, { method: 'DELETE' });
  t.equal(del.statusCode, 200);
  t.same(await del.body.json(), { latencyMs: 0, jitterMs: 0, errorRate: 0, resetRate: 0, malformedRate: 0, driftRate: 0, slowBodyMs: 0, valueSkewRate: 0, valueSkewMinor: 1 });
  const r = await get(base);
  t.equal(r.status, 200);
  t.ok(r.elapsed < 200, 'no latency');
  t.ok(PriceConsumer.Check(JSON.parse(r.body)), 'clean payload');
});

t.test('PUT replaces the whole configuration', async (t) => {
  const { base } = await listening(t);
  await putFaults(base, { errorRate: 1, latencyMs: 10 });
  const r = await putFaults(base, { latencyMs: 5 });
  t.same(JSON.parse(r.body), { latencyMs: 5, jitterMs: 0, errorRate: 0, resetRate: 0, malformedRate: 0, driftRate: 0, slowBodyMs: 0, valueSkewRate: 0, valueSkewMinor: 1 });
  t.equal((await get(base)).status, 200);
});
