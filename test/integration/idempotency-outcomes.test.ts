/**
 * Idempotency-Key when the outcome of the first attempt is not known: a write that legacy applies
 * after the gateway's timeout, a gateway that stops in the middle of a write, a Redis that stops
 * answering or is down. In every case the same key never runs the write a second time, and the
 * client is told what is known. Faults are real: the legacy simulator's latency knob
 * (backends/kit/faults.ts) and a redis-server of the test's own that it stops and restarts.
 */
import t, { type Test } from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { startWorld, type World } from '../helpers/world.js';
import { serviceGate, reachable, REDIS_URL, REQUIRE_SERVICES } from '../helpers/services.js';
import { idempotencyFingerprint, scopedIdempotencyKey } from '../../src/idempotency.js';
import { RedisIdempotencyStore } from '../../src/upstream/idempotency-store.js';
import { Redis } from 'ioredis';

const SITE = 'electronics-spa';
const faults = (url: string, body: object) =>
  fetch(`${url}/__faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function cartQuantity(legacyUrl: string, guid: string): Promise<number> {
  const cart = (await (await fetch(`${legacyUrl}/occ/v2/${SITE}/users/anonymous/carts/${guid}?fields=FULL`)).json()) as { entries?: { quantity: number; updateable: boolean }[] };
  return (cart.entries ?? []).filter((e) => e.updateable).reduce((s, e) => s + e.quantity, 0);
}

async function newCart(w: World): Promise<{ guid: string; url: string }> {
  const created = await w.app.inject({ method: 'POST', url: `/occ/v2/${SITE}/users/anonymous/carts` });
  const guid = created.json().guid as string;
  return { guid, url: `/occ/v2/${SITE}/users/anonymous/carts/${guid}/entries` };
}

/** Polls until the cart holds `quantity` (the late write has landed) or `ms` passed. */
async function waitForQuantity(legacyUrl: string, guid: string, quantity: number, ms = 5000): Promise<number> {
  const until = Date.now() + ms;
  let q = await cartQuantity(legacyUrl, guid);
  while (q < quantity && Date.now() < until) {
    await sleep(50);
    q = await cartQuantity(legacyUrl, guid);
  }
  return q;
}

const payload = { product: { code: '1000300' }, quantity: 1 };

async function lateWriteChecks(t: Test, w: World) {
  const { guid, url } = await newCart(w);
  const key = `late-${randomUUID()}`;
  // Legacy applies the write at once but its answer trickles in over 600 ms; the gateway gives up
  // after 250 ms.
  await faults(w.backends.legacy.url, { slowBodyMs: 600 });
  const first = await w.app.inject({ method: 'POST', url, payload, headers: { 'idempotency-key': key } });
  t.equal(first.statusCode, 504, 'the client learns the call timed out');
  t.equal(await waitForQuantity(w.backends.legacy.url, guid, 1), 1, 'legacy applied the write after the timeout');
  await faults(w.backends.legacy.url, {});

  const retry = await w.app.inject({ method: 'POST', url, payload, headers: { 'idempotency-key': key } });
  t.equal(retry.statusCode, 409, 'a retry with the same key does not run again');
  t.equal(retry.json().errors[0].reason, 'GW_ERR_IDEMPOTENCY_OUTCOME_UNKNOWN');
  t.match(retry.json().errors[0].message, /not known/);

  // Ten clients retrying the same key, each several times: still one write.
  const clients = await Promise.all(
    Array.from({ length: 10 }, async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) statuses.push((await w.app.inject({ method: 'POST', url, payload, headers: { 'idempotency-key': key } })).statusCode);
      return statuses;
    }),
  );
  t.same([...new Set(clients.flat())], [409], 'every retry is told the outcome is unknown');
  t.equal(await cartQuantity(w.backends.legacy.url, guid), 1, 'the cart changed once (before the fix: 1 + one per retry)');

  // The same key for another body is still a misuse, and a new key writes as usual.
  const other = await w.app.inject({ method: 'POST', url, payload: { ...payload, quantity: 3 }, headers: { 'idempotency-key': key } });
  t.equal(other.statusCode, 422);
  const fresh = await w.app.inject({ method: 'POST', url, payload, headers: { 'idempotency-key': `${key}-new` } });
  t.equal(fresh.statusCode, 200);
  t.equal(await cartQuantity(w.backends.legacy.url, guid), 2);
}

async function notAppliedChecks(t: Test, w: World) {
  // A write that certainly never took effect (legacy answered 500) frees its key: the retry runs.
  const { guid, url } = await newCart(w);
  const key = `failed-${randomUUID()}`;
  await faults(w.backends.legacy.url, { errorRate: 1 });
  const first = await w.app.inject({ method: 'POST', url, payload, headers: { 'idempotency-key': key } });
  t.equal(first.statusCode, 502);
  await faults(w.backends.legacy.url, {});
  const retry = await w.app.inject({ method: 'POST', url, payload, headers: { 'idempotency-key': key } });
  t.equal(retry.statusCode, 200, 'the retry of a refused write runs');
  t.equal(await cartQuantity(w.backends.legacy.url, guid), 1);
}

t.test('a write legacy applies after the timeout is never run again (in-memory store)', async (t) => {
  const w = await startWorld(t, {}, { LEGACY_TIMEOUT_MS: '250', RETRY_MAX: '0' });
  await lateWriteChecks(t, w);
  await notAppliedChecks(t, w);
});

const redisSkip = await serviceGate(t, 'Redis', '127.0.0.1', 6379);

t.test('a write legacy applies after the timeout is never run again (Redis store)', { skip: redisSkip }, async (t) => {
  const w = await startWorld(t, {}, { LEGACY_TIMEOUT_MS: '250', RETRY_MAX: '0', REDIS_URL });
  t.equal(w.app.gw.idempotencyStore.kind, 'redis');
  await lateWriteChecks(t, w);
  await notAppliedChecks(t, w);
});

t.test('a stateless keyed route (cart evaluation) frees its key after a timeout', async (t) => {
  const w = await startWorld(t, {}, { LEGACY_TIMEOUT_MS: '250', RETRY_MAX: '0' });
  const url = `/api/v1/sites/${SITE}/carts/evaluate`;
  const body = { entries: [{ sku: '1000300', quantity: 1 }] };
  await w.app.inject({ url: `/api/v1/sites/${SITE}/products/1000300` }); // sites cached before the fault
  await faults(w.backends.legacy.url, { latencyMs: 600 });
  const first = await w.app.inject({ method: 'POST', url, payload: body, headers: { 'idempotency-key': 'eval-timeout' } });
  t.equal(first.statusCode, 504);
  await faults(w.backends.legacy.url, {});
  const retry = await w.app.inject({ method: 'POST', url, payload: body, headers: { 'idempotency-key': 'eval-timeout' } });
  t.equal(retry.statusCode, 200, 'nothing was written, so the evaluation simply runs again');
});

t.test('a gateway that stopped mid-write leaves a lease that expires, not a key stuck for a day (Redis)', { skip: redisSkip }, async (t) => {
  const prefix = `test:idem:${randomUUID()}:`;
  const w = await startWorld(t, {}, { REDIS_URL, IDEMPOTENCY_REDIS_PREFIX: prefix });
  const { guid, url } = await newCart(w);
  const key = `crashed-${randomUUID()}`;
  // What a gateway that dies after claiming the key leaves behind: its in-flight marker, with a
  // 300 ms lease nobody will renew. The marker is written by the real store, as that gateway did.
  const crashed = new RedisIdempotencyStore(REDIS_URL, prefix);
  await crashed.connect();
  t.teardown(() => crashed.close());
  const scoped = scopedIdempotencyKey(key, undefined);
  const fingerprint = idempotencyFingerprint('POST', url, payload);
  t.equal((await crashed.claim(scoped, fingerprint, 86_400_000, 300)).state, 'claimed');

  const started = Date.now();
  const during = await w.app.inject({ method: 'POST', url, payload, headers: { 'idempotency-key': key } });
  t.equal(during.statusCode, 409);
  t.equal(during.json().errors[0].reason, 'GW_ERR_IDEMPOTENCY_OUTCOME_UNKNOWN', 'once the lease lapses the answer says the outcome is unknown');
  t.ok(Date.now() - started < 2000, `answered in ${Date.now() - started} ms, not after the whole 3 s wait`);
  await sleep(50);
  const later = await w.app.inject({ method: 'POST', url, payload, headers: { 'idempotency-key': key } });
  t.equal(later.statusCode, 409, 'and it stays so: the write is never run a second time');
  t.equal(await cartQuantity(w.backends.legacy.url, guid), 0);
});

// ------------------------------------------------------------------------------------------------
// A Redis of the test's own, stopped and restarted under a running gateway.

const OWN_REDIS_PORT = Number(process.env.TEST_OWN_REDIS_PORT ?? 18479);
const redisServer = await new Promise<string | false>((resolve) => {
  const p = spawn('redis-server', ['--version'], { stdio: 'ignore' });
  p.on('error', () => {
    const msg = 'redis-server is not installed (apt-get install redis-server)';
    if (REQUIRE_SERVICES) t.fail(`${msg} and REQUIRE_SERVICES=1`);
    resolve(`${msg}; skipped (set REQUIRE_SERVICES=1 to fail instead)`);
  });
  p.on('exit', (code) => code === 0 && resolve(false));
});

async function startRedis(t: Test): Promise<ChildProcess> {
  const p = spawn('redis-server', ['--port', String(OWN_REDIS_PORT), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  t.teardown(() => {
    if (p.exitCode === null) p.kill('SIGKILL');
  });
  const until = Date.now() + 10_000;
  while (!(await reachable('127.0.0.1', OWN_REDIS_PORT, 200))) {
    if (Date.now() > until) throw new Error(`redis-server did not start on ${OWN_REDIS_PORT}`);
    await sleep(50);
  }
  return p;
}

async function stopRedis(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null) return;
  const exited = new Promise((r) => p.once('exit', r));
  p.kill('SIGKILL');
  await exited;
}

t.test('Redis down: keyed writes get 503 with Retry-After, /readyz and /metrics say so, recovery without restart', { skip: redisServer }, async (t) => {
  let redis = await startRedis(t);
  const url0 = `redis://127.0.0.1:${OWN_REDIS_PORT}`;
  const w = await startWorld(t, {}, { REDIS_URL: url0, IDEMPOTENCY_REDIS_PREFIX: `test:idem:${randomUUID()}:` });
  const { guid, url } = await newCart(w);
  const ok = await w.app.inject({ method: 'POST', url, payload, headers: { 'idempotency-key': `up-${randomUUID()}` } });
  t.equal(ok.statusCode, 200);
  t.match((await w.app.inject({ url: '/readyz' })).json(), { checks: { redis: 'up' } });

  await stopRedis(redis);
  const down = await w.app.inject({ method: 'POST', url, payload, headers: { 'idempotency-key': `down-${randomUUID()}` } });
  t.equal(down.statusCode, 503, 'a keyed write is refused, not run unprotected and not a 500');
  t.equal(down.json().errors[0].reason, 'GW_ERR_IDEMPOTENCY_STORE_UNAVAILABLE');
  t.ok(Number(down.headers['retry-after']) >= 1, 'with Retry-After');
  const problem = await w.app.inject({ method: 'POST', url: `/api/v1/sites/${SITE}/carts/evaluate`, payload: { entries: [{ sku: '1000300', quantity: 1 }] }, headers: { 'idempotency-key': 'eval-down' } });
  t.equal(problem.statusCode, 503);
  t.match(problem.headers['content-type'], /application\/problem\+json/);
  t.equal(problem.json().code, 'GW_ERR_IDEMPOTENCY_STORE_UNAVAILABLE');
  const unkeyed = await w.app.inject({ method: 'POST', url, payload });
  t.equal(unkeyed.statusCode, 200, 'writes without a key do not need Redis');
  const ready = await w.app.inject({ url: '/readyz' });
  t.equal(ready.statusCode, 200, 'still ready: only keyed writes need Redis');
  t.match(ready.json(), { checks: { redis: 'down' } });
  const metrics = (await w.app.inject({ url: '/metrics' })).body;
  t.match(metrics, /gateway_idempotency_store_errors_total\{operation="claim"\} [1-9]/);
  t.equal(await cartQuantity(w.backends.legacy.url, guid), 2);

  redis = await startRedis(t);
  const until = Date.now() + 10_000;
  let again = await w.app.inject({ method: 'POST', url, payload, headers: { 'idempotency-key': `back-${randomUUID()}` } });
  while (again.statusCode === 503 && Date.now() < until) {
    await sleep(100);
    again = await w.app.inject({ method: 'POST', url, payload, headers: { 'idempotency-key': `back-${randomUUID()}` } });
  }
  t.equal(again.statusCode, 200, 'keyed writes work again once Redis is back, without a restart');
  t.match((await w.app.inject({ url: '/readyz' })).json(), { checks: { redis: 'up' } });
});

