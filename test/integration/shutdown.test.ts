/**
 * Graceful shutdown, for real: the gateway runs as its own process (`src/server.ts`), requests
 * are in flight against a slow upstream, SIGTERM arrives, and every one of them still completes.
 */
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { Agent, get as httpGet } from 'node:http';
import { connect, type Socket } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { startBackends, type Backends } from '../../backends/index.js';
import { flagFile } from '../helpers/flags.js';

interface GatewayProcess {
  base: string;
  child: ChildProcess;
  backends: Backends;
  output(): string;
}

async function startGatewayProcess(t: { teardown(fn: () => unknown): void }, flags: object, env: Record<string, string> = {}): Promise<GatewayProcess> {
  const backends = await startBackends();
  t.teardown(() => backends.close());
  const flagsDir = await mkdtemp(join(tmpdir(), 'shutdown-flags-'));
  t.teardown(() => rm(flagsDir, { recursive: true, force: true }));
  await writeFile(join(flagsDir, 'routes.json'), JSON.stringify(flags));
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    env: {
      ...process.env,
      PORT: '0',
      LOG_LEVEL: 'info',
      FLAGS_DIR: flagsDir,
      LEGACY_URL: backends.legacy.url,
      PRICING_URL: backends.pricing.url,
      INVENTORY_URL: backends.inventory.url,
      PROMOTIONS_URL: backends.promotions.url,
      SHUTDOWN_GRACE_MS: '5000',
      // A loaded CI machine stalls the child's event loop; shedding is tested elsewhere.
      SHED_EVENT_LOOP_DELAY_MS: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let out = '';
  child.stdout?.on('data', (d) => (out += d.toString()));
  child.stderr?.on('data', (d) => (out += d.toString()));
  const base = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not start:\n${out}`)), 60_000);
    child.stdout?.on('data', () => {
      const m = /listening on (http:\/\/[^\s]+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1] as string);
      }
    });
  });
  return { base, child, backends, output: () => out };
}

/** One request on a connection of its own; resolves with the status or the error code. */
function onNewConnection(url: string): Promise<string> {
  return new Promise((resolve) => {
    const req = httpGet(url, { agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(String(res.statusCode)));
      res.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

t.test('SIGTERM mid-load drops no request', async (t) => {
  const { base, child, backends, output } = await startGatewayProcess(t, flagFile({ pricing: 100 }));
  await request(`${base}/api/v1/sites/electronics-spa/products/1000001`).then((r) => r.body.dump());

  // Every request now spends ~700 ms in the new pricing service.
  await fetch(`${backends.pricing.url}/__faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ latencyMs: 700 }) });
  const inFlight = Array.from({ length: 20 }, (_, i) =>
    request(`${base}/api/v1/sites/electronics-spa/products/${1000100 + i}`).then(async (r) => ({ status: r.statusCode, body: (await r.body.json()) as { sku?: string } })),
  );
  await new Promise((r) => setTimeout(r, 200));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');

  const results = await Promise.all(inFlight);
  t.same(results.map((r) => r.status), Array(20).fill(200), 'all 20 in-flight requests completed');
  t.same(results.map((r) => r.body.sku), Array.from({ length: 20 }, (_, i) => String(1000100 + i)), 'with their own answers');
  t.equal(await exited, 0, 'the process exited cleanly');
  // stdout is written in batches: whatever was waiting is written on the way out
  const out = output();
  const access = out.split('\n').filter((l) => l.includes('"msg":"request completed"') && l.includes('/api/v1/sites/electronics-spa/products/'));
  t.equal(access.length, 21, 'an access line for every request, the last ones written at exit');
  t.match(out, /"event":"shutdown"/, 'the shutdown is logged');
  await t.rejects(request(`${base}/healthz`), 'no new connections after shutdown');
});

t.test('connections that arrive while the gateway drains and closes are answered or refused, never reset', async (t) => {
  const { base, child } = await startGatewayProcess(t, flagFile({}), { SHUTDOWN_DRAIN_MS: '400' });
  const url = `${base}/healthz`;
  t.equal(await onNewConnection(url), '200');
  const { hostname, port } = new URL(base);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  // connections open before the listener closes whose request comes only after it closed:
  // what a client's request in flight over the network looks like to the gateway
  const held = await Promise.all(
    Array.from({ length: 5 }, () => new Promise<Socket>((resolve, reject) => {
      const s = connect(Number(port), hostname, () => resolve(s));
      s.once('error', reject);
    })),
  );
  const answers = held.map((s) => new Promise<string>((resolve) => {
    let text = '';
    s.on('data', (d) => (text += d.toString()));
    s.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    s.on('close', () => resolve(text || 'closed without an answer'));
  }));
  // a new connection every few ms, from before the listener closes until well after
  const outcomes: Promise<string>[] = [];
  const until = Date.now() + 1500;
  while (Date.now() < until) {
    outcomes.push(onNewConnection(url));
    await new Promise((r) => setTimeout(r, 3));
  }
  t.equal(await onNewConnection(url), 'ECONNREFUSED', 'the listener is closed');
  for (const s of held) s.write('GET /healthz HTTP/1.1\r\nHost: gateway\r\n\r\n');
  for (const a of await Promise.all(answers)) t.match(a, /^HTTP\/1\.1 200 [^]*connection: close/i, 'a request sent after the listener closed, on a connection opened before, is served');
  const counts = new Map<string, number>();
  for (const o of await Promise.all(outcomes)) counts.set(o, (counts.get(o) ?? 0) + 1);
  t.comment(`outcomes of ${outcomes.length} connections: ${JSON.stringify(Object.fromEntries(counts))}`);
  t.ok((counts.get('200') ?? 0) + (counts.get('503') ?? 0) > 0, 'connections during the drain are served');
  t.ok((counts.get('ECONNREFUSED') ?? 0) > 0, 'connections after the listener closed are refused');
  const other = [...counts.keys()].filter((k) => !['200', '503', 'ECONNREFUSED', 'ECONNRESET'].includes(k));
  t.same(other, [], 'no connection hung up');
  // Before the fix: 10-47 resets. One may remain: a handshake the kernel completes in the
  // instant between node's last accept and the listening socket's close is reset by the kernel.
  t.ok((counts.get('ECONNRESET') ?? 0) <= 1, `at most one connection reset (${counts.get('ECONNRESET') ?? 0})`);
  t.equal(await exited, 0, 'the process exited cleanly');
});

