/**
 * `npm run load -- <scenario|compare|all|list> [options]`: starts the system under test (or uses
 * GATEWAY_URL), warms it up, runs one autocannon scenario with its mid-run actions, prints the
 * table, writes JSON + HTML reports, and stops every child process it started, whatever happens.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseCli, USAGE, type CliOptions } from './lib/args.js';
import { describeRollouts } from './lib/flags.js';
import { attachProbe, runLoad, warmup, type RunResult } from './lib/load.js';
import { installCleanup, stopAll, waitForQuietMachine } from './lib/procs.js';
import { formatRows, summarizeCpu, summarizeHeap } from './lib/profile.js';
import {
  checksTable,
  machine,
  REPORTS_DIR,
  scenarioHtml,
  stamp,
  summaryTable,
  table,
  fmt,
  writeReport,
  type Check,
  type ProcSummary,
  type ScenarioReport,
} from './lib/report.js';
import { startStack } from './lib/stack.js';
import { round } from './lib/stats.js';
import { screenshot } from './lib/tools.js';
import { SourceMaps } from './lib/sourcemap.js';
import { findScenario, RSS_LIMIT_MB, SCENARIOS, settleRoutes, type Scenario, type ScenarioContext } from './scenarios.js';
import { runCompare } from './compare.js';
import { runLedger } from './ledger.js';
import { runRehearse } from './rehearse.js';

const log = (msg: string) => process.stdout.write(msg + '\n');

export interface ScenarioOutcome {
  report?: ScenarioReport;
  files?: { json: string; html: string; png?: string };
  skipped?: string;
}

function processSummaries(run: RunResult, watch: readonly { name: string; pid: number }[]): ProcSummary[] {
  const all = [...watch, { name: 'harness', pid: process.pid }, { name: 'other', pid: 0 }];
  return all.map((w) => {
    const pts = run.seconds.map((s) => s.procs[w.name]).filter((p) => p !== undefined);
    const rss = pts.map((p) => p.rssMb);
    return {
      name: w.name,
      pid: w.pid,
      rssMaxMb: round(Math.max(0, ...rss), 1),
      rssMeanMb: round(rss.reduce((a, b) => a + b, 0) / Math.max(1, rss.length), 1),
      cpuMeanPct: round(pts.reduce((a, p) => a + p.cpuPct, 0) / Math.max(1, pts.length), 1),
    };
  });
}

/** Node names --cpu-prof files CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile; main thread = 0 */
async function mainThreadProfile(dir: string, pid: number | undefined): Promise<string | undefined> {
  const end = Date.now() + 5000;
  while (Date.now() < end) {
    const hit = readdirSync(dir).find((f) => f.endsWith('.cpuprofile') && f.includes(`.${pid}.0.`));
    if (hit) return join(dir, hit);
    await new Promise((r) => setTimeout(r, 100));
  }
  return undefined;
}

