/**
 * GATEWAY_WORKERS=1 vs 2 (or the counts given): the compiled production entry in front of the
 * simulators, autocannon from a separate process on the same machine, req/s and the gateway's
 * CPU (primary + workers, from /proc) per request.
 *   npm run build && node --import tsx load-tests/workers.ts [--duration 15] [--connections 50] [--port 18810] [1 2]
 * The simulators run in this process; everything shares the machine, so read CPU per request
 * along with req/s.
 */
import { spawn, execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { readFileSync } from 'node:fs';
import { startBackends, upstreamUrlsOf } from '../backends/index.js';
import { contextIdentities } from '../src/contexts/names.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args.splice(i, 2)[1]) : dflt;
};
const duration = opt('duration', 15);
const connections = opt('connections', 50);
const port = opt('port', 18810);
const counts = args.length > 0 ? args.map(Number) : [1, 2];
const PATH = '/api/v1/sites/electronics-spa/products/1000001';
const TICK = 100; // USER_HZ on Linux

/** utime + stime of `pid` and its children, in seconds */
function cpuSeconds(pid: number): number {
  let children = '';
  try {
    children = execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)]).toString(); // exits 1 when there are none
  } catch {}
  const pids = [pid, ...children.trim().split(/\s+/).filter(Boolean).map(Number)];
  let ticks = 0;
  for (const p of pids) {
    try {
      const f = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]!.split(' ');
      ticks += Number(f[11]) + Number(f[12]);
    } catch {}
  }
  return ticks / TICK;
}

const backends = await startBackends();
const urls: Record<string, string> = upstreamUrlsOf(backends);
const running = new Set<import('node:child_process').ChildProcess>();
process.on('exit', () => running.forEach((c) => c.kill('SIGKILL')));
try {
  for (const n of counts) {
    const gw = spawn(process.execPath, ['dist/src/server.js'], {
      env: {
        ...process.env,
        GATEWAY_WORKERS: String(n),
        PORT: String(port),
        LOG_LEVEL: 'warn',
        SHED_EVENT_LOOP_DELAY_MS: '0',
        LEGACY_URL: urls.legacy,
        ...Object.fromEntries(contextIdentities().map((c) => [c.upstream.urlEnv, urls[c.name]])),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    running.add(gw);
    let out = '';
    gw.stdout.on('data', (d) => (out += d.toString()));
    await new Promise<void>((resolve) => {
      const check = () => (out.includes('listening on') ? resolve() : setTimeout(check, 100));
      check();
    });
    await new Promise((r) => setTimeout(r, 1500)); // every worker up
    const url = `http://127.0.0.1:${port}${PATH}`;
    // async: the simulators answer from this process's event loop
    const run = promisify(execFile);
    await run('npx', ['autocannon', '-c', String(connections), '-d', '3', url]); // warm-up
    const cpu0 = cpuSeconds(gw.pid!);
    const res = JSON.parse((await run('npx', ['autocannon', '-j', '-c', String(connections), '-d', String(duration), url])).stdout) as {
      requests: { average: number; total: number };
      latency: { p50: number; p99: number };
      non2xx: number;
      errors: number;
    };
    const cpu = cpuSeconds(gw.pid!) - cpu0;
    process.stdout.write(
      `GATEWAY_WORKERS=${n}: ${res.requests.average} req/s (total ${res.requests.total}, non-2xx ${res.non2xx}, errors ${res.errors}), ` +
        `p50 ${res.latency.p50} ms, p99 ${res.latency.p99} ms, gateway CPU ${cpu.toFixed(1)} s = ${((cpu / res.requests.total) * 1e6).toFixed(0)} µs/request\n`,
    );
    gw.kill('SIGTERM');
    await new Promise((r) => gw.once('exit', r));
  }
} finally {
  await backends.close();
}