t.test('Redis drops the connection between the start and the end of a write: the client gets the real answer, the key is never run again', { skip: redisServer }, async (t) => {
  await startRedis(t);
  const w = await startWorld(t, {}, { REDIS_URL: `redis://127.0.0.1:${OWN_REDIS_PORT}`, IDEMPOTENCY_REDIS_PREFIX: `test:idem:${randomUUID()}:`, IDEMPOTENCY_LEASE_MS: '1000' });
  const admin = new Redis(`redis://127.0.0.1:${OWN_REDIS_PORT}`);
  t.teardown(() => admin.disconnect());
  const { guid, url } = await newCart(w);
  const key = `dropped-${randomUUID()}`;
  await faults(w.backends.legacy.url, { latencyMs: 300 });
  const pending = w.app.inject({ method: 'POST', url, payload, headers: { 'idempotency-key': key } });
  await sleep(100); // claimed; the write is at legacy
  // Writes wait in Redis from now on, and then the gateway's connection is cut: the recording of
  // the write's answer never reaches Redis.
  await admin.client('PAUSE', 5000, 'WRITE');
  const answered = pending.then((r) => r);
  await sleep(300);
  await admin.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
  await admin.client('UNPAUSE');
  const first = await answered;
  t.equal(first.statusCode, 200, 'the write succeeded and the client is told so');
  t.equal(await cartQuantity(w.backends.legacy.url, guid), 1);
  await faults(w.backends.legacy.url, {});
  await sleep(1200); // the lease, no longer renewed, lapses
  const retry = await w.app.inject({ method: 'POST', url, payload, headers: { 'idempotency-key': key } });
  t.equal(retry.statusCode, 409, 'the answer was not recorded, so the outcome is unknown: not run again');
  t.equal(retry.json().errors[0].reason, 'GW_ERR_IDEMPOTENCY_OUTCOME_UNKNOWN');
  t.match(retry.json().errors[0].message, /stopped before recording its outcome/);
  t.equal(await cartQuantity(w.backends.legacy.url, guid), 1);
  t.match((await w.app.inject({ url: '/metrics' })).body, /gateway_idempotency_store_errors_total\{operation="complete"\} 1/);
});

