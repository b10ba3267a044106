/**
 * What a storefront sees when upstreams misbehave, for real: fault injection on the embedded
 * backends, the gateway in front.
 */
import t, { type Test } from 'tap';
import { startWorld, flagFile } from '../helpers/world.js';
import { serviceGate, REDIS_URL } from '../helpers/services.js';
import { upstreamUrlsOf } from '../../backends/index.js';
import type { FastifyInstance } from 'fastify';

const SITE = 'electronics-spa';
const put = (url: string, body: object) =>
  fetch(`${url}/__faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

t.test('slow legacy gives 504 within its budget, with ErrorList on OCC', async (t) => {
  const w = await startWorld(t, {}, { LEGACY_TIMEOUT_MS: '250' });
  await w.app.inject({ url: `/api/v1/sites/${SITE}/products/1000001` }); // sites cached before the fault
  await put(w.backends.legacy.url, { latencyMs: 3000 });
  const start = Date.now();
  const r = await w.app.inject({ url: `/occ/v2/${SITE}/products/1000001` });
  const took = Date.now() - start;
  t.equal(r.statusCode, 504);
  t.match(r.json(), { errors: [{ reason: 'GW_ERR_UPSTREAM_TIMEOUT' }] });
  t.ok(took < 1000, `answered in ${took} ms (budget 250 ms + one retry at most)`);
});

t.test('a killed new pricing service: zero client errors with fallback, breaker opens, half-open probe closes it after recovery', async (t) => {
  const w = await startWorld(t, { pricing: 100 }, { BREAKER_VOLUME: '5', BREAKER_RESET_MS: '500' });
  await put(w.backends.pricing.url, { errorRate: 1 });
  const statuses: number[] = [];
  const routes = new Set<string>();
  for (let i = 0; i < 20; i++) {
    const r = await w.app.inject({ url: `/api/v1/sites/${SITE}/products/${1000100 + i}` });
    statuses.push(r.statusCode);
    routes.add(String(r.headers['x-strangler-route']));
    t.equal(r.json().price.currency, 'USD', 'a real price, from legacy');
  }
  t.same([...new Set(statuses)], [200], 'no client errors');
  t.same([...routes], ['pricing=legacy(fallback), inventory=legacy, promotions=legacy']);
  t.equal(w.app.gw.upstreams.pricing.breakerState, 'open', 'breaker open after the threshold');
  const ready = (await w.app.inject({ url: '/readyz' })).json();
  t.equal(ready.breakers.pricing, 'open', '/readyz shows it');

  await put(w.backends.pricing.url, {});
  await new Promise((r) => setTimeout(r, 600));
  const r = await w.app.inject({ url: `/api/v1/sites/${SITE}/products/1000001` });
  t.equal(r.headers['x-strangler-route'], 'pricing=new, inventory=legacy, promotions=legacy', 'the half-open probe went to new');
  t.equal(w.app.gw.upstreams.pricing.breakerState, 'closed', 'and closed the breaker');
});

t.test('without fallback the client sees the failure, fast, once the breaker is open', async (t) => {
  const w = await startWorld(t, { inventory: 100 }, { FALLBACK_CONTEXTS: 'none', BREAKER_VOLUME: '3' });
  await w.backends.inventory.app.close();
  for (let i = 0; i < 3; i++) t.equal((await w.app.inject({ url: `/api/v1/sites/${SITE}/products/1000001` })).statusCode, 503);
  const r = await w.app.inject({ url: `/api/v1/sites/${SITE}/products/1000001` });
  t.equal(r.statusCode, 503);
  t.equal(r.json().code, 'GW_ERR_UPSTREAM_UNAVAILABLE');
  t.match(r.json().detail, /circuit breaker open/);
  t.equal(r.headers['retry-after'], '1', 'BREAKER_RESET_MS (1 s by default), rounded up');
});

t.test('breaker at the default settings: opens about a second after legacy stalls, closes as soon as it answers again', async (t) => {
  const w = await startWorld(t);
  const legacy = w.app.gw.upstreams.legacy;
  let n = 0;
  const read = () => w.app.inject({ url: `/occ/v2/${SITE}/products/${1000000 + (n++ % 500)}` });
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  // Healthy traffic first: the breaker's window is full of successes when the fault begins.
  for (let i = 0; i < 10; i++) await Promise.all(Array.from({ length: 10 }, read));
  t.equal(legacy.breakerState, 'closed');

  let stop = false;
  const workers = Array.from({ length: 8 }, async () => {
    while (!stop) {
      await read();
      await sleep(20);
    }
  });
  t.teardown(async () => {
    stop = true;
    await Promise.all(workers);
  });
  const waitFor = async (state: string, ms: number) => {
    const from = Date.now();
    while (legacy.breakerState !== state && Date.now() - from < ms) await sleep(10);
    return Date.now() - from;
  };

  await put(w.backends.legacy.url, { latencyMs: 3000 }); // every legacy call would wait for its 2 s timeout
  const openedAfter = await waitFor('open', 8000);
  t.equal(legacy.breakerState, 'open');
  t.ok(openedAfter < 1900, `opened ${openedAfter} ms after legacy stalled (the slow-call threshold is 1 s; before: ~10 s)`);
  const started = Date.now();
  const fast = await read();
  t.equal(fast.statusCode, 503, 'then requests fail fast with 503');
  t.ok(Date.now() - started < 500, `in ${Date.now() - started} ms, not after the 2 s timeout`);

  await put(w.backends.legacy.url, {});
  const closedAfter = await waitFor('closed', 8000);
  t.equal(legacy.breakerState, 'closed');
  t.ok(closedAfter < 2500, `closed ${closedAfter} ms after legacy recovered (BREAKER_RESET_MS 1 s, then the probe's answer; before: up to 5 s)`);
  const r = await read();
  t.equal(r.statusCode, 200, 'and legacy serves again');
});

