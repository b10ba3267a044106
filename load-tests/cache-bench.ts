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
 * hit ratio per namespace from its /metrics.
 *
 * `--profile`: the cache gateway runs under --cpu-prof and the sampling heap profiler; the last
 * round's warm run (the hit path) is summarized: CPU by function and bytes allocated per request.
 *
 *   node --import tsx load-tests/cache-bench.ts [--rounds 2] [--duration 5] [--connections 50] [--profile]
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

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '2' }, duration: { type: 'string', default: '5' }, connections: { type: 'string', default: '50' }, profile: { type: 'boolean', default: false } } });
const rounds = Number(values.rounds);
const durationS = Number(values.duration);
const connections = Number(values.connections);

const STRIDE = 7919;
const users = (i: number) => ({ 'x-user-id': `user-${i % 1000}` });
const products = (count: number): RequestGen => (i) => ({ path: `/occ/v2/${SITE}/products/${1_000_000 + ((i * STRIDE) % count)}`, headers: users(i) });
const passthrough: RequestGen = (i) => ({ path: PASSTHROUGH_PATH, headers: users(i) });

const log = (m: string) => process.stdout.write(`${m}\n`);

async function cacheCounters(url: string): Promise<Map<string, { hits: number; misses: number }>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out = new Map<string, { hits: number; misses: number }>();
  for (const m of text.matchAll(/^gateway_cache_(hits|misses)_total\{ns="([^"]+)"[^}]*\} (\d+(?:\.\d+)?)/gm)) {
    const e = out.get(m[2]!) ?? { hits: 0, misses: 0 };
    if (m[1] === 'hits') e.hits += Number(m[3]);
    else e.misses += Number(m[3]);
    out.set(m[2]!, e);
  }
  return out;
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
  let hitRatio = '';
  if (before) {
    const after = await cacheCounters(url);
    hitRatio = [...after]
      .map(([ns, a]) => {
        const b = before.get(ns) ?? { hits: 0, misses: 0 };
        const h = a.hits - b.hits;
        const total = h + a.misses - b.misses;
        return total > 0 ? `${ns} ${((100 * h) / total).toFixed(1)}%` : '';
      })
      .filter(Boolean)
      .join(', ');
  }
  return { round, window: [r.monoStartUs, r.monoEndUs], requests: r.requests, run: name, rps: Math.round(r.rps), cpuMsPerReq: Number((((c1.cpuS - c0.cpuS) * 1000) / r.requests).toFixed(3)), non2xx: r.non2xx, hitRatio };
}

/** The warm run's CPU profile (its window only) and allocation profile. */
function printProfile(dir: string, pid: number | undefined, warm: Row): void {
  const cpu = readdirSync(dir).find((f) => f.endsWith('.cpuprofile') && f.includes(`.${pid}.0.`));
  const mapsPath = join(dir, 'gateway.sourcemaps.json');
  const maps = existsSync(mapsPath) ? SourceMaps.load(mapsPath) : undefined;
  log(`\nprofile of the warm run (round ${warm.round}, ${warm.requests} requests), ${dir}`);
  if (cpu) {
    const c = summarizeCpu(join(dir, cpu), warm.window[0], warm.window[1], maps);
    log(`cpu (${c.window}): ${c.totalMs} ms sampled, ${((c.totalMs * 1000) / warm.requests).toFixed(1)} µs per request`);
    log(formatRows('self time by package/module', 'ms', c.byCategory.slice(0, 12)));
    log(formatRows('top self time by function', 'ms', c.topSelf.slice(0, 25)));
    log(formatRows('inclusive time of own functions', 'ms', c.ownInclusive.slice(0, 25)));
  }
  const heapPath = join(dir, 'gateway.heapprofile');
  if (existsSync(heapPath)) {
    const h = summarizeHeap(heapPath, warm.requests, maps);
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
    rows.push(await measure(cached, 'passthrough (cache gateway)', passthrough, round, false));
    rows.push(await measure(cached, 'warm 100 codes, cache on', products(100), round, true, profileDir !== undefined && round === rounds));
    rows.push(await measure(plain, 'warm 100 codes, cache off', products(100), round, false));
    rows.push(await measure(cached, 'cold 10,000 codes, cache on', products(10_000), round, true));
    rows.push(await measure(plain, 'cold 10,000 codes, cache off', products(10_000), round, false));
    for (const r of rows.slice(-5)) log(`round ${r.round}  ${r.run.padEnd(30)} ${String(r.rps).padStart(6)} req/s  ${r.cpuMsPerReq.toFixed(3)} ms CPU/req  non2xx ${r.non2xx}  ${r.hitRatio}`);
  }
  log('\nmedian per run:');
  for (const name of [...new Set(rows.map((r) => r.run))]) {
    const rs = rows.filter((r) => r.run === name);
    const med = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
    log(`  ${name.padEnd(30)} ${String(med(rs.map((r) => r.rps))).padStart(6)} req/s  ${med(rs.map((r) => r.cpuMsPerReq)).toFixed(3)} ms CPU/req  ${rs.at(-1)!.hitRatio}`);
  }
  const cachedPid = cached.gatewayPid;
  await cached.close();
  await plain.close();
  if (profileDir) printProfile(profileDir, cachedPid, rows.filter((r) => r.run === 'warm 100 codes, cache on').at(-1)!);
} finally {
  await stopAll();
}
