/**
 * The passthrough's per-request feature ledger: what each feature costs in gateway CPU per
 * request, measured by running gateways that differ by one switched-off feature side by side,
 * interleaved (the order rotates every round, every round on processes started for it), against
 * the same legacy process, with the bare @fastify/http-proxy as the floor.
 *
 * Switches: the access line (LOG_LEVEL=warn) and the load-shedding check
 * (SHED_EVENT_LOOP_DELAY_MS=0) through the gateway's own config; trace ids, metrics, request-id
 * minting and graceful shutdown's connection bookkeeping through load-tests/ledger-switches.ts,
 * a bench-only module preloaded into those variants only. A feature's cost is the shipped
 * gateway's CPU per request minus the variant's, round by round; the median is reported.
 */
import { runLoad, warmup } from './lib/load.js';
import { stopChild, waitForQuietMachine, type Child } from './lib/procs.js';
import { ensureBuilt, startStack, type GatewayVariantOptions } from './lib/stack.js';
import { allContexts } from './lib/flags.js';
import { compiled } from './lib/paths.js';
import { ensureTool, runWrk } from './lib/tools.js';
import { median, round } from './lib/stats.js';
import type { CliOptions } from './lib/args.js';
import { fmt, machine, REPORTS_DIR, table, writeReport } from './lib/report.js';
import { PASSTHROUGH_PATH, passthroughRequest } from './scenarios.js';
import { meter, startBareProxy } from './compare.js';

/** The features switched off one at a time, and the variant with all of them off. */
export const LEDGER_VARIANTS: readonly (GatewayVariantOptions & { feature: string })[] = [
  { name: 'no-access-line', feature: 'access log line (LOG_LEVEL=warn)', env: { LOG_LEVEL: 'warn' } },
  { name: 'no-shedding', feature: 'load-shedding check (SHED_EVENT_LOOP_DELAY_MS=0)', env: { SHED_EVENT_LOOP_DELAY_MS: '0' } },
  { name: 'no-span', feature: 'trace ids: server and client span', env: { LOADTEST_LEDGER_OFF: 'span' } },
  { name: 'no-metrics', feature: 'metrics: request and upstream series', env: { LOADTEST_LEDGER_OFF: 'metrics' } },
  { name: 'no-reqid', feature: 'request id minting (randomUUID)', env: { LOADTEST_LEDGER_OFF: 'reqid' } },
  { name: 'no-conntrack', feature: 'graceful-close connection bookkeeping', env: { LOADTEST_LEDGER_OFF: 'conntrack' } },
  {
    name: 'all-off',
    feature: 'all of the above at once',
    env: { LOG_LEVEL: 'warn', SHED_EVENT_LOOP_DELAY_MS: '0', LOADTEST_LEDGER_OFF: 'span,metrics,reqid,conntrack' },
  },
];

interface Run {
  target: string;
  round: number;
  rps: number;
  cpuMsPerReq: number;
  non2xx: number;
  errors: number;
  pid: number;
}

