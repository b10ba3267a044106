/**
 * The upstream client against real sockets: what is retried, what never is, the retry budget,
 * timeouts within the budget, and the breaker's open → half-open → closed cycle.
 */
import t from 'tap';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Upstream } from '../../src/upstream/http.js';
import { GatewayError } from '../../src/errors.js';

type Handler = (req: IncomingMessage, res: ServerResponse, n: number) => void;

async function server(t: { teardown(fn: () => unknown): void }, handler: Handler): Promise<{ url: string; seen: () => number; srv: Server }> {
  let n = 0;
  const srv = createServer((req, res) => {
    n++;
    req.resume();
    handler(req, res, n);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => srv.close(() => r())));
  const addr = srv.address();
  return { url: `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`, seen: () => n, srv };
}

const json = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};
const reset = (req: IncomingMessage) => req.socket.destroy();

function upstream(t: { teardown(fn: () => unknown): void }, url: string, extra: Partial<ConstructorParameters<typeof Upstream>[0]> = {}): Upstream {
  const u = new Upstream({ name: 'test', baseUrl: url, timeoutMs: 1000, connections: 4, ...extra });
  t.teardown(() => u.close());
  return u;
}

t.test('a reset on an idempotent GET is retried once and succeeds', async (t) => {
  const s = await server(t, (req, res, n) => (n === 1 ? reset(req) : json(res, 200, { ok: true })));
  const u = upstream(t, s.url);
  const r = await u.call('/thing');
  t.equal(r.status, 200);
  t.same(r.body, { ok: true });
  t.equal(s.seen(), 2, 'one retry');
});

t.test('a GET that keeps resetting is retried exactly once, then 503', async (t) => {
  const s = await server(t, (req) => reset(req));
  const u = upstream(t, s.url);
  const err = await u.call('/thing').catch((e: unknown) => e);
  t.ok(err instanceof GatewayError);
  t.equal((err as GatewayError).status, 503);
  t.equal((err as GatewayError).code, 'GW_ERR_UPSTREAM_UNAVAILABLE');
  t.equal(s.seen(), 2);
});

t.test('a POST without Idempotency-Key is never retried', async (t) => {
  const s = await server(t, (req) => reset(req));
  const u = upstream(t, s.url);
  await t.rejects(u.call('/carts', { method: 'POST', body: { a: 1 } }), { code: 'GW_ERR_UPSTREAM_UNAVAILABLE' });
  t.equal(s.seen(), 1, 'exactly one attempt');
});

t.test('a keyed POST is not retried after a reset (it may have arrived), but is after a refused connection', async (t) => {
  const s = await server(t, (req) => reset(req));
  const u = upstream(t, s.url);
  await t.rejects(u.call('/carts', { method: 'POST', body: {}, headers: { 'idempotency-key': 'k1' } }));
  t.equal(s.seen(), 1);
  // Nothing listens on this port: the request certainly never arrived.
  const closed = await server(t, () => undefined);
  await new Promise<void>((r) => closed.srv.close(() => r()));
  const refused = upstream(t, closed.url);
  const start = Date.now();
  await t.rejects(refused.call('/carts', { method: 'POST', body: {}, headers: { 'idempotency-key': 'k2' } }), { code: 'GW_ERR_UPSTREAM_UNAVAILABLE' });
  t.ok(Date.now() - start < 900, 'fails fast');
});

t.test('a 4xx is an answer: returned, not retried, not a breaker failure', async (t) => {
  const s = await server(t, (_req, res) => json(res, 404, { errors: [{ type: 'UnknownIdentifierError' }] }));
  const u = upstream(t, s.url, { breaker: { errorPercent: 50, volume: 2, windowMs: 10_000, resetMs: 1000 } });
  for (let i = 0; i < 5; i++) t.equal((await u.call('/p')).status, 404);
  t.equal(s.seen(), 5);
  t.equal(u.breakerState, 'closed');
});

t.test('a slow upstream times out within the budget, and the request deadline bounds it further', async (t) => {
  const s = await server(t, (_req, res) => setTimeout(() => json(res, 200, {}), 1500));
  const u = upstream(t, s.url, { timeoutMs: 300 });
  let start = Date.now();
  await t.rejects(u.call('/slow'), { code: 'GW_ERR_UPSTREAM_TIMEOUT', status: 504 });
  t.ok(Date.now() - start < 800, `timeout honoured (${Date.now() - start} ms)`);
  start = Date.now();
  await t.rejects(u.call('/slow', { deadline: Date.now() + 100 }), { code: 'GW_ERR_UPSTREAM_TIMEOUT' });
  t.ok(Date.now() - start < 500, `deadline honoured (${Date.now() - start} ms)`);
  await t.rejects(u.call('/slow', { deadline: Date.now() - 1 }), { code: 'GW_ERR_UPSTREAM_TIMEOUT' }, 'a spent budget fails at once');
});

