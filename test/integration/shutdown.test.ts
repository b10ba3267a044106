/**
 * Graceful shutdown, for real: the gateway runs as its own process (`src/server.ts`), requests
 * are in flight against a slow upstream, SIGTERM arrives, and every one of them still completes.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { startBackends } from '../../backends/index.js';
import { flagFile } from '../helpers/flags.js';

t.test('SIGTERM mid-load drops no request', async (t) => {
  const backends = await startBackends();
  t.teardown(() => backends.close());
  const flagsDir = await mkdtemp(join(tmpdir(), 'shutdown-flags-'));
  t.teardown(() => rm(flagsDir, { recursive: true, force: true }));
  await writeFile(join(flagsDir, 'routes.json'), JSON.stringify(flagFile({ pricing: 100 })));

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
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d.toString()));
  child.stderr.on('data', (d) => (out += d.toString()));
  const base = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not start:\n${out}`)), 30_000);
    child.stdout.on('data', () => {
      const m = /listening on (http:\/\/[^\s]+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1] as string);
      }
    });
  });
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
  const access = out.split('\n').filter((l) => l.includes('"msg":"request completed"') && l.includes('/api/v1/sites/electronics-spa/products/'));
  t.equal(access.length, 21, 'an access line for every request, the last ones written at exit');
  t.match(out, /"event":"shutdown"/, 'the shutdown is logged');
  await t.rejects(request(`${base}/healthz`), 'no new connections after shutdown');
});