t.test('drift in the new service falls back; legacy drift is a 502', async (t) => {
  const w = await startWorld(t, { promotions: 100 });
  await put(w.backends.promotions.url, { driftRate: 1 });
  const r = await w.app.inject({ url: `/api/v1/sites/${SITE}/products/1000010` });
  t.equal(r.statusCode, 200);
  t.match(r.headers['x-strangler-route'], /promotions=legacy\(fallback\)/);
  await put(w.backends.legacy.url, { driftRate: 1 });
  const bad = await w.app.inject({ url: `/api/v1/sites/${SITE}/products/1000011` });
  t.equal(bad.statusCode, 502);
  t.equal(bad.json().code, 'GW_ERR_UPSTREAM_INVALID_PAYLOAD');
});

async function cartQuantity(legacyUrl: string, guid: string): Promise<number> {
  const cart = (await (await fetch(`${legacyUrl}/occ/v2/${SITE}/users/anonymous/carts/${guid}?fields=FULL`)).json()) as { entries?: { quantity: number; updateable: boolean }[] };
  return (cart.entries ?? []).filter((e) => e.updateable).reduce((s, e) => s + e.quantity, 0);
}

const redisSkip = await serviceGate(t, 'Redis', '127.0.0.1', 6379);

async function idempotencyChecks(t: Test, apps: [FastifyInstance, FastifyInstance], legacyUrl: string) {
  const [a, b] = apps;
  const created = await a.inject({ method: 'POST', url: `/occ/v2/${SITE}/users/anonymous/carts` });
  const guid = created.json().guid as string;
  const url = `/occ/v2/${SITE}/users/anonymous/carts/${guid}/entries`;
  const key = `key-${guid}`;
  const payload = { product: { code: '1000300' }, quantity: 2 };
  const first = await a.inject({ method: 'POST', url, payload, headers: { 'idempotency-key': key } });
  t.equal(first.statusCode, 200);
  const again = await b.inject({ method: 'POST', url, payload, headers: { 'idempotency-key': key } });
  t.equal(again.statusCode, 200);
  t.equal(again.headers['idempotency-replayed'], 'true', 'replayed');
  t.equal(again.body, first.body, 'the stored response');
  t.equal(await cartQuantity(legacyUrl, guid), 2, 'the cart changed once');

  const other = await b.inject({ method: 'POST', url, payload: { product: { code: '1000300' }, quantity: 5 }, headers: { 'idempotency-key': key } });
  t.equal(other.statusCode, 422);
  t.equal(other.json().errors[0].reason, 'GW_ERR_IDEMPOTENCY_KEY_REUSED');

  const key2 = `${key}-concurrent`;
  const results = await Promise.all(
    Array.from({ length: 5 }, (_, i) => (i % 2 ? a : b).inject({ method: 'POST', url, payload, headers: { 'idempotency-key': key2 } })),
  );
  t.same(results.map((r) => r.statusCode), [200, 200, 200, 200, 200], 'concurrent duplicates wait for the first');
  t.equal(results.filter((r) => r.headers['idempotency-replayed'] !== 'true').length, 1, 'exactly one ran');
  t.equal(await cartQuantity(legacyUrl, guid), 4, 'the cart changed once more, not five times');

  const noKey1 = await a.inject({ method: 'POST', url, payload });
  const noKey2 = await a.inject({ method: 'POST', url, payload });
  t.equal(noKey1.statusCode + noKey2.statusCode, 400, 'without a key both run');
  t.equal(await cartQuantity(legacyUrl, guid), 8);
}