t.test('a body that trickles in is cut off at the timeout, not after the last chunk', async (t) => {
  // every chunk arrives well within bodyTimeout of the previous one: only the overall timer can stop it
  const s = await server(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('[');
    let i = 0;
    const tick = setInterval(() => {
      if (res.destroyed || ++i > 20) {
        clearInterval(tick);
        if (!res.destroyed) res.end('0]');
        return;
      }
      res.write('0,');
    }, 100);
  });
  const u = upstream(t, s.url, { timeoutMs: 400, retry: { max: 0, budgetPercent: 10 } });
  const start = Date.now();
  await t.rejects(u.call('/trickle'), { code: 'GW_ERR_UPSTREAM_TIMEOUT', status: 504 });
  const took = Date.now() - start;
  t.ok(took < 1000, `stopped after ${took} ms, not after the 2 s the body would take`);
});

t.test('answers with a large or multi-chunk body arrive whole', async (t) => {
  const items = Array.from({ length: 20_000 }, (_, i) => ({ sku: String(1000000 + i), name: `Produkt ${i} – grün` }));
  const s = await server(t, (_req, res) => json(res, 200, { items }));
  const u = upstream(t, s.url);
  const r = await u.call('/big');
  t.equal(r.status, 200);
  t.same((r.body as { items: unknown[] }).items.length, items.length);
  t.same((r.body as { items: { name: string }[] }).items[19_999]?.name, 'Produkt 19999 – grün', 'multi-byte characters across chunk boundaries intact');
  t.equal(r.headers['content-type'], 'application/json');
});

t.test('breaker: opens after the threshold, fails fast, half-open probe closes it after recovery', async (t) => {
  let healthy = false;
  const s = await server(t, (_req, res) => (healthy ? json(res, 200, { ok: true }) : json(res, 500, {})));
  const u = upstream(t, s.url, { breaker: { errorPercent: 50, volume: 4, windowMs: 10_000, resetMs: 300 } });
  for (let i = 0; i < 4; i++) await t.rejects(u.call('/x'), { code: 'GW_ERR_UPSTREAM_FAILED' });
  t.equal(u.breakerState, 'open', 'open after 4 failures');
  const before = s.seen();
  const err = (await u.call('/x').catch((e: unknown) => e)) as GatewayError;
  t.equal(err.code, 'GW_ERR_UPSTREAM_UNAVAILABLE');
  t.match(err.detail, /circuit breaker open/);
  t.equal(err.retryAfterSeconds, 1);
  t.equal(s.seen(), before, 'an open breaker does not touch the upstream');
  healthy = true;
  await new Promise((r) => setTimeout(r, 400));
  t.equal(u.breakerState, 'half-open');
  t.same((await u.call('/x')).body, { ok: true }, 'the probe goes through');
  t.equal(u.breakerState, 'closed', 'and closes the breaker');
});

t.test('the retry budget stops a retry storm', async (t) => {
  const s = await server(t, (req) => reset(req));
  const u = upstream(t, s.url, { retry: { max: 1, budgetPercent: 10 }, breaker: { errorPercent: 100, volume: 100000, windowMs: 10_000, resetMs: 1000 } });
  const calls = 100;
  await Promise.all(Array.from({ length: calls }, () => u.call('/x').catch(() => undefined)));
  const retries = s.seen() - calls;
  t.ok(retries <= 10, `at most max(5, 10 %) retries in a second (saw ${retries})`);
  t.ok(retries >= 1, 'but some');
});

t.test('breaker: failures in a row open it however many successes came before; a slow probe that answers closes it', async (t) => {
  let mode: 'ok' | 'fail' | 'slow' = 'ok';
  const s = await server(t, (_req, res) => {
    if (mode === 'ok') return json(res, 200, { ok: true });
    if (mode === 'fail') return json(res, 500, {});
    setTimeout(() => json(res, 200, { ok: 'slowly' }), 400);
  });
  const u = upstream(t, s.url, { timeoutMs: 1000, breaker: { errorPercent: 50, volume: 10, windowMs: 10_000, resetMs: 200, consecutive: 3, slowMs: 150 } });
  for (let i = 0; i < 50; i++) await u.call('/x');
  mode = 'fail';
  for (let i = 0; i < 3; i++) await t.rejects(u.call('/x'), { code: 'GW_ERR_UPSTREAM_FAILED' });
  t.equal(u.breakerState, 'open', '3 failures in a row open it, though the window holds 50 successes (3/53)');
  mode = 'slow';
  await new Promise((r) => setTimeout(r, 250));
  t.equal(u.breakerState, 'half-open');
  t.same((await u.call('/x')).body, { ok: 'slowly' }, 'the probe waits for its answer (400 ms, above the 150 ms slow threshold)');
  t.equal(u.breakerState, 'closed', 'and the answer closes the breaker');
  // Closed, calls slower than slowMs count as failures the moment they pass it.
  const slow = Array.from({ length: 3 }, () => u.call('/x'));
  await new Promise((r) => setTimeout(r, 250));
  t.equal(u.breakerState, 'open', 'three calls pending past 150 ms opened it before any of them ended');
  await Promise.all(slow);
});
