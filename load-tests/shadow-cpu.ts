/**
 * Where shadowing's CPU goes (docs/parity.md "What it costs"): one backends process and one gateway
 * at a time, in turn, each round: shadowing off, 100 % in the shadow process (SHADOW_ISOLATION=
 * process), 100 % inline. Per run: client p50/p99 and CPU ms per request (user + system, every
 * thread, /proc/<pid>/stat) of the gateway, of its shadow process, and of the backends (which
 * answer the shadow calls too). Only one gateway is alive at a time: nothing else on the machine
 * is ours.
 *
 *   node --import tsx load-tests/shadow-cpu.ts [--rate 300] [--duration 15] [--rounds 3] [--pin]
 *
 * `--pin` (Linux, taskset): the gateway and its shadow process share CPU 0, the backends get CPU 1;
 * start the harness (the load generator) under `taskset -c 1` too. Then the gateway's core holds
 * only the gateway and, at its niceness, the shadow process: what a client pays for shadowing on
 * the gateway's own core, apart from the backends answering more calls.
 *
 * Gateways listen on SHADOW_CPU_PORT (44301).
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { embeddedGatewayEnv, ensureBuilt } from './lib/stack.js';
import { runLoad, warmup, type RequestGen } from './lib/load.js';
import { installCleanup, readReadyLine, sampleProc, spawnChild, stopAll, stopChild, waitForHttp } from './lib/procs.js';
import { writeFlags } from './lib/flags.js';
import { ROOT, compiled } from './lib/paths.js';
import { DEFAULT_GATEWAY_NODE_ARGS } from './lib/args.js';
import { median, round } from './lib/stats.js';

const { values } = parseArgs({
  options: { rate: { type: 'string', default: '300' }, duration: { type: 'string', default: '15' }, rounds: { type: 'string', default: '3' }, pin: { type: 'boolean', default: false } },
});
/** --pin: the gateway (and so its shadow process) on CPU 0, the backends on CPU 1 (taskset); run the harness itself under `taskset -c 1` */
const pin = values.pin === true;
const pinned = (cpu: number, argv: string[]): [string, string[]] => (pin ? ['taskset', ['-c', String(cpu), process.execPath, ...argv]] : [process.execPath, argv]);
const rate = Number(values.rate);
const durationS = Number(values.duration);
const rounds = Number(values.rounds);
const port = Number(process.env.SHADOW_CPU_PORT ?? 44301);
const TOKEN = 'shadow-cpu-admin-token-0123456789';
const log = (m: string) => process.stdout.write(`${m}\n`);
const VARIANTS = [
  { name: 'off', env: { SHADOW_PRICING_PERCENT: '0' } },
  { name: 'process', env: { SHADOW_PRICING_PERCENT: '100', SHADOW_ISOLATION: 'process' } },
  { name: 'inline', env: { SHADOW_PRICING_PERCENT: '100', SHADOW_ISOLATION: 'inline' } },
];
const products: RequestGen = (i) => ({ path: `/api/v1/sites/electronics-spa/products/${1000001 + (i % 200)}`, headers: { 'x-user-id': `u${i % 1000}` } });
const cpuS = (pid: number | undefined) => (pid === undefined ? 0 : (sampleProc(pid)?.cpuS ?? 0));

interface Row {
  name: string;
  p50: number;
  p99: number;
  gateway: number;
  shadowProcess: number;
  backends: number;
}

installCleanup();
const dir = mkdtempSync(join(tmpdir(), 'shadow-cpu-'));
try {
  await ensureBuilt(log);
  const world = spawnChild('backends', ...pinned(1, ['--enable-source-maps', compiled('load-tests/world.ts'), 'legacy,pricing,inventory,promotions']), { cwd: ROOT, stdout: 'pipe' });
  const backends = await readReadyLine<Record<string, string>>(world, 'ready', 60_000);
  const flagsDir = join(dir, 'flags');
  mkdirSync(flagsDir);
  await writeFlags(flagsDir, { pricing: 50 }); // half the users on each arm: the shadow goes both ways
  log(`rate ${rate} req/s, ${durationS} s per run, ${rounds} rounds; one gateway at a time${pin ? '; gateway on CPU 0, backends on CPU 1' : ''}`);
  const rows: Row[] = [];
  for (let r = 1; r <= rounds; r++) {
    for (const v of VARIANTS) {
      const child = spawnChild(`gateway-${v.name}`, ...pinned(0, [...DEFAULT_GATEWAY_NODE_ARGS.split(' '), '--enable-source-maps', compiled('src/server.ts')]), {
        cwd: ROOT,
        stdout: 'ignore',
        env: {
          ...embeddedGatewayEnv(backends, {}),
          PORT: String(port),
          FLAGS_DIR: flagsDir,
          ADMIN_TOKEN: TOKEN,
          AUDIT_LOG_PATH: join(dir, `${v.name}-${r}-audit.jsonl`),
          LOG_LEVEL: 'info',
          SHADOW_MAX_PER_SECOND: '100000',
          SHADOW_MAX_CONCURRENT: '256',
          ...v.env,
        },
      });
      const url = `http://127.0.0.1:${port}`;
      await waitForHttp(`${url}/readyz`, child, 60_000);
      const detail = (await (await fetch(`${url}/admin/parity/pricing`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { comparedIn?: { mode: string; pid?: number } };
      const shadowPid = detail.comparedIn?.mode === 'process' ? detail.comparedIn.pid : undefined;
      await warmup({ url, connections: 10, request: products }, 3);
      const before = [cpuS(child.pid), cpuS(shadowPid), cpuS(world.pid)];
      const res = await runLoad({ url, connections: 10, durationS, rate, request: products });
      const after = [cpuS(child.pid), cpuS(shadowPid), cpuS(world.pid)];
      const per = (i: number) => round(((after[i]! - before[i]!) * 1000) / res.requests, 3);
      const counts = ((await (await fetch(`${url}/admin/parity/pricing`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { counts: Record<string, number> }).counts;
      const row = { name: v.name, p50: res.latency.p50, p99: res.latency.p99, gateway: per(0), shadowProcess: per(1), backends: per(2) };
      rows.push(row);
      log(
        `round ${r}  ${v.name.padEnd(7)} ${res.requests} req  non2xx ${res.non2xx}  p50 ${row.p50} ms  p99 ${row.p99} ms  CPU ms/req: gateway ${row.gateway.toFixed(3)}  shadow process ${row.shadowProcess.toFixed(3)}  backends ${row.backends.toFixed(3)}  parity ${JSON.stringify(counts)}`,
      );
      await stopChild(child);
    }
  }
  log('\nmedians:');
  for (const v of VARIANTS) {
    const mine = rows.filter((x) => x.name === v.name);
    const m = (k: keyof Omit<Row, 'name'>) => round(median(mine.map((x) => x[k])), 3);
    log(`  ${v.name.padEnd(7)} p50 ${m('p50')} ms  p99 ${m('p99')} ms  CPU ms/req: gateway ${m('gateway').toFixed(3)}  shadow process ${m('shadowProcess').toFixed(3)}  backends ${m('backends').toFixed(3)}`);
  }
} finally {
  await stopAll();
  await rm(dir, { recursive: true, force: true });
}
