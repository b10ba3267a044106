/**
 * The data cache's benchmark (docs/caching.md#measured): two gateways on their own simulators,
 * every context on the new services, one with CACHE_ENABLED=true and one without, loaded in
 * interleaved rounds so machine drift hits both alike:
 *
 * - `passthrough`: `GET /occ/v2/electronics-spa/catalogs` relayed to legacy (the cache gateway);
 * - `warm`: the composed OCC product over 100 rotating codes (a hot working set);
 * - `cold`: the composed OCC product over all 10,000 codes (the default load scenario's key space).
 *
 * Per run: req/s, gateway CPU ms per request (/proc/<pid>/stat) and, on the cache gateway, the
 * hit ratio per namespace from its /metrics, with the freshness of what it served: the mean age
 * of the copies (since the read that fetched them started) and the stale copies served. Then,
 * per round and over the medians, the issue's bar: the warm composed product at ≥ 1.0× the
 * passthrough's req/s and ≤ its CPU per request (PASS/FAIL), and the cold fill's CPU cost
 * against no cache.
 *
 * `--slices N`: the passthrough and the warm run alternate N times per round (duration / N each,
 * summed), so the bar's two sides see the same machine drift.
 *
 * `--profile warm|cold`: the cache gateway runs under --cpu-prof and the sampling heap profiler;
 * the last round's warm run (the hit path) or cold run (the fill) is summarized: CPU by function
 * and bytes allocated per request.
 *
 *   node --import tsx load-tests/cache-bench.ts [--rounds 2] [--duration 5] [--connections 50] [--profile warm|cold] [--slices 1]
 */
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ensureBuilt, startStack, type Stack } from './lib/stack.js';
import { runLoad, warmup, type RequestGen } from './lib/load.js';
import { installCleanup, sampleProc, stopAll } from './lib/procs.js';
import { allContexts } from './lib/flags.js';
import { DEFAULT_GATEWAY_NODE_ARGS } from './lib/args.js';
import { PASSTHROUGH_PATH, SITE } from './scenarios.js';
import { formatRows, summarizeCpu, summarizeHeap } from './lib/profile.js';
import { SourceMaps } from './lib/sourcemap.js';
import { REPORTS_DIR, stamp } from './lib/report.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '2' }, duration: { type: 'string', default: '5' }, connections: { type: 'string', default: '50' }, profile: { type: 'string' }, slices: { type: 'string', default: '1' } } });
const rounds = Number(values.rounds);
const durationS = Number(values.duration);
const connections = Number(values.connections);
const slices = Math.max(1, Number(values.slices));
if (values.profile !== undefined && slices > 1) throw new Error('--profile summarizes one window: use it with --slices 1');
const profiled = values.profile === undefined ? undefined : values.profile === 'cold' ? 'cold 10,000 codes, cache on' : 'warm 100 codes, cache on';

const STRIDE = 7919;
const users = (i: number) => ({ 'x-user-id': `user-${i % 1000}` });
const products = (count: number): RequestGen => (i) => ({ path: `/occ/v2/${SITE}/products/${1_000_000 + ((i * STRIDE) % count)}`, headers: users(i) });
const passthrough: RequestGen = (i) => ({ path: PASSTHROUGH_PATH, headers: users(i) });

const log = (m: string) => process.stdout.write(`${m}\n`);

interface NsCounters {
  hits: number;
  misses: number;
  /** seconds: the sum of the served copies' ages */
  age: number;
  stale: number;
}

async function cacheCounters(url: string): Promise<Map<string, NsCounters>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out = new Map<string, NsCounters>();
  for (const m of text.matchAll(/^gateway_cache_(hits|misses|hit_age_seconds|stale_served)_total\{ns="([^"]+)"[^}]*\} (\S+)/gm)) {
    const e = out.get(m[2]!) ?? { hits: 0, misses: 0, age: 0, stale: 0 };
    const v = Number(m[3]);
    if (m[1] === 'hits') e.hits += v;
    else if (m[1] === 'misses') e.misses += v;
    else if (m[1] === 'hit_age_seconds') e.age += v;
    else e.stale += v;
    out.set(m[2]!, e);
  }
  return out;
}