t.test('Idempotency-Key on OCC cart writes (in-memory store)', async (t) => {
  const w = await startWorld(t);
  await idempotencyChecks(t, [w.app, w.app], w.backends.legacy.url);
  const bad = await w.app.inject({ method: 'POST', url: `/occ/v2/${SITE}/users/anonymous/carts`, headers: { 'idempotency-key': 'x'.repeat(300) } });
  t.equal(bad.statusCode, 400);
  t.equal(bad.json().errors[0].reason, 'GW_ERR_IDEMPOTENCY_KEY_INVALID');
});

t.test('Idempotency-Key on the canonical cart evaluation', async (t) => {
  const w = await startWorld(t);
  const url = `/api/v1/sites/${SITE}/carts/evaluate`;
  const payload = { entries: [{ sku: '1000300', quantity: 1 }] };
  const r1 = await w.app.inject({ method: 'POST', url, payload, headers: { 'idempotency-key': 'eval-1' } });
  const r2 = await w.app.inject({ method: 'POST', url, payload, headers: { 'idempotency-key': 'eval-1' } });
  t.equal(r1.statusCode, 200);
  t.equal(r2.headers['idempotency-replayed'], 'true');
  t.equal(r2.body, r1.body);
  t.equal(r2.headers['x-strangler-route'], r1.headers['x-strangler-route'], 'the routing header is part of the stored answer');
  t.match(r2.headers['content-type'], /application\/json/);
});

t.test('Idempotency-Key shared by two gateways through Redis', { skip: redisSkip }, async (t) => {
  const w = await startWorld(t, {}, { REDIS_URL });
  const { buildGateway } = await import('../../src/app.js');
  const { loadConfig } = await import('../../src/config/load.js');
  const second = await buildGateway({
    config: loadConfig({ FLAGS_DIR: w.flagsDir, LOG_LEVEL: 'silent', SHED_EVENT_LOOP_DELAY_MS: '0', REDIS_URL }),
    upstreamUrls: upstreamUrlsOf(w.backends),
    logger: false,
  });
  t.teardown(() => second.close());
  t.equal(w.app.gw.idempotencyStore.kind, 'redis');
  await idempotencyChecks(t, [w.app, second], w.backends.legacy.url);
});

t.test('load shedding: 503 with Retry-After under event-loop pressure, health unaffected', async (t) => {
  const w = await startWorld(t, {}, { SHED_EVENT_LOOP_DELAY_MS: '40' });
  await w.app.inject({ url: `/api/v1/sites/${SITE}/products/1000001` });
  const until = Date.now() + 400;
  while (Date.now() < until); // block the loop like a CPU-bound burst would
  // The overdue sampler runs first and sees the blocked loop; the requests come right after.
  await new Promise((r) => setTimeout(r, 0));
  const [r, h] = await Promise.all([w.app.inject({ url: `/api/v1/sites/${SITE}/products/1000001` }), w.app.inject({ url: '/healthz' })]);
  t.equal(r.statusCode, 503);
  t.equal(r.json().code, 'GW_ERR_OVERLOADED');
  t.equal(r.headers['retry-after'], '2');
  t.equal(h.statusCode, 200, 'health is never shed');
});

t.test('flags: fallback works for an OCC product read too', async (t) => {
  const w = await startWorld(t);
  await w.setFlags(flagFile({ pricing: 100, inventory: 100, promotions: 100 }));
  const good = await w.app.inject({ url: `/occ/v2/${SITE}/products/1000020?fields=FULL` });
  for (const svc of ['pricing', 'inventory', 'promotions'] as const) await w.backends[svc].app.close();
  const r = await w.app.inject({ url: `/occ/v2/${SITE}/products/1000020?fields=FULL` });
  t.equal(r.statusCode, 200);
  t.equal(r.headers['x-strangler-route'], 'pricing=legacy(fallback), inventory=legacy(fallback), promotions=legacy(fallback)');
  t.equal(r.body, good.body, 'the storefront gets the same product');
});
