/**
 * The same product query through our graph (/graphql: mercurius + @mercuriusjs/gateway, the
 * context subgraphs executed in process) and through @apollo/gateway + @apollo/server composing
 * the same subgraphs over HTTP, in the same run, on loopback. Reports req/s and latency for both
 * and the ratio. Bounded in time; not part of `npm test`.
 *
 *   npm run bench:graphql -- [--duration 10] [--rounds 3] [--connections 16] [--skus 20] [--flags new|legacy] [--scenario hosted|services|all] [--profile]
 *
 * Each round measures both targets, alternating which goes first; the table reports the median
 * round per target, so background load on the machine weighs on both alike.
 *
 * --profile runs our gateway under `node --cpu-prof` and prints where its CPU went during its last
 * measured round (load-tests/reports/profiles/graphql-<scenario>-<time>/; tsx-compiled frames).
 *
 * Scenarios (flags route every context to the arm given by --flags for both targets):
 *   hosted    Apollo composes the gateway-hosted subgraphs (GRAPHQL_EXPOSE_SUBGRAPHS,
 *             /__subgraphs/<name>/graphql): the very code our graph runs in process.
 *   services  Apollo composes the new services' own subgraphs (+ the catalog's, hosted); our
 *             graph runs with GRAPHQL_SUBGRAPHS=<context>=remote, so both reach the same
 *             service subgraphs (needs --flags new).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { CONTEXTS, contextIdentities } from '../../src/contexts/names.js';
import { flagFile } from '../lib/flags.js';
import { formatRows, summarizeCpu } from '../lib/profile.js';
import autocannon, { type Result } from 'autocannon';

const here = dirname(fileURLToPath(import.meta.url));
const CHILD = join(here, 'child.ts');

interface Args {
  duration: number;
  connections: number;
  skus: number;
  flags: 'new' | 'legacy';
  scenario: 'hosted' | 'services' | 'all';
  warmup: number;
  rounds: number;
  profile: boolean;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { duration: 10, connections: 16, skus: 20, flags: 'new', scenario: 'hosted', warmup: 3, rounds: 3, profile: false };
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i]?.replace(/^--/, '');
    if (k === 'profile') {
      a.profile = true;
      i--;
      continue;
    }
    const v = argv[i + 1] ?? '';
    if (k === 'duration' || k === 'connections' || k === 'skus' || k === 'warmup' || k === 'rounds') {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0) throw new Error(`--${k} takes a whole number`);
      a[k] = n;
    } else if (k === 'flags' && (v === 'new' || v === 'legacy')) a.flags = v;
    else if (k === 'scenario' && (v === 'hosted' || v === 'services' || v === 'all')) a.scenario = v;
    else throw new Error(`unknown option --${k} ${v}`);
  }
  if (a.duration > 120 || a.duration < 1) throw new Error('--duration is 1..120 s');
  if (a.rounds < 1 || a.rounds > 5) throw new Error('--rounds is 1..5');
  if (a.skus < 1 || a.skus > 100) throw new Error('--skus is 1..100');
  return a;
}

const children: ChildProcess[] = [];
const pidOf = new Map<string, number>();
let gatewayChild: ChildProcess | undefined;
const monoUs = () => Number(process.hrtime.bigint() / 1000n);

/** CPU time (user + system) a process has used, in ms; Linux /proc only, undefined elsewhere. */
function cpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // USER_HZ is 100 on Linux
  } catch {
    return undefined;
  }
}

