/**
 * What shadowing costs the client: two gateways in front of the same embedded backends, one
 * shadowing 100 % of pricing reads (SHADOW_PRICING_PERCENT=100), one not, driven in the same run
 * by two open-loop autocannon instances at the same fixed rate. Prints p50/p99 of each and the
 * shadow gateway's parity counts (docs/parity.md "What it costs").
 *
 *   node --import tsx load-tests/shadow-p99.ts [--rate 150] [--duration 20]   (rate per gateway)
 *
 * Each gateway and the backends run in their own process (the harness's children), so the
 * gateways do not share an event loop with each other or with the load generator.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon, { type Result } from 'autocannon';
import { freePort, installCleanup, readReadyLine, spawnChild, stopAll, waitForHttp, type Child } from './lib/procs.js';
import { writeFlags } from './lib/flags.js';
import { ROOT } from './lib/paths.js';

const TOKEN = 'shadow-p99-admin-token-0123456789';
const SITE = 'electronics-spa';
const SKUS = Array.from({ length: 200 }, (_, i) => String(1000001 + i));

async function gateway(name: string, backends: Record<string, string>, flagsDir: string, shadowPercent: number): Promise<{ url: string; child: Child }> {
  const port = await freePort();
  const child = spawnChild(name, process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: String(port),
      LEGACY_URL: backends.legacy,
      PRICING_URL: backends.pricing,
      INVENTORY_URL: backends.inventory,
      PROMOTIONS_URL: backends.promotions,
      FLAGS_DIR: flagsDir,
      ADMIN_TOKEN: TOKEN,
      AUDIT_LOG_PATH: join(flagsDir, `${name}-audit.jsonl`),
      LOG_LEVEL: 'silent',
      SHADOW_PRICING_PERCENT: String(shadowPercent),
      SHADOW_MAX_PER_SECOND: '100000',
      SHADOW_MAX_CONCURRENT: '256',
    },
  });
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/readyz`, child, 30_000);
  return { url, child };
}

function drive(url: string, rate: number, duration: number): Promise<Result> {
  let i = 0;
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url,
        connections: 20,
        duration,
        overallRate: rate,
        requests: [{ setupRequest: (req) => ({ ...req, path: `/api/v1/sites/${SITE}/products/${SKUS[i++ % SKUS.length]}`, headers: { 'x-user-id': `u${i % 1000}` } }) }],
      },
      (err, result) => (err ? reject(err) : resolve(result)),
    );
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rate: { type: 'string', default: '150' }, duration: { type: 'string', default: '20' } } });
  const rate = Number(values.rate);
  const duration = Number(values.duration);
  installCleanup();
  const world = spawnChild('backends', process.execPath, ['--import', 'tsx', 'load-tests/world.ts', 'legacy,pricing,inventory,promotions'], { cwd: ROOT, stdout: 'pipe' });
  const backends = await readReadyLine<Record<string, string>>(world, 'ready', 60_000);
  const flagsDir = await mkdtemp(join(tmpdir(), 'shadow-p99-'));
  try {
    await writeFlags(flagsDir, { pricing: 50 }); // half the users on each arm: the shadow goes both ways
    const [plain, shadowed] = await Promise.all([gateway('gateway-plain', backends, flagsDir, 0), gateway('gateway-shadow', backends, flagsDir, 100)]);
    await Promise.all([drive(plain.url, rate, 3), drive(shadowed.url, rate, 3)]); // warm-up, not recorded
    const [a, b] = await Promise.all([drive(plain.url, rate, duration), drive(shadowed.url, rate, duration)]);
    const parity = await fetch(`${shadowed.url}/admin/parity/pricing`, { headers: { authorization: `Bearer ${TOKEN}` } }).then((r) => r.json() as Promise<{ counts: unknown }>);
    const row = (r: Result) => ({ requests: r.requests.total, non2xx: r.non2xx, errors: r.errors, p50ms: r.latency.p50, p99ms: r.latency.p99 });
    console.log(JSON.stringify({ ratePerGateway: rate, durationS: duration, withoutShadow: row(a), withShadow: row(b), parity: parity.counts }, null, 2));
  } finally {
    await stopAll();
    await rm(flagsDir, { recursive: true, force: true });
  }
}

main().catch(async (err: unknown) => {
  console.error(err);
  await stopAll();
  process.exit(1);
});