t.test('Redis dies in the middle of a keyed write: the client gets the write\'s own answer, not a 500', { skip: redisServer }, async (t) => {
  const redis = await startRedis(t);
  const w = await startWorld(t, {}, { REDIS_URL: `redis://127.0.0.1:${OWN_REDIS_PORT}`, IDEMPOTENCY_REDIS_PREFIX: `test:idem:${randomUUID()}:` });
  const { guid, url } = await newCart(w);
  await faults(w.backends.legacy.url, { latencyMs: 300 });
  const pending = w.app.inject({ method: 'POST', url, payload, headers: { 'idempotency-key': `killed-${randomUUID()}` } });
  await sleep(100); // claimed; the write is at legacy
  await stopRedis(redis);
  const first = await pending;
  t.equal(first.statusCode, 200, 'the write succeeded and the client is told so (before the fix: 500 GW_ERR_INTERNAL_ERROR)');
  t.equal(first.json().quantityAdded, 1);
  t.equal(await cartQuantity(w.backends.legacy.url, guid), 1);
});

async function renewalChecks(t: Test, w: World) {
  const { guid, url } = await newCart(w);
  const key = `long-${randomUUID()}`;
  await faults(w.backends.legacy.url, { latencyMs: 900 }); // three times the 300 ms lease
  const first = w.app.inject({ method: 'POST', url, payload, headers: { 'idempotency-key': key } });
  await sleep(600);
  const duplicate = await w.app.inject({ method: 'POST', url, payload, headers: { 'idempotency-key': key } });
  t.equal((await first).statusCode, 200);
  t.equal(duplicate.statusCode, 200, 'the running write renewed its lease: the duplicate waited for it, not told "unknown"');
  t.equal(duplicate.headers['idempotency-replayed'], 'true');
  t.equal(await cartQuantity(w.backends.legacy.url, guid), 1);
  await faults(w.backends.legacy.url, {});
}