async function start<T>(role: string, env: Record<string, string> = {}, nodeArgs: string[] = []): Promise<T> {
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', CHILD, role], {
    // production mode for every process: graphql-js skips its development checks (both graphs use it)
    env: { ...process.env, LOG_LEVEL: 'silent', NODE_ENV: 'production', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  if (role === 'gateway') gatewayChild = child;
  if (child.pid !== undefined) pidOf.set(role, child.pid);
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${role} did not start within 60 s`)), 60_000);
    child.once('exit', (code) => reject(new Error(`${role} exited with ${code}`)));
    lines.on('line', (line) => {
      try {
        const msg = JSON.parse(line) as { ready?: T };
        if (msg.ready !== undefined) {
          clearTimeout(timer);
          resolve(msg.ready);
        }
      } catch {
        /* not our line */
      }
    });
  });
}

function stopAll(): void {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
}

function query(skus: number): string {
  const list = Array.from({ length: skus }, (_, i) => `"${1000100 + i}"`).join(',');
  return JSON.stringify({
    query: `{ products(site: "electronics-spa", skus: [${list}]) { sku name price { amount currency formatted } availability { status quantity } promotions { code title } } }`,
  });
}

async function post(url: string, body: string): Promise<{ status: number; json: { data?: unknown; errors?: unknown } }> {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  return { status: r.status, json: (await r.json()) as { data?: unknown; errors?: unknown } };
}

async function load(url: string, body: string, seconds: number, connections: number): Promise<Result> {
  return autocannon({ url, method: 'POST', headers: { 'content-type': 'application/json' }, body, duration: seconds, connections });
}

interface Row {
  scenario: string;
  target: string;
  /** CPU ms per request spent in each process (backends, gateway, apollo) during the median round */
  cpu: Record<string, number>;
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

async function scenario(name: 'hosted' | 'services', a: Args, urls: Record<string, string>, flagsDir: string): Promise<Row[]> {
  const remote = name === 'services' ? CONTEXTS.map((c) => `${c}=remote`).join(',') : '';
  const profileDir = a.profile ? join(here, '..', 'reports', 'profiles', `graphql-${name}-${new Date().toISOString().replace(/[:.]/g, '-')}`) : undefined;
  if (profileDir) await mkdir(profileDir, { recursive: true });
  const gateway = await start<string>('gateway', {
    LEGACY_URL: urls.legacy as string,
    ...Object.fromEntries(contextIdentities().map((c) => [c.upstream.urlEnv, urls[c.name] as string])),
    FLAGS_DIR: flagsDir,
    GRAPHQL_EXPOSE_SUBGRAPHS: 'true',
    GRAPHQL_SUBGRAPHS: remote,
    // measure the graph, not the load shedder
    SHED_EVENT_LOOP_DELAY_MS: '0',
  }, profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []);
  const gatewayPid = gatewayChild?.pid;
  const hosted = (n: string) => ({ name: n, url: `${gateway}/__subgraphs/${n}/graphql` });
  const subgraphs =
    name === 'hosted' ? ['catalog', ...CONTEXTS].map(hosted) : [hosted('catalog'), ...CONTEXTS.map((c) => ({ name: c, url: `${urls[c]}/graphql` }))];
  const apollo = await start<string>('apollo', { SUBGRAPHS: JSON.stringify(subgraphs) });
  const body = query(a.skus);
  const ours = await post(`${gateway}/graphql`, body);
  const theirs = await post(apollo, body);
  if (ours.status !== 200 || ours.json.errors || JSON.stringify(ours.json.data) !== JSON.stringify(theirs.json.data)) {
    throw new Error(`the two graphs disagree before load:\nours   ${JSON.stringify(ours.json).slice(0, 400)}\napollo ${JSON.stringify(theirs.json).slice(0, 400)}`);
  }
  const targets = [
    ['ours (mercurius gateway)', `${gateway}/graphql`],
    ['@apollo/gateway + @apollo/server', apollo],
  ] as const;
  for (const [, url] of targets) if (a.warmup > 0) await load(url, body, a.warmup, a.connections);
  const runs = new Map<string, { result: Result; cpu: Record<string, number> }[]>(targets.map(([name]) => [name, []]));
  let oursWindow: [number, number] | undefined;
  for (let round = 0; round < a.rounds; round++) {
    const order = round % 2 === 0 ? targets : [...targets].reverse();
    for (const [name, url] of order) {
      const roles = ['backends', 'gateway', 'apollo'];
      const before = roles.map((r) => cpuMs(pidOf.get(r)));
      const from = monoUs();
      const result = await load(url, body, a.duration, a.connections);
      if (name === targets[0][0]) oursWindow = [from, monoUs()];
      const requests = Math.max(1, result.requests.total);
      const cpu: Record<string, number> = {};
      roles.forEach((r, i) => {
        const b = before[i];
        const after = cpuMs(pidOf.get(r));
        if (b !== undefined && after !== undefined) cpu[r] = (after - b) / requests;
      });
      runs.get(name)?.push({ result, cpu });
    }
  }
  const rows: Row[] = [];
  for (const [target] of targets) {
    const all = [...(runs.get(target) ?? [])].sort((x, y) => x.result.requests.mean - y.result.requests.mean);
    const { result: r, cpu } = all[Math.floor((all.length - 1) / 2)] as { result: Result; cpu: Record<string, number> };
    rows.push({
      scenario: name,
      target,
      cpu,
      rps: r.requests.mean,
      p50: r.latency.p50,
      p99: r.latency.p99,
      non2xx: all.reduce((n, x) => n + x.result.non2xx, 0),
      errors: all.reduce((n, x) => n + x.result.errors + x.result.timeouts, 0),
    });
  }
  if (profileDir && oursWindow) await printProfile(profileDir, gatewayPid, oursWindow, name);
  return rows;
}

/** Stops this scenario's gateway so V8 writes its profile, then prints the last measured round of ours. */
async function printProfile(dir: string, pid: number | undefined, [from, to]: [number, number], name: string): Promise<void> {
  const child = gatewayChild;
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile') && f.includes(`.${pid}.0.`));
  if (!file) {
    process.stdout.write(`${name}: no CPU profile of the gateway in ${dir}\n`);
    return;
  }
  const cpu = summarizeCpu(join(dir, file), from, to);
  const out = [
    `\n${name}: CPU profile of our gateway, last measured round (${cpu.window}): ${cpu.totalMs} ms sampled, ${join(dir, file)}`,
    formatRows('self time by package/module', 'ms', cpu.byCategory.slice(0, 15)),
    formatRows('inclusive time by package/module (callees included)', 'ms', cpu.byCategoryInclusive.slice(0, 15)),
    formatRows('top self time by function', 'ms', cpu.topSelf.slice(0, 25)),
    formatRows('inclusive time of own functions', 'ms', cpu.ownInclusive.slice(0, 20)),
  ];
  process.stdout.write(out.join('\n') + '\n');
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  const flagsDir = await mkdtemp(join(tmpdir(), 'graphql-bench-flags-'));
  const rollout = a.flags === 'new' ? '100' : '0';
  await writeFile(
    join(flagsDir, 'routes.json'),
    JSON.stringify(flagFile(Object.fromEntries(CONTEXTS.map((c) => [c, Number(rollout)])))),
  );
  try {
    const urls = await start<Record<string, string>>('backends');
    const scenarios: ('hosted' | 'services')[] = a.scenario === 'all' ? ['hosted', 'services'] : [a.scenario];
    if (scenarios.includes('services') && a.flags !== 'new') throw new Error('the services scenario needs --flags new');
    const rows: Row[] = [];
    for (const s of scenarios) rows.push(...(await scenario(s, a, urls, flagsDir)));

    const lines = [
      `GraphQL benchmark: products(skus: ${a.skus}) with price, availability, promotions; flags → ${a.flags}; ${a.connections} connections, ${a.rounds} round(s) of ${a.duration} s per target (after ${a.warmup} s warm-up), median round; node ${process.version}`,
      '',
      '| scenario | target | req/s (mean) | p50 ms | p99 ms | non-2xx | errors | CPU ms/req: backends / gateway / apollo |',
      '|---|---|---:|---:|---:|---:|---:|---|',
      ...rows.map(
        (r) =>
          `| ${r.scenario} | ${r.target} | ${r.rps.toFixed(0)} | ${r.p50} | ${r.p99} | ${r.non2xx} | ${r.errors} | ${['backends', 'gateway', 'apollo'].map((k) => r.cpu[k]?.toFixed(2) ?? '-').join(' / ')} |`,
      ),
      '',
    ];
    for (const s of scenarios) {
      const [ours, theirs] = rows.filter((r) => r.scenario === s);
      if (ours && theirs) lines.push(`${s}: ours / Apollo throughput = ${(ours.rps / theirs.rps).toFixed(2)}×, p99 ${ours.p99} ms vs ${theirs.p99} ms`);
    }
    process.stdout.write(lines.join('\n') + '\n');
    const reports = join(here, '..', 'reports');
    await mkdir(reports, { recursive: true });
    await writeFile(join(reports, 'graphql-bench.json'), JSON.stringify({ args: a, node: process.version, at: new Date().toISOString(), rows }, null, 2));
  } finally {
    stopAll();
    await rm(flagsDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  stopAll();
  process.exit(1);
});
