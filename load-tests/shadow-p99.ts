/**
 * What shadowing costs (docs/parity.md "What it costs"). One set of embedded backends and three
 * gateways in front of them, each its own compiled process with the production node flags:
 *
 * - `off`:       shadowing not configured (SHADOW_PRICING_PERCENT=0: the ports are not even wrapped);
 * - `unsampled`: shadowing configured, sample never hit (SHADOW_PRICING_PERCENT=0.000001: the
 *                shadowed arms are built and every read draws its sample, about one in 10^8 hits);
 * - `shadow`:    every pricing read shadowed (SHADOW_PRICING_PERCENT=100), on the gateway's own loop
 *                (SHADOW_ISOLATION=inline, the default);
 * - `process`:   every pricing read shadowed in the shadow process (SHADOW_ISOLATION=process: a child
 *                at niceness 19).
 *
 * All three are driven at once, open loop, at the same rate each (`GET /api/v1/sites/…/products/<sku>`,
 * pricing split 50/50 between the arms), so machine noise hits them alike. Per round and gateway:
 * p50/p99 (client side), the gateway's CPU ms per request (/proc/<pid>/stat; with its shadow process
 * added, `+shadow proc`), its event-loop delay
 * p99 (the harness's probe, worst second), and the shadow gateway's parity counts. Then the medians.
 *
 *   node --import tsx load-tests/shadow-p99.ts [--rate 150] [--duration 15] [--rounds 3] [--cpu-prof]
 *
 * `--cpu-prof`: the shadow gateway runs under node --cpu-prof; its profile (measured rounds only)
 * is summarised at the end. `--shadow-from name=DIR` (repeatable) adds a gateway shadowing 100 %
 * built from another checkout (DIR/dist, after its own `npm run build`): two versions of the
 * shadow path side by side in one run. `--alone`: the gateways are driven one after another in each
 * round instead of at once (CPU per request of each process alone; p99 then meets different noise).
 * Gateways listen on 44101… (SHADOW_P99_PORT_BASE moves them).
 */
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { embeddedGatewayEnv, ensureBuilt } from './lib/stack.js';
import { runLoad, warmup, type RequestGen, type RunResult } from './lib/load.js';
import { installCleanup, readReadyLine, sampleProc, spawnChild, stopAll, stopChild, waitForHttp, type Child } from './lib/procs.js';
import { writeFlags } from './lib/flags.js';
import { ROOT, compiled } from './lib/paths.js';
import { DEFAULT_GATEWAY_NODE_ARGS } from './lib/args.js';
import { median, round } from './lib/stats.js';
import { formatRows, summarizeCpu } from './lib/profile.js';

const TOKEN = 'shadow-p99-admin-token-0123456789';
const SITE = 'electronics-spa';
const SKUS = Array.from({ length: 200 }, (_, i) => String(1000001 + i));

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '150' },
    duration: { type: 'string', default: '15' },
    rounds: { type: 'string', default: '3' },
    'cpu-prof': { type: 'boolean', default: false },
    'shadow-from': { type: 'string', multiple: true, default: [] },
    alone: { type: 'boolean', default: false },
  },
});
const rate = Number(values.rate);
const durationS = Number(values.duration);
const rounds = Number(values.rounds);
const alone = values.alone === true;
const portBase = Number(process.env.SHADOW_P99_PORT_BASE ?? 44100);
const log = (m: string) => process.stdout.write(`${m}\n`);

interface Gateway {
  name: string;
  url: string;
  child: Child;
  /** its shadow process (SHADOW_ISOLATION=process), whose CPU is the gateway's too */
  shadowPid: number | undefined;
  probeFile: string;
  profileDir: string | undefined;
}

const VARIANTS: { name: string; percent: string; root: string; isolation?: 'process' }[] = [
  { name: 'off', percent: '0', root: ROOT },
  { name: 'unsampled', percent: '0.000001', root: ROOT },
  { name: 'shadow', percent: '100', root: ROOT },
  { name: 'process', percent: '100', root: ROOT, isolation: 'process' },
  ...(values['shadow-from'] ?? []).map((s) => {
    const [name, root] = s.split('=');
    if (!name || !root) throw new Error(`--shadow-from name=DIR, got ${s}`);
    return { name, percent: '100', root };
  }),
];
/** the compiled entry of `tsPath` in another checkout */
const compiledIn = (root: string, tsPath: string) => (root === ROOT ? compiled(tsPath) : join(root, 'dist', tsPath.replace(/\.ts$/, '.js')));