/** Per namespace over the run: hit ratio, mean age of the copies served, stale copies served. */
function cacheReport(before: Map<string, NsCounters>, after: Map<string, NsCounters>): string {
  return [...after]
    .map(([ns, a]) => {
      const b = before.get(ns) ?? { hits: 0, misses: 0, age: 0, stale: 0 };
      const h = a.hits - b.hits;
      const total = h + a.misses - b.misses;
      if (total <= 0) return '';
      const age = h > 0 ? ` age ${((1000 * (a.age - b.age)) / h).toFixed(0)} ms` : '';
      const stale = a.stale - b.stale > 0 ? ` stale ${a.stale - b.stale}` : '';
      return `${ns} ${((100 * h) / total).toFixed(1)}%${age}${stale}`;
    })
    .filter(Boolean)
    .join(', ');
}

interface Row {
  round: number;
  /** the load's monotonic window (µs), to cut the CPU profile to it */
  window: [number, number];
  requests: number;
  run: string;
  rps: number;
  cpuMsPerReq: number;
  non2xx: number;
  hitRatio: string;
}

async function measure(stack: Stack, name: string, gen: RequestGen, round: number, withCache: boolean, heapSample = false): Promise<Row> {
  const url = stack.gatewayUrl!;
  await warmup({ url, connections, request: gen }, 2);
  const pid = stack.gatewayPid!;
  const before = withCache ? await cacheCounters(url) : undefined;
  if (heapSample) stack.toggleHeapSampling();
  const c0 = sampleProc(pid)!;
  const r = await runLoad({ url, connections, durationS, request: gen });
  const c1 = sampleProc(pid)!;
  if (heapSample) stack.toggleHeapSampling();
  const hitRatio = before ? cacheReport(before, await cacheCounters(url)) : '';
  return { round, window: [r.monoStartUs, r.monoEndUs], requests: r.requests, run: name, rps: Math.round(r.rps), cpuMsPerReq: Number((((c1.cpuS - c0.cpuS) * 1000) / r.requests).toFixed(3)), non2xx: r.non2xx, hitRatio };
}

/**
 * The passthrough and the warm run, alternated `slices` times (each duration / slices): one
 * row each, requests and CPU summed over the slices.
 */
async function measurePair(stack: Stack, round: number, heapSample: boolean): Promise<[Row, Row]> {
  if (slices === 1) return [await measure(stack, 'passthrough (cache gateway)', passthrough, round, false), await measure(stack, 'warm 100 codes, cache on', products(100), round, true, heapSample)];
  const url = stack.gatewayUrl!;
  const pid = stack.gatewayPid!;
  await warmup({ url, connections, request: passthrough }, 2);
  await warmup({ url, connections, request: products(100) }, 2);
  const before = await cacheCounters(url);
  const acc = [0, 1].map(() => ({ requests: 0, cpuS: 0, s: 0, non2xx: 0, window: [0, 0] as [number, number] }));
  for (let i = 0; i < slices; i++) {
    for (const [k, gen] of [passthrough, products(100)].entries()) {
      const c0 = sampleProc(pid)!;
      const r = await runLoad({ url, connections, durationS: durationS / slices, request: gen });
      const c1 = sampleProc(pid)!;
      const a = acc[k]!;
      a.requests += r.requests;
      a.cpuS += c1.cpuS - c0.cpuS;
      a.s += (r.monoEndUs - r.monoStartUs) / 1e6;
      a.non2xx += r.non2xx;
      a.window = [r.monoStartUs, r.monoEndUs];
    }
  }
  const hitRatio = cacheReport(before, await cacheCounters(url));
  const row = (k: number, run: string, hr: string): Row => {
    const a = acc[k]!;
    return { round, window: a.window, requests: a.requests, run, rps: Math.round(a.requests / a.s), cpuMsPerReq: Number(((a.cpuS * 1000) / a.requests).toFixed(3)), non2xx: a.non2xx, hitRatio: hr };
  };
  return [row(0, 'passthrough (cache gateway)', ''), row(1, 'warm 100 codes, cache on', hitRatio)];
}

/** The profiled run's CPU profile (its window only) and allocation profile. */
function printProfile(dir: string, pid: number | undefined, run: Row): void {
  const cpu = readdirSync(dir).find((f) => f.endsWith('.cpuprofile') && f.includes(`.${pid}.0.`));
  const mapsPath = join(dir, 'gateway.sourcemaps.json');
  const maps = existsSync(mapsPath) ? SourceMaps.load(mapsPath) : undefined;
  log(`\nprofile of ${run.run} (round ${run.round}, ${run.requests} requests), ${dir}`);
  if (cpu) {
    const c = summarizeCpu(join(dir, cpu), run.window[0], run.window[1], maps);
    log(`cpu (${c.window}): ${c.totalMs} ms sampled, ${((c.totalMs * 1000) / run.requests).toFixed(1)} µs per request`);
    log(formatRows('self time by package/module', 'ms', c.byCategory.slice(0, 12)));
    log(formatRows('top self time by function', 'ms', c.topSelf.slice(0, 25)));
    log(formatRows('inclusive time of own functions', 'ms', c.ownInclusive.slice(0, 25)));
  }
  const heapPath = join(dir, 'gateway.heapprofile');
  if (existsSync(heapPath)) {
    const h = summarizeHeap(heapPath, run.requests, maps);
    log(formatRows(`allocated (${(h.bytesPerRequest / 1024).toFixed(1)} KiB per request) by package/module`, 'KiB', h.byCategory.slice(0, 10)));
    log(formatRows('top allocating functions', 'KiB', h.topSelf.slice(0, 15)));
  }
}

