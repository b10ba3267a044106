/**
 * The strangler default: routes the contexts do not own go to legacy unchanged, and the
 * client cannot steer the proxy anywhere the configuration did not name. Runs over a real
 * listening gateway (raw sockets for the request targets inject() would normalize).
 */
import t from 'tap';
import { request } from 'undici';
import { startWorld } from '../helpers/world.js';
import { rawExchange } from '../helpers/raw-http.js';

async function listen(t: Parameters<typeof startWorld>[0]) {
  const w = await startWorld(t);
  await w.app.listen({ host: '127.0.0.1', port: 0 });
  const addr = w.app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return { w, base: `http://127.0.0.1:${port}`, port };
}

t.test('passthrough preserves method, query, body, status and headers', async (t) => {
  const { w, base } = await listen(t);
  const direct = await request(`${w.backends.legacy.url}/occ/v2/basesites?fields=FULL`);
  const directBody = await direct.body.text();
  const via = await request(`${base}/occ/v2/basesites?fields=FULL`);
  const viaBody = await via.body.text();
  t.equal(via.statusCode, 200);
  t.equal(viaBody, directBody, 'same bytes as the monolith');
  t.equal(via.headers['content-type'], direct.headers['content-type']);
  t.notOk(via.headers['x-strangler-route'], 'no context touched, no routing header');

  // A write the contexts do not own: create a cart and add an entry straight through.
  const created = await request(`${base}/occ/v2/electronics-spa/users/anonymous/carts`, { method: 'POST' });
  t.equal(created.statusCode, 201);
  const cart = (await created.body.json()) as { guid: string };
  const added = await request(`${base}/occ/v2/electronics-spa/users/anonymous/carts/${cart.guid}/entries`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', connection: 'keep-alive', 'x-request-id': 'abc-123' },
    body: JSON.stringify({ product: { code: '1000001' }, quantity: 2 }),
  });
  t.equal(added.statusCode, 200);
  t.equal(added.headers['x-request-id'], 'abc-123', 'request id echoed');
  const mod = (await added.body.json()) as { quantityAdded: number };
  t.equal(mod.quantityAdded, 2);

  const missing = await request(`${base}/occ/v2/electronics-spa/users/anonymous/carts/nope`);
  t.equal(missing.statusCode, 404, 'upstream status preserved');
  t.match(await missing.body.json(), { errors: [{ type: 'CartError' }] });
});

t.test('the client cannot steer the proxy', async (t) => {
  const { port, base } = await listen(t);
  const cases: [string, string][] = [
    ['dot segments', 'GET /occ/v2/../__faults HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'],
    ['encoded dot segments', 'GET /occ/v2/%2e%2e/__faults HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'],
    ['encoded slash', 'GET /occ/v2/..%2f__faults HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'],
    ['backslash', 'GET /occ/v2/..\\__faults HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'],
    ['absolute-form target', 'GET http://169.254.169.254/occ/v2/basesites HTTP/1.1\r\nHost: 169.254.169.254\r\nConnection: close\r\n\r\n'],
  ];
  for (const [name, req] of cases) {
    const res = await rawExchange(port, req);
    t.match(res, /^HTTP\/1\.1 400/, `${name}: 400`);
    t.notMatch(res, /latencyMs/, `${name}: fault config not exposed`);
  }
  const faults = await request(`${base}/__faults`);
  t.equal(faults.statusCode, 404, 'paths outside the configured prefixes are not proxied');
  t.match(await faults.body.json(), { code: 'GW_ERR_ROUTE_NOT_FOUND' });

  // A Host header naming another server changes nothing: the upstream is fixed by configuration.
  const hosted = await request(`${base}/occ/v2/basesites`, { headers: { host: 'evil.example:9999' } });
  t.equal(hosted.statusCode, 200);
  t.match(await hosted.body.text(), /electronics-spa/);
});

t.test('legacy down: passthrough answers 503 problem, OCC ErrorList on /occ', async (t) => {
  const { w, base } = await listen(t);
  await w.backends.legacy.app.close();
  const r = await request(`${base}/occ/v2/basesites`);
  t.equal(r.statusCode, 503);
  t.match(r.headers['content-type'], /application\/json/);
  const body = (await r.body.json()) as { errors: { reason: string }[] };
  t.equal(body.errors[0]?.reason, 'GW_ERR_UPSTREAM_UNAVAILABLE');
});
