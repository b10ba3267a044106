/**
 * The Node side of load-tests/ab.sh, on the harness's own pieces (flag files, request rotation,
 * load runner, /proc sampling, medians), so an A/B loads a gateway exactly as the scenarios do.
 *
 *   node --import tsx load-tests/ab-run.ts flags <dir>            every context on new (100 %)
 *   node --import tsx load-tests/ab-run.ts port                   a free loopback port
 *   node --import tsx load-tests/ab-run.ts run <label> <port> <gateway pid> <seconds> [path]
 *       2 s of warmup, then <seconds> of 50-connection load; one JSON line: req/s, p99, non-2xx,
 *       errors, the gateway's CPU ms per request and highest RSS
 *   node --import tsx load-tests/ab-run.ts summary <results file> <ref-a> <ref-b>
 */
import { readFileSync } from 'node:fs';
import { allContexts, writeFlags } from './lib/flags.js';
import { runLoad, warmup } from './lib/load.js';
import { freePort, sampleProc } from './lib/procs.js';
import { median } from './lib/stats.js';
import { passthroughRequest, productRequest } from './scenarios.js';

interface Row {
  side: string;
  rps: number;
  p99: number;
  non2xx: number;
  errors: number;
  cpuMsPerRequest: number;
  /** the gateway's highest RSS sampled during the run (every 250 ms) */
  rssMaxMb: number;
}

const CONNECTIONS = 50;

async function run(side: string, port: string, pid: number, seconds: number, path: string | undefined): Promise<Row> {
  const url = `http://127.0.0.1:${port}`;
  const request = path ? passthroughRequest(path) : productRequest;
  await warmup({ url, connections: CONNECTIONS, request }, 2);
  const before = sampleProc(pid);
  let rssMaxMb = before?.rssMb ?? 0;
  const sampler = setInterval(() => (rssMaxMb = Math.max(rssMaxMb, sampleProc(pid)?.rssMb ?? 0)), 250);
  const r = await runLoad({ url, connections: CONNECTIONS, durationS: seconds, request }).finally(() => clearInterval(sampler));
  const after = sampleProc(pid);
  if (!before || !after) throw new Error(`gateway pid ${pid} is gone`);
  const cpuMs = (after.cpuS - before.cpuS) * 1000;
  return { side, rps: Math.round(r.rps), p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors, cpuMsPerRequest: Number((cpuMs / Math.max(1, r.requests)).toFixed(4)), rssMaxMb: Math.round(Math.max(rssMaxMb, after.rssMb)) };
}

function summary(file: string, refA: string, refB: string): string {
  const rows = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Row);
  const of = (side: string, k: 'rps' | 'cpuMsPerRequest') => median(rows.filter((r) => r.side === side).map((r) => r[k]));
  const rss = (side: string) => Math.max(...rows.filter((r) => r.side === side).map((r) => r.rssMaxMb));
  return [
    `A (${refA}): median ${Math.round(of('A', 'rps'))} req/s, ${of('A', 'cpuMsPerRequest').toFixed(4)} CPU ms/request, RSS max ${rss('A')} MB`,
    `B (${refB}): median ${Math.round(of('B', 'rps'))} req/s, ${of('B', 'cpuMsPerRequest').toFixed(4)} CPU ms/request, RSS max ${rss('B')} MB`,
    `B ÷ A: req/s ${(of('B', 'rps') / of('A', 'rps')).toFixed(3)}, CPU per request ${(of('B', 'cpuMsPerRequest') / of('A', 'cpuMsPerRequest')).toFixed(3)}`,
  ].join('\n');
}

const [command, ...args] = process.argv.slice(2);
if (command === 'flags') await writeFlags(args[0]!, allContexts(100));
else if (command === 'port') console.log(await freePort());
else if (command === 'run') console.log(JSON.stringify(await run(args[0]!, args[1]!, Number(args[2]), Number(args[3]), args[4] || undefined)));
else if (command === 'summary') console.log(summary(args[0]!, args[1]!, args[2]!));
else throw new Error(`usage: ab-run.ts flags <dir> | port | run <label> <port> <pid> <seconds> [path] | summary <file> <ref-a> <ref-b>`);