t.test('a write that runs longer than its lease keeps renewing it (in-memory store)', async (t) => {
  await renewalChecks(t, await startWorld(t, {}, { IDEMPOTENCY_LEASE_MS: '300' }));
});

t.test('a write that runs longer than its lease keeps renewing it (Redis store)', { skip: redisSkip }, async (t) => {
  await renewalChecks(t, await startWorld(t, {}, { IDEMPOTENCY_LEASE_MS: '300', REDIS_URL, IDEMPOTENCY_REDIS_PREFIX: `test:idem:${randomUUID()}:` }));
});

t.test('Redis down when the gateway starts: it starts, refuses keyed writes with 503, and uses Redis once it is up', { skip: redisServer }, async (t) => {
  const w = await startWorld(t, {}, { REDIS_URL: `redis://127.0.0.1:${OWN_REDIS_PORT}`, IDEMPOTENCY_REDIS_PREFIX: `test:idem:${randomUUID()}:` });
  const { url } = await newCart(w);
  const down = await w.app.inject({ method: 'POST', url, payload, headers: { 'idempotency-key': `boot-${randomUUID()}` } });
  t.equal(down.statusCode, 503);
  t.equal(down.json().errors[0].reason, 'GW_ERR_IDEMPOTENCY_STORE_UNAVAILABLE');
  await startRedis(t);
  const until = Date.now() + 10_000;
  let up = down;
  while (up.statusCode === 503 && Date.now() < until) {
    await sleep(100);
    up = await w.app.inject({ method: 'POST', url, payload, headers: { 'idempotency-key': `boot-${randomUUID()}` } });
  }
  t.equal(up.statusCode, 200, 'recovered without a restart');
});
