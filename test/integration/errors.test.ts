/**
 * What a client sees when its input or an upstream is wrong: a clear 4xx for bad input, and
 * for upstream trouble a 502/503/504 with a stable code, problem+json on canonical routes and
 * OCC's ErrorList on /occ routes, never an upstream body or a stack trace.
 */
import t from 'tap';
import type { InjectOptions } from 'fastify';
import { startWorld } from '../helpers/world.js';

const SITE = 'electronics-spa';

async function faults(url: string, body: object | null) {
  await fetch(`${url}/__faults`, body ? { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : { method: 'DELETE' });
}

t.test('bad input', async (t) => {
  const w = await startWorld(t);
  const cases: { name: string; req: InjectOptions; status: number; code: string }[] = [
    { name: 'unknown site', req: { url: '/api/v1/sites/nowhere/products/1000001' }, status: 404, code: 'GW_ERR_SITE_NOT_FOUND' },
    { name: 'unknown product', req: { url: `/api/v1/sites/${SITE}/products/1999999` }, status: 404, code: 'GW_ERR_PRODUCT_NOT_FOUND' },
    { name: 'malformed SKU', req: { url: `/api/v1/sites/${SITE}/products/%3Cscript%3E` }, status: 400, code: 'GW_ERR_REQUEST_INVALID' },
    { name: 'malformed SKU in batch', req: { url: `/api/v1/sites/${SITE}/products?skus=1000001,a%20b` }, status: 400, code: 'GW_ERR_REQUEST_INVALID' },
    { name: 'too many SKUs', req: { url: `/api/v1/sites/${SITE}/products?skus=${Array.from({ length: 101 }, (_, i) => 1000000 + i).join(',')}` }, status: 400, code: 'GW_ERR_REQUEST_INVALID' },
    { name: 'missing skus', req: { url: `/api/v1/sites/${SITE}/products` }, status: 400, code: 'GW_ERR_REQUEST_INVALID' },
    { name: 'malformed JSON', req: { method: 'POST', url: `/api/v1/sites/${SITE}/carts/evaluate`, headers: { 'content-type': 'application/json' }, payload: '{"entries": [' }, status: 400, code: 'GW_ERR_REQUEST_MALFORMED_JSON' },
    { name: 'invalid cart', req: { method: 'POST', url: `/api/v1/sites/${SITE}/carts/evaluate`, payload: { entries: [{ sku: '1000001', quantity: 0 }] } }, status: 400, code: 'GW_ERR_REQUEST_INVALID' },
    { name: 'unknown product in cart', req: { method: 'POST', url: `/api/v1/sites/${SITE}/carts/evaluate`, payload: { entries: [{ sku: '1999999', quantity: 1 }] } }, status: 404, code: 'GW_ERR_PRODUCT_NOT_FOUND' },
    { name: 'wrong media type', req: { method: 'POST', url: `/api/v1/sites/${SITE}/carts/evaluate`, headers: { 'content-type': 'text/plain' }, payload: 'hello' }, status: 415, code: 'GW_ERR_REQUEST_UNSUPPORTED_MEDIA_TYPE' },
    { name: 'body over the limit', req: { method: 'POST', url: `/api/v1/sites/${SITE}/carts/evaluate`, headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ entries: [], pad: 'x'.repeat(1_100_000) }) }, status: 413, code: 'GW_ERR_REQUEST_TOO_LARGE' },
    { name: 'unknown route', req: { url: '/api/v2/whatever' }, status: 404, code: 'GW_ERR_ROUTE_NOT_FOUND' },
  ];
  for (const c of cases) {
    const r = await w.app.inject(c.req);
    t.equal(r.statusCode, c.status, `${c.name}: status`);
    t.match(r.headers['content-type'], /^application\/problem\+json/, `${c.name}: problem+json`);
    const body = r.json();
    t.equal(body.code, c.code, `${c.name}: code`);
    t.equal(body.status, c.status);
    t.type(body.detail, 'string');
    t.notMatch(r.body, /at .*\.(ts|js):\d+/, `${c.name}: no stack trace`);
  }
});