async function waitForFile(path: string, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (existsSync(path)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

export async function runScenario(sc: Scenario, opts: CliOptions): Promise<ScenarioOutcome> {
  const durationS = opts.durationS ?? sc.defaultDurationS;
  const reportDir = opts.reportDir ?? REPORTS_DIR;
  const profileDir = opts.profile && !process.env.GATEWAY_URL ? join(reportDir, 'profiles', `${sc.name}-${stamp()}`) : undefined;
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  log(`\n━━ ${sc.name}: ${sc.summary}`);
  const stack = await startStack({ gateway: sc.gateway, rollouts: sc.rollouts, logLevel: opts.logLevel, profileDir, nodeArgs: opts.gatewayNodeArgs, actor: `load-test ${sc.name}`, log });
  let run: RunResult;
  const ctx: ScenarioContext = { stack, durationS, notes: [] };
  let logPerRequest: number | null = null;
  let target: string;
  try {
    const t = sc.target(stack);
    if ('skip' in t) {
      log(`⤼ skipped: ${t.skip}`);
      return { skipped: t.skip };
    }
    target = t.url;
    const reason = await sc.precheck?.(target);
    if (reason) {
      log(`⤼ skipped: ${reason}`);
      return { skipped: reason };
    }
    await settleRoutes(stack, sc.rollouts);
    const request = sc.request({ path: opts.path });
    if (opts.waitQuietS > 0) await waitForQuietMachine(25, opts.waitQuietS, log);
    if (opts.warmupS > 0) {
      log(`warming up ${opts.warmupS}s (not recorded)…`);
      await warmup({ url: target, connections: opts.connections, request }, opts.warmupS);
    }
    log(`loading ${target} for ${durationS}s with ${opts.connections} connections${opts.rate ? ` at ${opts.rate} req/s (open loop)` : ''}…`);
    stack.toggleHeapSampling();
    const logBefore = stack.logBytes();
    run = await runLoad({
      url: target,
      connections: opts.connections,
      durationS,
      request,
      actions: sc.actions?.(ctx) ?? [],
      watch: stack.watch,
      ...(sc.bodyErrorMarker ? { bodyErrorMarker: sc.bodyErrorMarker } : {}),
      ...(opts.rate ? { rate: opts.rate } : {}),
    });
    const logAfter = stack.logBytes();
    stack.toggleHeapSampling();
    if (stack.gatewayPid && !stack.external) logPerRequest = run.requests ? Math.round((logAfter - logBefore) / run.requests) : null;
    // let the notes of late actions (a client's view 1.5 s after a fault) arrive
    await new Promise((r) => setTimeout(r, sc.actions ? 2000 : 0));
    attachProbe(run, stack.probeLines());
    for (const l of stack.logSummary()) ctx.notes.push(`gateway log: ${l.count}× ${l.line}`);
    if (stack.heapProfilePath) await waitForFile(stack.heapProfilePath, 10_000);
    if (profileDir) await waitForFile(join(profileDir, 'gateway.sourcemaps.json'), 10_000);
  } finally {
    await stack.close();
  }

  const analysis = sc.analyze?.(run, ctx) ?? { windows: [], checks: [], notes: [] };
  analysis.notes.push(...ctx.notes);
  const processes = processSummaries(run, stack.watch);
  const gwProc = processes.find((p) => p.name === 'gateway');
  const checks: Check[] = [
    ...analysis.checks,
    { name: 'gateway RSS under load (max)', target: `≤ ${RSS_LIMIT_MB} MB`, value: gwProc ? `${gwProc.rssMaxMb} MB` : 'not sampled', pass: gwProc ? gwProc.rssMaxMb <= RSS_LIMIT_MB : null },
  ];
  if (!analysis.checks.some((c) => c.name.includes('connection errors'))) checks.unshift({ name: 'connection errors', target: '0', value: String(run.errors), pass: run.errors === 0 });
  const probe = run.seconds.map((s) => s.probe).filter((p) => p !== undefined);
  const other = processes.find((p) => p.name === 'other');
  if (other && other.cpuMeanPct > 15) {
    analysis.notes.push(`other processes on this machine used ${other.cpuMeanPct} % CPU on average during the run (100 % = one core): the numbers are disturbed by them`);
  }
  const { latenciesBySecond: _drop, armResponses: _dropResponses, arrivalsBySecond: _dropToo, ...result } = run;
  const report: ScenarioReport = {
    kind: 'scenario',
    scenario: sc.name,
    summary: sc.summary,
    command: `npm run load -- ${process.argv.slice(2).join(' ')}`.trim(),
    machine: machine(),
    target: target!,
    external: stack.external,
    options: {
      durationS,
      connections: opts.connections,
      warmupS: opts.warmupS,
      logLevel: opts.logLevel,
      flags: describeRollouts(sc.rollouts),
      rate: opts.rate ?? null,
      gatewayNodeArgs: opts.gatewayNodeArgs.join(' '),
    },
    result,
    windows: analysis.windows,
    checks,
    notes: analysis.notes,
    processes,
    ...(stack.gatewayPid
      ? {
          gateway: {
            cpuMsPerRequest: gwProc && run.rps > 0 ? round((gwProc.cpuMeanPct * 10) / run.rps, 3) : null,
            logBytesPerRequest: logPerRequest,
            eluMean: probe.length ? round(probe.reduce((a, p) => a + p.elu, 0) / probe.length, 3) : null,
            gcMsPerSecond: probe.length ? round(probe.reduce((a, p) => a + p.gcMs, 0) / probe.length, 1) : null,
            heapUsedMaxMb: probe.length ? Math.max(...probe.map((p) => p.heapUsedMb)) : null,
          },
        }
      : {}),
  };

  if (profileDir) {
    const heapPath = join(profileDir, 'gateway.heapprofile');
    const maps = SourceMaps.load(join(profileDir, 'gateway.sourcemaps.json'));
    report.profile = {};
    const cpuPath = await mainThreadProfile(profileDir, stack.gatewayPid);
    if (cpuPath) {
      report.profile.cpu = summarizeCpu(cpuPath, run.monoStartUs, run.monoEndUs, maps);
      report.profile.cpuProfilePath = cpuPath;
    }
    if (existsSync(heapPath)) {
      report.profile.heap = summarizeHeap(heapPath, run.requests, maps);
      report.profile.heapProfilePath = heapPath;
    }
  }

  // ---- print
  log('');
  log(summaryTable([{ name: sc.name, rps: run.rps, latency: run.latency, non2xx: run.non2xx, errors: run.errors, requests: run.requests }]));
  if (analysis.windows.length) {
    log(table(['window', 'seconds', 'req/s', 'p50 ms', 'p99 ms', 'max ms', 'non-2xx', 'errors'], analysis.windows.map((w) => [w.name, `${w.from}-${w.to}`, fmt(w.rps, 0), fmt(w.p50), fmt(w.p99), fmt(w.max), w.non2xx, w.errors])));
  }
  for (const m of run.markers) log(`  @${m.t.toFixed(1)}s ${m.label}: ${m.detail}`);
  const statuses = Object.entries(run.statuses).map(([k, v]) => `${k}: ${v}`).join(', ');
  log(`  statuses: ${statuses || 'none'}`);
  for (const n of analysis.notes) log(`  • ${n}`);
  if (processes.length) log(`  processes: ${processes.map((p) => `${p.name}${p.name === 'other' ? '' : ` RSS max ${p.rssMaxMb} MB,`} CPU ${p.cpuMeanPct} %`).join(' · ')}`);
  if (report.gateway) log(`  gateway: ${report.gateway.cpuMsPerRequest ?? '–'} CPU ms/request, ${report.gateway.logBytesPerRequest ?? '–'} log bytes/request, ELU ${report.gateway.eluMean ?? '–'}, GC ${report.gateway.gcMsPerSecond ?? '–'} ms/s`);
  log(checksTable(checks));
  if (report.profile?.cpu) {
    log(`\ncpu profile (${report.profile.cpu.window}): ${report.profile.cpu.totalMs} ms sampled`);
    log(formatRows('self time by package/module', 'ms', report.profile.cpu.byCategory.slice(0, 15)));
    log(formatRows('inclusive time by package/module (callees included)', 'ms', report.profile.cpu.byCategoryInclusive.slice(0, 15)));
    log(formatRows('top self time by function', 'ms', report.profile.cpu.topSelf.slice(0, 20)));
    log(formatRows('inclusive time of own functions', 'ms', report.profile.cpu.ownInclusive.slice(0, 15)));
  }
  if (report.profile?.heap) {
    const h = report.profile.heap;
    log(`\nallocations: ${h.totalMb} MB sampled over ${h.requests} requests ≈ ${h.bytesPerRequest} bytes/request`);
    log(formatRows('allocated by package/module', 'KiB', h.byCategory.slice(0, 12)));
    log(formatRows('top allocating functions', 'KiB', h.topSelf.slice(0, 15)));
    log(formatRows('allocated under own functions (inclusive)', 'KiB', h.ownInclusive.slice(0, 12)));
  }
  const files: ScenarioOutcome['files'] = writeReport(sc.name, report, scenarioHtml(report), reportDir);
  log(`\nreport: ${files.json}\n        ${files.html}`);
  if (report.profile?.cpuProfilePath) log(`        ${report.profile.cpuProfilePath} (open in Chrome DevTools › Performance, or speedscope)`);
  if (opts.screenshot) {
    const png = files.html.replace(/\.html$/, '.png');
    if (screenshot(files.html, png)) {
      files.png = png;
      log(`        ${png}`);
    } else log('        (no screenshot: chromium is not installed; apt-get install -y chromium)');
  }
  return { report, files };
}

async function main(): Promise<number> {
  let opts: CliOptions;
  try {
    opts = parseCli(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${USAGE}\n`);
    return 64;
  }
  if (opts.help || !opts.command) {
    log(USAGE);
    return opts.help ? 0 : 64;
  }
  if (opts.command === 'list') {
    for (const s of SCENARIOS) log(`${s.name.padEnd(22)} ${s.summary}`);
    log(`${'compare'.padEnd(22)} gateway passthrough vs bare @fastify/http-proxy vs nginx (autocannon and wrk)`);
    log(`${'ledger'.padEnd(22)} the passthrough's CPU per request with one feature switched off per gateway`);
    return 0;
  }
  if (opts.command === 'cluster') {
    // the rehearsal is a test (it asserts what it measures); run on its own, its figures print as comments
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/integration/cluster-rehearsal.test.ts'], { stdio: 'inherit', env: { ...process.env, REQUIRE_SERVICES: '1' } });
    return new Promise((resolve) => child.once('exit', (code) => resolve(code ?? 1)));
  }
  installCleanup();
  if (opts.command === 'compare') {
    await runCompare(opts, log);
    return 0;
  }
  if (opts.command === 'ledger') {
    await runLedger(opts, log);
    return 0;
  }
  if (opts.command === 'rehearse') {
    const { report } = await runRehearse(opts, log);
    // a rollback is a rehearsal's finding, not a failure; flags left changed are
    return report.restore.verified ? 0 : 1;
  }
  if (opts.command === 'all') {
    await runCompare(opts, log);
    for (const s of SCENARIOS) await runScenario(s, opts);
    return 0;
  }
  const sc = findScenario(opts.command);
  if (!sc) {
    process.stderr.write(`unknown scenario "${opts.command}"\n\n${USAGE}\n`);
    return 64;
  }
  await runScenario(sc, opts);
  return 0;
}

main().then(
  async (code) => {
    await stopAll();
    process.exit(code);
  },
  async (err: unknown) => {
    process.stderr.write(`\nload test failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    await stopAll();
    process.exit(1);
  },
);
