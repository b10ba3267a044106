/**
 * The multi-instance rehearsal (docs/scale-out.md): three gateway processes (the production
 * entry, ports 43201-43203) behind a real haproxy on 43200, sharing one Redis and a real Unleash
 * server. It shows, with figures printed as test comments:
 * - a flip made through one instance's admin API is in force on all three within the refresh
 *   interval (ms per instance);
 * - one instance SIGKILLed under load costs no request beyond those in flight on it (lost of N;
 *   haproxy retries idempotent requests on another server: `retry-on`);
 * - the same Idempotency-Key sent to all three instances at once writes once (duplicates: 0);
 * - GET /admin/audit on every instance lists the flip once, naming the instance it went through.
 *
 * Needs Redis, PostgreSQL (for Unleash) and haproxy (Debian package; .ci/run installs it).
 */
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Pool, request } from 'undici';
import { Redis } from 'ioredis';
import { connect as amqpConnect } from 'amqplib';
import { startBackends } from '../../backends/index.js';
import type { AuditResponse } from '../../src/admin/schemas.js';
import { serviceGate, REDIS_URL, REQUIRE_SERVICES } from '../helpers/services.js';
import { postgresUnavailable, startUnleash, type UnleashServer } from '../helpers/unleash-server.js';

t.setTimeout(300_000);

/** this suite's ports; one that another process holds (an ephemeral port, say) is swapped for a free one */
const PREFERRED_LB_PORT = 43200;
const PREFERRED_PORTS = [43201, 43202, 43203];
const TOKEN = 'rehearsal-admin-token-0123456789';
const AMQP_URL = process.env.TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const AUTH = { authorization: `Bearer ${TOKEN}` };
const SITE = 'electronics-spa';
const PRODUCT = `/api/v1/sites/${SITE}/products/1000001`;
const REFRESH_MS = 500;
/** Unleash publishes a new revision at most every second; then each instance's next fetch */
const FLIP_BOUND_MS = REFRESH_MS + 1000;
const LOAD_REQUESTS = Number(process.env.REHEARSAL_REQUESTS ?? 3000);
const LOAD_CONNECTIONS = 16;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `preferred` when it is free, else a free port the kernel picks */
function freePort(preferred: number): Promise<number> {
  const tryListen = (port: number) =>
    new Promise<number | undefined>((resolve) => {
      const srv = createServer();
      srv.once('error', () => resolve(undefined));
      srv.listen(port, '127.0.0.1', () => {
        const got = (srv.address() as { port: number }).port;
        srv.close(() => resolve(got));
      });
    });
  return tryListen(preferred).then(async (p) => p ?? (await tryListen(0))!);
}

/** Which of the rehearsal's needs are missing (a skip, or under REQUIRE_SERVICES=1 a failure). */
async function missing(): Promise<string | false> {
  const redis = await serviceGate(t, 'Redis', '127.0.0.1', 6379);
  if (redis) return redis;
  const rabbit = await serviceGate(t, 'RabbitMQ', '127.0.0.1', 5672);
  if (rabbit) return rabbit;
  const pg = await postgresUnavailable();
  const hap = await new Promise<boolean>((resolve) => spawn('haproxy', ['-v'], { stdio: 'ignore' }).once('error', () => resolve(false)).once('exit', (c) => resolve(c === 0)));
  const why = pg ? `PostgreSQL (for Unleash) unavailable: ${pg}` : !hap ? 'haproxy is not installed (apt-get install haproxy)' : undefined;
  if (!why) return false;
  if (REQUIRE_SERVICES) t.fail(`${why} and REQUIRE_SERVICES=1`);
  return `${why}; skipped (set REQUIRE_SERVICES=1 to fail instead)`;
}

function spawnLogged(cmd: string, args: string[], env: NodeJS.ProcessEnv): { child: ChildProcess; out: () => string; exited: Promise<void> } {
  const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  child.stderr!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  return { child, out: () => out, exited };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number, out?: () => string): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${out ? `:\n${out()}` : ''}`);
    await sleep(50);
  }
}

async function get(base: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, unknown>; text: string }> {
  const r = await request(`${base}${path}`, { headers, headersTimeout: 10_000, bodyTimeout: 10_000 });
  return { status: r.statusCode, headers: r.headers, text: await r.body.text() };
}

const HAPROXY_CFG = (lbPort: number, servers: string) => `
global
  maxconn 2000
defaults
  mode http
  timeout connect 500ms
  timeout client 30s
  timeout server 10s
  retries 3
  option redispatch 1
  # a connection refused or reset, or no answer: retried on another server, but only requests that
  # are safe to repeat: GET/HEAD, and writes with an Idempotency-Key (the gateway runs them once)
  retry-on conn-failure empty-response response-timeout