t.test('bad input on the OCC surface keeps OCC ErrorList', async (t) => {
  const w = await startWorld(t);
  const unknownProduct = await w.app.inject({ url: `/occ/v2/${SITE}/products/1999999` });
  t.equal(unknownProduct.statusCode, 404);
  t.match(unknownProduct.json(), { errors: [{ type: 'UnknownIdentifierError', reason: 'GW_ERR_PRODUCT_NOT_FOUND' }] });
  const unknownSite = await w.app.inject({ url: `/occ/v2/nowhere/products/1000001` });
  t.equal(unknownSite.statusCode, 404);
  t.match(unknownSite.json(), { errors: [{ type: 'UnknownIdentifierError', reason: 'GW_ERR_SITE_NOT_FOUND' }] });
  const badFields = await w.app.inject({ url: `/occ/v2/${SITE}/products/1000001?fields=price(FULL` });
  t.equal(badFields.statusCode, 400);
  t.match(badFields.json(), { errors: [{ type: 'ValidationError', reason: 'GW_ERR_REQUEST_INVALID' }] });
  const badCurrency = await w.app.inject({ url: `/occ/v2/${SITE}/products/1000001?curr=GBP` });
  t.equal(badCurrency.statusCode, 400);
});

for (const backend of ['legacy', 'new'] as const) {
  for (const ctx of ['pricing', 'inventory', 'promotions'] as const) {
    t.test(`${ctx} on ${backend}: drifted or malformed upstream payload gives 502 with its code`, async (t) => {
      const w = await startWorld(t, backend === 'new' ? { [ctx]: 100 } : {}, { FALLBACK_CONTEXTS: '' });
      const target = backend === 'new' ? w.backends[ctx].url : w.backends.legacy.url;
      await faults(target, { driftRate: 1 });
      const r = await w.app.inject({ url: `/api/v1/sites/${SITE}/products/1000010` });
      t.equal(r.statusCode, 502, r.body);
      const body = r.json();
      t.equal(body.code, 'GW_ERR_UPSTREAM_INVALID_PAYLOAD');
      t.equal(body.backend, backend);
      t.ok(body.context === ctx || (backend === 'legacy' && body.context === 'catalog'), `names the context (${body.context})`);
      const occ = await w.app.inject({ url: `/occ/v2/${SITE}/products/1000010` });
      t.equal(occ.statusCode, 502);
      t.match(occ.json(), { errors: [{ reason: 'GW_ERR_UPSTREAM_INVALID_PAYLOAD' }] });
      await faults(target, { malformedRate: 1 });
      const m = await w.app.inject({ url: `/api/v1/sites/${SITE}/products/1000010` });
      t.equal(m.statusCode, 502);
      t.equal(m.json().code, 'GW_ERR_UPSTREAM_INVALID_PAYLOAD');
      await faults(target, null);
      const ok = await w.app.inject({ url: `/api/v1/sites/${SITE}/products/1000010` });
      t.equal(ok.statusCode, 200, 'recovers when the upstream does');
    });
  }
}

t.test('upstream down gives 503, slow upstream gives 504 within the budget', async (t) => {
  const w = await startWorld(t, { pricing: 100 }, { UPSTREAM_TIMEOUT_MS: '300', FALLBACK_CONTEXTS: '' });
  await faults(w.backends.pricing.url, { latencyMs: 2000 });
  const start = Date.now();
  const slow = await w.app.inject({ url: `/api/v1/sites/${SITE}/products/1000011` });
  const took = Date.now() - start;
  t.equal(slow.statusCode, 504);
  t.equal(slow.json().code, 'GW_ERR_UPSTREAM_TIMEOUT');
  t.ok(took < 1500, `answered within the budget (${took} ms)`);
  await faults(w.backends.pricing.url, null);
  await w.backends.pricing.app.close();
  const down = await w.app.inject({ url: `/api/v1/sites/${SITE}/products/1000011` });
  t.equal(down.statusCode, 503);
  t.equal(down.json().code, 'GW_ERR_UPSTREAM_UNAVAILABLE');
  t.equal(down.headers['retry-after'], '1');
});