/**
 * One keep-alive client: requests one after another on a pooled connection (what a storefront's
 * server-side renderer or a load balancer's pool does) until the listener is closed. Counts each
 * outcome: a status, ECONNREFUSED (the listener is closed: the request certainly never arrived),
 * or a failure (a reset or hang-up: the client cannot know whether its request was served).
 */
async function keepAliveClient(url: string, stop: () => boolean, counts: Map<string, number>, failedAt: number[] = []): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    while (!stop()) {
      const outcome = await new Promise<string>((resolve) => {
        const req = httpGet(url, { agent }, (res) => {
          res.resume();
          res.on('end', () => resolve(String(res.statusCode)));
          res.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
        });
        req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
      });
      counts.set(outcome, (counts.get(outcome) ?? 0) + 1);
      if (outcome === 'ECONNREFUSED') return;
      if (!/^\d{3}$/.test(outcome)) failedAt.push(Date.now());
    }
  } finally {
    agent.destroy();
  }
}

// Rounds: SHUTDOWN_ROUNDS=9 for a measurement (docs/perf/2026-12-05-shutdown-resets.md); 2 in `npm test`.
// SHUTDOWN_WORKERS=2 measures the cluster mode (GATEWAY_WORKERS) the same way.
const ROUNDS = Number(process.env.SHUTDOWN_ROUNDS ?? 2);
const WORKERS = process.env.SHUTDOWN_WORKERS;

t.test('keep-alive clients hammering the gateway through SIGTERM: every request is answered or refused, none reset', async (t) => {
  for (let round = 1; round <= ROUNDS; round++) {
    await t.test(`round ${round}`, async (t) => {
      const { base, child, output } = await startGatewayProcess(t, flagFile({}), { SHUTDOWN_DRAIN_MS: '300', ...(WORKERS ? { GATEWAY_WORKERS: WORKERS } : {}) });
      const counts = new Map<string, number>();
      const failedAt: number[] = [];
      let stopped = false;
      const stop = () => stopped;
      // 24 clients on the gateway's own route, 8 through the legacy passthrough
      const clients = [
        ...Array.from({ length: 24 }, () => keepAliveClient(`${base}/healthz`, stop, counts, failedAt)),
        ...Array.from({ length: 8 }, () => keepAliveClient(`${base}/occ/v2/basesites`, stop, counts, failedAt)),
      ];
      // warm: every client has a kept-alive connection and traffic is flowing
      while ((counts.get('200') ?? 0) < 200) await new Promise((r) => setTimeout(r, 20));
      const before = counts.get('200') ?? 0;
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      const sigterm = Date.now();
      child.kill('SIGTERM');
      const code = await exited;
      // a client still looping now has its ECONNREFUSED; bound the wait in case one is stuck
      const safety = setTimeout(() => (stopped = true), 10_000);
      await Promise.all(clients);
      clearTimeout(safety);
      const failures = [...counts].filter(([k]) => !/^\d{3}$/.test(k) && k !== 'ECONNREFUSED').reduce((n, [, v]) => n + v, 0);
      t.comment(`round ${round}: ${JSON.stringify(Object.fromEntries(counts))}; ${(counts.get('200') ?? 0) - before} answered after SIGTERM; failures ${failures}${failures ? ` at ${failedAt.map((at) => at - sigterm).join(', ')} ms after SIGTERM; ${/"event":"shutdown\.listener_closed".*/.exec(output())?.[0] ?? ''}` : ''}`);
      t.ok((counts.get('200') ?? 0) > before, 'requests were answered during the drain');
      t.same([...counts.keys()].filter((k) => /^\d{3}$/.test(k) && k !== '200'), [], 'every answer a 200');
      t.equal(counts.get('ECONNREFUSED'), 32, 'every client ends refused: the listener closed');
      // Before the fix: 49-61 resets a round. One may remain (in 7 of 17 rounds measured): a
      // handshake the kernel completed while the accept queue was full, whose client's request
      // was still waiting to be queued when the listener closed (docs/perf/2026-12-05-shutdown-resets.md).
      t.ok(failures <= 1, `at most one request reset or hung up (${failures})`);
      t.equal(code, 0, 'the process exited cleanly');
      t.match(output(), /"event":"shutdown\.listener_closed"/, 'the listener closing is logged');
    });
  }
});