installCleanup();
try {
  await ensureBuilt(log);
  const nodeArgs = DEFAULT_GATEWAY_NODE_ARGS.split(' ');
  process.env.CACHE_ENABLED = 'true';
  const profileDir = values.profile ? join(REPORTS_DIR, 'profiles', `cache-bench-${stamp()}`) : undefined;
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  const cached = await startStack({ gateway: true, rollouts: allContexts(100), logLevel: 'info', nodeArgs, log, profileDir });
  process.env.CACHE_ENABLED = 'false';
  const plain = await startStack({ gateway: true, rollouts: allContexts(100), logLevel: 'info', nodeArgs, log });
  const rows: Row[] = [];
  for (let round = 1; round <= rounds; round++) {
    rows.push(...(await measurePair(cached, round, profiled === 'warm 100 codes, cache on' && round === rounds)));
    rows.push(await measure(plain, 'warm 100 codes, cache off', products(100), round, false));
    rows.push(await measure(cached, 'cold 10,000 codes, cache on', products(10_000), round, true, profiled === 'cold 10,000 codes, cache on' && round === rounds));
    rows.push(await measure(plain, 'cold 10,000 codes, cache off', products(10_000), round, false));
    for (const r of rows.slice(-5)) log(`round ${r.round}  ${r.run.padEnd(30)} ${String(r.rps).padStart(6)} req/s  ${r.cpuMsPerReq.toFixed(3)} ms CPU/req  non2xx ${r.non2xx}  ${r.hitRatio}`);
  }
  log('\nmedian per run:');
  for (const name of [...new Set(rows.map((r) => r.run))]) {
    const rs = rows.filter((r) => r.run === name);
    const med = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
    log(`  ${name.padEnd(30)} ${String(med(rs.map((r) => r.rps))).padStart(6)} req/s  ${med(rs.map((r) => r.cpuMsPerReq)).toFixed(3)} ms CPU/req  ${rs.at(-1)!.hitRatio}`);
  }
  const ratios = (run: string, base: string) =>
    rows
      .filter((r) => r.run === run)
      .map((r) => {
        const b = rows.find((x) => x.round === r.round && x.run === base)!;
        return { round: r.round, rps: r.rps / b.rps, cpu: r.cpuMsPerReq / b.cpuMsPerReq };
      });
  const warm = ratios('warm 100 codes, cache on', 'passthrough (cache gateway)');
  const cold = ratios('cold 10,000 codes, cache on', 'cold 10,000 codes, cache off');
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
  log('\nwarm composed product (cache on) / passthrough, per round: ' + warm.map((w) => `${w.round}: ${w.rps.toFixed(2)}× req/s, ${w.cpu.toFixed(2)}× CPU`).join('; '));
  const mr = median(warm.map((w) => w.rps));
  const mc = median(warm.map((w) => w.cpu));
  const pass = mr >= 1 && mc <= 1;
  log(`${pass ? 'PASS' : 'FAIL'}  warm composed product vs passthrough (issue 22: ≥ 1.0× req/s, ≤ 1.0× CPU per request): median ${mr.toFixed(2)}× req/s, ${mc.toFixed(2)}× CPU (${warm.filter((w) => w.rps >= 1 && w.cpu <= 1).length} of ${warm.length} rounds)`);
  log(`cold fill (10,000 codes) cache on / off, CPU per request per round: ${cold.map((c) => `${c.round}: ${c.cpu.toFixed(2)}×`).join('; ')}; median ${median(cold.map((c) => c.cpu)).toFixed(2)}×`);
  const cachedPid = cached.gatewayPid;
  await cached.close();
  await plain.close();
  if (profileDir) printProfile(profileDir, cachedPid, rows.filter((r) => r.run === profiled).at(-1)!);
} finally {
  await stopAll();
}