frontend gw
  bind 127.0.0.1:${lbPort}
  default_backend gateways
backend gateways
  balance roundrobin
  http-request disable-l7-retry if !METH_GET !{ req.hdr(idempotency-key) -m found }
  option httpchk GET /readyz
  # a dead instance refuses the check at once: out after 3 x 500 ms. A live one on a starved
  # machine may take a while to answer: 2 s before a check counts as failed, so the survivors are
  # not taken out too (with no server up, haproxy itself answers 503)
  timeout check 2s
  default-server inter 500ms fall 3 rise 1
${servers}
`;

const skip = await missing();

t.test('three instances behind haproxy: one flip reaches all, a killed instance costs nothing, keyed writes once, one audit trail', { skip }, async (t) => {
  const started = Date.now();
  // the simulators boot while Unleash does
  const booting = startBackends({ amqpUrl: AMQP_URL });
  let unleash: UnleashServer;
  try {
    unleash = await startUnleash();
  } catch (err) {
    t.fail(`could not start unleash-server: ${(err as Error).message}`);
    await (await booting).close();
    return;
  }
  t.teardown(() => unleash.close());
  const backends = await booting;
  t.teardown(() => backends.close());
  await unleash.admin.createRouteFlag('route.pricing', { rollout: 0, stickiness: 'userId' });

  const run = randomUUID();
  const AUDIT_STREAM_KEY = `test:rehearsal:${run}:audit`;
  t.teardown(async () => {
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`test:rehearsal:${run}:*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });
  const { NODE_OPTIONS: _tapLoaders, ...baseEnv } = process.env;
  const PORTS: number[] = [];
  for (const p of PREFERRED_PORTS) PORTS.push(await freePort(p));
  const gateways = PORTS.map((port) =>
    spawnLogged(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
      ...baseEnv,
      PORT: String(port),
      HOST: '127.0.0.1',
      GATEWAY_WORKERS: '1',
      GATEWAY_INSTANCES: '3',
      LOG_LEVEL: 'warn',
      ADMIN_TOKEN: TOKEN,
      REDIS_URL,
      AMQP_URL,
      AUDIT_STREAM_KEY,
      IDEMPOTENCY_REDIS_PREFIX: `test:rehearsal:${run}:idem:`,
      STICKY_REDIS_PREFIX: `test:rehearsal:${run}:sticky:`,
      STICKY_SECRET: 'rehearsal-sticky-secret-0123456789abcdef',
      UNLEASH_URL: unleash.url,
      UNLEASH_API_TOKEN: unleash.clientToken,
      UNLEASH_ADMIN_TOKEN: unleash.adminToken,
      UNLEASH_REFRESH_MS: String(REFRESH_MS),
      LEGACY_URL: backends.legacy.url,
      PRICING_URL: backends.pricing.url,
      INVENTORY_URL: backends.inventory.url,
      PROMOTIONS_URL: backends.promotions.url,
      SHUTDOWN_DRAIN_MS: '0',
      SHED_EVENT_LOOP_DELAY_MS: '0',
    }),
  );
  const direct = PORTS.map((p) => `http://127.0.0.1:${p}`);
  const bootStart = Date.now();
  for (const [i, base] of direct.entries()) await until(`instance ${i + 1} ready`, async () => ((await get(base, '/readyz')).status === 200 ? true : undefined), 90_000, gateways[i]!.out);
  t.comment(`Unleash and simulators: ${bootStart - started} ms; 3 gateways ready: ${Date.now() - bootStart} ms`);

  const dir = await mkdtemp(join(tmpdir(), 'rehearsal-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const cfg = join(dir, 'haproxy.cfg');
  let lb = '';
  // the port may be taken between the check and haproxy's bind: then another one
  for (let attempt = 1; ; attempt++) {
    const lbPort = await freePort(PREFERRED_LB_PORT);
    await writeFile(cfg, HAPROXY_CFG(lbPort, PORTS.map((p, i) => `  server gw${i + 1} 127.0.0.1:${p} check`).join('\n')));
    const haproxy = spawnLogged('haproxy', ['-db', '-f', cfg], baseEnv);
    lb = `http://127.0.0.1:${lbPort}`;
    const url = lb;
    const ready = until('haproxy', async () => ((await get(url, '/readyz')).status === 200 ? true : undefined), 20_000).catch(() => false);
    const up = await Promise.race([ready, haproxy.exited.then(() => false)]);
    if (up) break;
    if (attempt === 3) throw new Error(`haproxy did not start:\n${haproxy.out()}`);
  }
  t.comment(`ports: haproxy ${new URL(lb).port}, gateways ${PORTS.join(', ')}`);
  t.comment(`setup (Unleash, simulators, 3 gateways, haproxy): ${Date.now() - started} ms`);

  // what the instances publish on gateway.events (docs/events.md), as any consumer would bind
  const amqp = await amqpConnect(AMQP_URL);
  t.teardown(() => amqp.close().catch(() => undefined));
  const channel = await amqp.createChannel();
  await channel.assertExchange('gateway.events', 'topic', { durable: true });
  const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true });
  await channel.bindQueue(queue, 'gateway.events', 'route.changed');
  const published: { source: string; data: { reason?: string | null; after?: { rollout?: number } } }[] = [];
  await channel.consume(queue, (m) => m && published.push(JSON.parse(m.content.toString()) as (typeof published)[number]), { noAck: true });
  for (const [i, base] of direct.entries()) await until(`instance ${i + 1} on the broker`, async () => (/"events":"up"/.test((await get(base, '/readyz')).text) ? true : undefined), 30_000);

  await t.test('a flip through instance 1 is in force on all three within the refresh interval', async (t) => {
    for (const base of direct) t.match((await get(base, PRODUCT, { 'x-user-id': 'u-1' })).headers['x-strangler-route'], /pricing=legacy/);
    const flippedAt = Date.now();
    const put = await request(`${direct[0]}/admin/routes/pricing`, {
      method: 'PUT',
      headers: { ...AUTH, 'content-type': 'application/json', 'x-actor': 'rehearsal' },
      body: JSON.stringify({ percent: 100, reason: `rehearsal flip ${run}` }),
    });
    t.equal(put.statusCode, 200, await put.body.text());
    const ms = await Promise.all(
      direct.map((base, i) =>
        until(
          `the flip on instance ${i + 1}`,
          async () => (/pricing=new/.test(String((await get(base, PRODUCT, { 'x-user-id': 'u-1' })).headers['x-strangler-route'])) ? Date.now() - flippedAt : undefined),
          FLIP_BOUND_MS + 10_000,
        ),
      ),
    );
    t.comment(`flip in force after: ${ms.map((m, i) => `instance ${i + 1} ${m} ms`).join(', ')} (refresh ${REFRESH_MS} ms + Unleash revision ≤ 1 s)`);
    // generous slack for a loaded 2-core machine; the figures are in the comment above
    for (const [i, m] of ms.entries()) t.ok(m <= FLIP_BOUND_MS + 5000, `instance ${i + 1}: ${m} ms`);

    // every instance has observed it by now: the shared trail holds it once, on every instance
    await sleep(REFRESH_MS * 2);
    for (const [i, base] of direct.entries()) {
      const r = await get(base, '/admin/audit?context=pricing', AUTH);
      t.equal(r.status, 200);
      const { entries } = JSON.parse(r.text) as AuditResponse;
      const flips = entries.filter((e) => e.after.rollout === 100);
      t.equal(flips.length, 1, `instance ${i + 1}: the flip once in GET /admin/audit`);
      t.match(flips[0], { action: 'route', source: 'admin', actor: 'rehearsal', reason: `rehearsal flip ${run}`, instance: /:\d+$/ });
    }
    // and on the broker: one route.changed for the flip, from the instance that made it (the others observe it, and do not repeat it)
    await until('route.changed on gateway.events', async () => (published.some((e) => e.data.reason === `rehearsal flip ${run}`) ? true : undefined), 10_000);
    await sleep(REFRESH_MS * 2);
    const flipEvents = published.filter((e) => e.data.after?.rollout === 100);
    t.equal(flipEvents.length, 1, `the flip published once on gateway.events (${flipEvents.map((e) => e.source).join(', ')})`);
  });

  await t.test('a price changed in the pricing service reaches every instance over RabbitMQ', async (t) => {
    const consumed = async (base: string) => {
      const m = /^gateway_events_consumed_total\{type="price\.changed"\} (\d+)/m.exec((await get(base, '/metrics')).text);
      return m ? Number(m[1]) : 0;
    };
    const before = await Promise.all(direct.map(consumed));
    const changedAt = Date.now();
    const put = await request(`${backends.pricing.url}/__changes/sites/${SITE}/prices/1000001`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ amount: 12345 }),
    });
    const answer = (await put.body.json()) as { published?: boolean };
    t.equal(put.statusCode, 200);
    t.equal(answer.published, true, 'the pricing service published price.changed');
    const ms = await Promise.all(direct.map((base, i) => until(`price.changed on instance ${i + 1}`, async () => ((await consumed(base)) > before[i]! ? Date.now() - changedAt : undefined), 10_000)));
    t.comment(`price.changed consumed by instances 1/2/3 after ${ms.join(' / ')} ms`);
    // pricing is on the new service since the flip: every instance serves the new price
    for (const base of direct) t.match((await get(base, PRODUCT, { 'x-user-id': 'u-1' })).text, /123\.45|12345/);
  });

  await t.test('the same Idempotency-Key on all three instances at once writes once', async (t) => {
    const created = await request(`${lb}/occ/v2/${SITE}/users/anonymous/carts`, { method: 'POST' });
    t.equal(created.statusCode, 201);
    const guid = ((await created.body.json()) as { guid: string }).guid;
    const key = `rehearsal-${run}`;
    const write = (base: string) =>
      request(`${base}/occ/v2/${SITE}/users/anonymous/carts/${guid}/entries`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': key },
        body: JSON.stringify({ product: { code: '1000300' }, quantity: 1 }),
      }).then(async (r) => ({ status: r.statusCode, body: await r.body.text() }));
    // concurrently to every instance, then again to each and through the balancer
    const first = await Promise.all(direct.map(write));
    const again = await Promise.all([...direct, lb, lb].map(write));
    const ok = [...first, ...again].filter((r) => r.status < 300);
    t.ok(ok.length >= again.length, `${ok.length} of ${first.length + again.length} answered with the stored response; the others: in flight (409)`);
    for (const r of [...first, ...again]) t.ok(r.status < 300 || r.status === 409, `status ${r.status}`);
    t.equal(new Set(ok.map((r) => r.body)).size, 1, 'one stored response, replayed');
    const cart = (await (await fetch(`${backends.legacy.url}/occ/v2/${SITE}/users/anonymous/carts/${guid}?fields=FULL`)).json()) as { entries?: { quantity: number; updateable: boolean }[] };
    const quantity = (cart.entries ?? []).filter((e) => e.updateable).reduce((s, e) => s + e.quantity, 0);
    t.comment(`keyed writes: ${first.length + again.length} sent across 3 instances, ${quantity} written, duplicates ${quantity - 1}`);
    t.equal(quantity, 1, 'written once: duplicates 0');
  });

  await t.test('one instance SIGKILLed under load costs no request beyond those in flight on it', async (t) => {
    const pool = new Pool(lb, { connections: LOAD_CONNECTIONS, pipelining: 1 });
    t.teardown(() => pool.close());
    let sent = 0;
    let done = 0;
    const failures: string[] = [];
    let killedAt = -1;
    const victim = gateways[2]!;
    const worker = async () => {
      while (sent < LOAD_REQUESTS) {
        const n = sent++;
        try {
          const r = await pool.request({ path: PRODUCT, method: 'GET', headers: { 'x-user-id': `u-${n % 500}` }, headersTimeout: 15_000, bodyTimeout: 15_000 });
          await r.body.text();
          if (r.statusCode !== 200) failures.push(`#${n}: ${r.statusCode} ${/problem\+json/.test(String(r.headers['content-type'])) ? '(gateway)' : '(haproxy)'}`);
        } catch (err) {
          failures.push(`#${n}: ${(err as Error).message}`);
        }
        done++;
        if (killedAt < 0 && done >= LOAD_REQUESTS / 3) {
          killedAt = done;
          victim.child.kill('SIGKILL');
        }
      }
    };
    const loadStart = Date.now();
    await Promise.all(Array.from({ length: LOAD_CONNECTIONS }, worker));
    const secs = (Date.now() - loadStart) / 1000;
    await victim.exited;
    t.comment(
      `load: ${LOAD_REQUESTS} GETs through haproxy on ${LOAD_CONNECTIONS} connections in ${secs.toFixed(1)} s; instance 3 SIGKILLed after ${killedAt}; lost ${failures.length} of ${LOAD_REQUESTS}${failures.length ? `: ${failures.slice(0, 5).join('; ')}` : ''}`,
    );
    t.ok(failures.length <= LOAD_CONNECTIONS, `lost ${failures.length}: at most the requests in flight (≤ ${LOAD_CONNECTIONS} connections)`);
    t.equal(failures.length, 0, 'with haproxy retrying idempotent requests, none lost');
    // the two left serve on
    for (const base of direct.slice(0, 2)) t.equal((await get(base, '/readyz')).status, 200);
    t.equal((await get(lb, PRODUCT, { 'x-user-id': 'u-after' })).status, 200, 'the balancer serves after the kill');
  });
  t.comment(`rehearsal: ${Date.now() - started} ms`);
});