async function gateway(i: number, dir: string, backends: Record<string, string>, flagsDir: string): Promise<Gateway> {
  const v = VARIANTS[i]!;
  const port = portBase + 1 + i;
  const probeFile = join(dir, `${v.name}-probe.jsonl`);
  const profileDir = values['cpu-prof'] && v.name === 'shadow' ? join(dir, 'prof') : undefined;
  const logFd = openSync(join(dir, `${v.name}.log`), 'w');
  const child = spawnChild(
    `gateway-${v.name}`,
    process.execPath,
    [
      ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []),
      ...DEFAULT_GATEWAY_NODE_ARGS.split(' '),
      '--enable-source-maps',
      '--import',
      pathToFileURL(compiledIn(v.root, 'load-tests/probe.ts')).href,
      compiledIn(v.root, 'src/server.ts'),
    ],
    {
      cwd: v.root,
      stdout: logFd,
      env: {
        ...embeddedGatewayEnv(backends, {}),
        PORT: String(port),
        FLAGS_DIR: flagsDir,
        ADMIN_TOKEN: TOKEN,
        AUDIT_LOG_PATH: join(dir, `${v.name}-audit.jsonl`),
        LOG_LEVEL: 'info',
        LOADTEST_PROBE_FILE: probeFile,
        SHADOW_PRICING_PERCENT: v.percent,
        // the budget and the cap far above the offered load: every sampled read is shadowed
        SHADOW_MAX_PER_SECOND: '100000',
        SHADOW_MAX_CONCURRENT: '256',
        ...(v.isolation ? { SHADOW_ISOLATION: v.isolation } : {}),
      },
    },
  );
  closeSync(logFd);
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/readyz`, child, 60_000);
  const detail = (await (await fetch(`${url}/admin/parity/pricing`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { comparedIn?: { pid?: number } };
  return { name: v.name, url, child, shadowPid: detail.comparedIn?.pid, probeFile, profileDir };
}

const products: RequestGen = (i) => ({ path: `/api/v1/sites/${SITE}/products/${SKUS[i % SKUS.length]}`, headers: { 'x-user-id': `u${i % 1000}` } });

/** The probe's worst per-second event-loop delay p99 over [fromMs, toMs]. */
function loopDelay(probeFile: string, fromMs: number, toMs: number): number {
  let worst = 0;
  for (const line of readFileSync(probeFile, 'utf8').split('\n')) {
    if (!line) continue;
    const p = JSON.parse(line) as { t: number; loopDelayP99Ms: number };
    if (p.t > fromMs + 1000 && p.t <= toMs + 500) worst = Math.max(worst, p.loopDelayP99Ms);
  }
  return worst;
}

interface Row {
  round: number;
  gateway: string;
  requests: number;
  non2xx: number;
  errors: number;
  p50: number;
  p99: number;
  cpuMsPerReq: number;
  /** the gateway's and its shadow process's */
  cpuAllMsPerReq: number;
  loopDelayP99Ms: number;
}

async function parityCounts(g: Gateway): Promise<Record<string, number>> {
  const r = await fetch(`${g.url}/admin/parity/pricing`, { headers: { authorization: `Bearer ${TOKEN}` } });
  return ((await r.json()) as { counts: Record<string, number> }).counts;
}

installCleanup();
const dir = mkdtempSync(join(tmpdir(), 'shadow-p99-'));
try {
  await ensureBuilt(log);
  const world = spawnChild('backends', process.execPath, ['--enable-source-maps', compiled('load-tests/world.ts'), 'legacy,pricing,inventory,promotions'], { cwd: ROOT, stdout: 'pipe' });
  const backends = await readReadyLine<Record<string, string>>(world, 'ready', 60_000);
  const flagsDir = join(dir, 'flags');
  mkdirSync(flagsDir);
  await writeFlags(flagsDir, { pricing: 50 }); // half the users on each arm: the shadow goes both ways
  const gws: Gateway[] = [];
  for (let i = 0; i < VARIANTS.length; i++) gws.push(await gateway(i, dir, backends, flagsDir));
  log(`backends pid ${world.pid}; gateways ${gws.map((g) => `${g.name} pid ${g.child.pid} ${g.url}`).join(', ')}`);
  log(`rate ${rate} req/s per gateway, ${durationS} s per round, ${rounds} rounds, ${alone ? 'one gateway at a time, in turn' : 'every gateway driven at once'} (open loop)`);
  await Promise.all(gws.map((g) => warmup({ url: g.url, connections: 20, request: products }, 3)));
  const rows: Row[] = [];
  let monoFrom: number | undefined;
  let monoTo = 0;
  for (let round_ = 1; round_ <= rounds; round_++) {
    const cpu = (g: Gateway) => sampleProc(g.child.pid)!.cpuS;
    const shadowCpu = (g: Gateway) => (g.shadowPid === undefined ? 0 : (sampleProc(g.shadowPid)?.cpuS ?? 0));
    const c0: number[] = [];
    const s0: number[] = [];
    const c1: number[] = [];
    const s1: number[] = [];
    const load = (g: Gateway) => runLoad({ url: g.url, connections: 20, durationS, rate, request: products });
    const t0 = Date.now();
    let runs: RunResult[];
    if (alone) {
      // one gateway at a time, in turn: each one's CPU is its own, not the machine's contention
      runs = [];
      for (const g of gws) {
        c0.push(cpu(g));
        s0.push(shadowCpu(g));
        runs.push(await load(g));
        c1.push(cpu(g));
        s1.push(shadowCpu(g));
      }
    } else {
      c0.push(...gws.map(cpu));
      s0.push(...gws.map(shadowCpu));
      runs = await Promise.all(gws.map(load));
      c1.push(...gws.map(cpu));
      s1.push(...gws.map(shadowCpu));
    }
    const t1 = Date.now();
    monoFrom ??= runs[0]!.monoStartUs;
    monoTo = runs[0]!.monoEndUs;
    gws.forEach((g, i) => {
      const r = runs[i]!;
      rows.push({
        round: round_,
        gateway: g.name,
        requests: r.requests,
        non2xx: r.non2xx,
        errors: r.errors,
        p50: r.latency.p50,
        p99: r.latency.p99,
        cpuMsPerReq: round(((c1[i]! - c0[i]!) * 1000) / r.requests, 3),
        cpuAllMsPerReq: round(((c1[i]! - c0[i]! + s1[i]! - s0[i]!) * 1000) / r.requests, 3),
        loopDelayP99Ms: loopDelay(g.probeFile, t0, t1),
      });
    });
    for (const r of rows.slice(-gws.length))
      log(`round ${r.round}  ${r.gateway.padEnd(9)} ${String(r.requests).padStart(6)} req  non2xx ${r.non2xx}  err ${r.errors}  p50 ${r.p50} ms  p99 ${r.p99} ms  CPU ${r.cpuMsPerReq.toFixed(3)} ms/req (+shadow proc ${r.cpuAllMsPerReq.toFixed(3)})  loop delay p99 ≤ ${r.loopDelayP99Ms} ms`);
  }
  log('\nmedian over the rounds:');
  const med = (name: string, k: 'p50' | 'p99' | 'cpuMsPerReq' | 'cpuAllMsPerReq' | 'loopDelayP99Ms') => round(median(rows.filter((r) => r.gateway === name).map((r) => r[k])), 3);
  for (const g of gws) log(`  ${g.name.padEnd(9)} p50 ${med(g.name, 'p50')} ms  p99 ${med(g.name, 'p99')} ms  CPU ${med(g.name, 'cpuMsPerReq').toFixed(3)} ms/req (+shadow proc ${med(g.name, 'cpuAllMsPerReq').toFixed(3)})  loop delay p99 ≤ ${med(g.name, 'loopDelayP99Ms')} ms`);
  const perRound = (a: string, b: string, k: 'p99' | 'cpuMsPerReq' | 'cpuAllMsPerReq') =>
    Array.from({ length: rounds }, (_, i) => {
      const x = rows.find((r) => r.round === i + 1 && r.gateway === a)![k];
      const y = rows.find((r) => r.round === i + 1 && r.gateway === b)![k];
      return k === 'p99' ? `${round(x - y, 1)} ms` : `${round((x / y - 1) * 100, 1)} %`;
    }).join(', ');
  for (const g of gws.filter((g) => g.name !== 'off')) log(`  p99 ${g.name} − off, per round: ${perRound(g.name, 'off', 'p99')}`);
  for (const g of gws.filter((g) => g.name !== 'off')) log(`  CPU/req ${g.name} vs off, per round: ${perRound(g.name, 'off', 'cpuMsPerReq')}`);
  for (const g of gws.filter((g) => g.shadowPid !== undefined)) log(`  CPU/req ${g.name} with its shadow process vs off, per round: ${perRound(g.name, 'off', 'cpuAllMsPerReq')}`);
  for (const g of gws) log(`  parity counts (${g.name}): ${JSON.stringify(await parityCounts(g))}`);
  const shadow = gws.find((g) => g.name === 'shadow')!;
  if (shadow.profileDir) {
    await stopChild(shadow.child); // --cpu-prof writes the profile at exit
    const file = readdirSync(shadow.profileDir).find((f) => f.endsWith('.cpuprofile'));
    if (file) {
      const s = summarizeCpu(join(shadow.profileDir, file), monoFrom, monoTo);
      log(`\nCPU profile of the shadow gateway (${s.window}, ${s.totalMs} ms sampled)`);
      log(formatRows('self time by package / module', 'ms', s.byCategory.slice(0, 12)));
      log(formatRows('inclusive time of our own functions', 'ms', s.ownInclusive.slice(0, 25)));
      log(formatRows('top self time by function', 'ms', s.topSelf.slice(0, 20)));
    }
  }
} finally {
  await stopAll();
  await rm(dir, { recursive: true, force: true });
}