export async function runLedger(opts: CliOptions, log: (m: string) => void): Promise<void> {
  const durationS = opts.durationS ?? 5;
  const path = opts.path ?? PASSTHROUGH_PATH;
  const wrkBin = opts.wrk ? ensureTool('wrk', 'wrk', log) : undefined;
  log(`\n━━ ledger: passthrough GET ${path}, the shipped gateway vs one feature off per variant vs bare @fastify/http-proxy, ${opts.rounds} interleaved rounds × ${durationS}s, ${wrkBin ? 'wrk' : 'autocannon'}`);
  await ensureBuilt(log);
  const switches = compiled('load-tests/ledger-switches.ts');
  const stack = await startStack({
    gateway: true,
    rollouts: allContexts(100),
    logLevel: opts.logLevel,
    nodeArgs: opts.gatewayNodeArgs,
    actor: 'load-test ledger',
    variants: LEDGER_VARIANTS.map((v) => ({ ...v, imports: v.env.LOADTEST_LEDGER_OFF ? [switches] : [] })),
    log,
  });
  const extra: Child[] = [];
  const runs: Run[] = [];
  try {
    const legacy = stack.legacyUrl!;
    const { proc: bareProc, url: bareUrl, restart: restartBare } = await startBareProxy(legacy, extra);
    const gwProc = stack.watch.find((w) => w.name === 'gateway')!;
    const targets = [
      { name: 'gateway', url: stack.gatewayUrl!, proc: gwProc, restart: stack.restartGateway! },
      ...stack.variants.map((v) => ({ name: v.name, url: v.url, proc: v.proc, restart: () => v.restart() })),
      { name: 'bare', url: bareUrl, proc: bareProc, restart: restartBare },
    ];
    const request = passthroughRequest(path);
    for (let r = 0; r < opts.rounds; r++) {
      if (r > 0) for (let i = 0; i < targets.length; i++) await targets[(i + r) % targets.length]!.restart();
      const order = targets.map((_, i) => targets[(i + r) % targets.length]!);
      for (const t of order) {
        if (opts.waitQuietS > 0) await waitForQuietMachine(25, opts.waitQuietS, log);
        await warmup({ url: t.url, connections: opts.connections, request }, opts.warmupS);
        const stop = meter([t.proc]);
        let rps: number;
        let non2xx: number;
        let errors: number;
        if (wrkBin) {
          const w = await runWrk(wrkBin, t.url, { prefix: path }, opts.connections, durationS, stack.dir);
          ({ rps, non2xx, errors } = w);
        } else {
          const a = await runLoad({ url: t.url, connections: opts.connections, durationS, request });
          ({ rps, non2xx, errors } = a);
        }
        const { cpu } = stop();
        const pc = cpu[t.proc.name] ?? 0;
        const run: Run = { target: t.name, round: r + 1, rps, cpuMsPerReq: rps > 0 ? round((pc * 10) / rps, 4) : 0, non2xx, errors, pid: t.proc.pid };
        runs.push(run);
        log(`  round ${r + 1}  ${t.name.padEnd(15)} ${fmt(rps, 0).padStart(6)} req/s  CPU ${pc}%  ${fmt(run.cpuMsPerReq * 1000, 1)} µs/req  non-2xx ${non2xx}  errors ${errors}  other CPU ${cpu.other ?? '–'}%`);
      }
    }
  } finally {
    for (const c of extra.reverse()) await stopChild(c, 'SIGTERM');
    await stack.close();
  }

  // a feature's cost: shipped minus variant, paired round by round
  const us = (target: string, round: number) => (runs.find((x) => x.target === target && x.round === round)?.cpuMsPerReq ?? NaN) * 1000;
  const rounds = Array.from({ length: opts.rounds }, (_, i) => i + 1);
  const rows = [
    { name: 'gateway', feature: 'shipped (every feature on)' },
    ...LEDGER_VARIANTS.map((v) => ({ name: v.name, feature: v.feature })),
    { name: 'bare', feature: 'bare @fastify/http-proxy' },
  ].map((t) => {
    const own = rounds.map((r) => us(t.name, r));
    const saved = rounds.map((r) => us('gateway', r) - us(t.name, r));
    return { ...t, cpuUsPerReq: round(median(own), 1), perRound: own.map((v) => round(v, 1)), savedUs: t.name === 'gateway' ? null : round(median(saved), 1), savedPerRound: saved.map((v) => round(v, 1)) };
  });
  log('');
  log(
    table(
      ['variant', 'switched off', 'CPU µs/req (median)', 'rounds', 'shipped − variant, µs/req (median)', 'per round'],
      rows.map((x) => [x.name, x.feature, fmt(x.cpuUsPerReq, 1), x.perRound.map((v) => fmt(v, 1)).join(' / '), x.savedUs === null ? '–' : fmt(x.savedUs, 1), x.name === 'gateway' ? '–' : x.savedPerRound.map((v) => fmt(v, 1)).join(' / ')]),
    ),
  );
  const bad = runs.filter((x) => x.non2xx > 0 || x.errors > 0);
  if (bad.length) log(`  • ${bad.length} runs had non-2xx or errors: ${bad.map((x) => `${x.target} r${x.round}`).join(', ')}`);
  const command = `npm run load -- ${process.argv.slice(2).join(' ')}`.trim();
  const files = writeReport('ledger', { kind: 'ledger', command, machine: machine(), options: { durationS, rounds: opts.rounds, path, connections: opts.connections, generator: wrkBin ? 'wrk' : 'autocannon' }, rows, runs }, `<pre>${rows.map((x) => JSON.stringify(x)).join('\n')}</pre>`, opts.reportDir ?? REPORTS_DIR);
  log(`\nreport: ${files.json}`);
}
