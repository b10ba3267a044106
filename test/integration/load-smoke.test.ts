/**
 * A 2-second smoke of the load harness (load-tests/, issue 6): the runner starts the embedded
 * world as child processes, loads the gateway's passthrough, writes a JSON report and leaves no
 * process behind. The benchmarks themselves never run in `npm test`.
 */
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

interface Report {
  scenario: string;
  result: { requests: number; errors: number; non2xx: number; seconds: unknown[] };
  processes: { name: string; pid: number }[];
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** `npm run load -- <args>` in a clean environment, with reports in a temporary directory. */
async function runLoad(t: Test, args: string[]): Promise<{ code: number | null; text: string; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'load-smoke-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  // A clean environment. tap's processinfo re-adds its NODE_OPTIONS to every spawn, so the
  // runner is started through `env -u NODE_OPTIONS`: the harness is a tool, not product code,
  // and coverage hooks in the measured processes would only slow them down.
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: process.env.TMPDIR };
  const argv = ['--import', 'tsx', 'load-tests/run.ts', ...args, '--report-dir', dir];
  return new Promise((resolve) => {
    const child = spawn('env', ['-u', 'NODE_OPTIONS', process.execPath, ...argv], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (d: Buffer) => (text += d.toString()));
    child.stderr.on('data', (d: Buffer) => (text += d.toString()));
    child.on('exit', (code) => resolve({ code, text, dir }));
  });
}

t.test('npm run load -- passthrough (2 s) writes a report with requests and no errors', async (t) => {
  const out = await runLoad(t, ['passthrough', '--duration', '2', '--warmup', '0', '--connections', '4', '--log-level', 'warn']);
  const dir = out.dir;
  t.equal(out.code, 0, 'runner exits 0', { output: out.text.slice(-4000) });
  const json = (await readdir(dir)).filter((f) => f.startsWith('passthrough-') && f.endsWith('.json'));
  t.equal(json.length, 1, 'one JSON report');
  t.ok((await readdir(dir)).some((f) => f.endsWith('.html')), 'an HTML report');
  const report = JSON.parse(await readFile(join(dir, json[0]!), 'utf8')) as Report;
  t.equal(report.scenario, 'passthrough');
  t.ok(report.result.requests > 0, `requests > 0 (${report.result.requests})`);
  t.equal(report.result.errors, 0, 'no connection errors');
  t.ok(report.result.seconds.length >= 1, 'a per-second timeline');
  const children = report.processes.filter((p) => p.pid > 0 && p.pid !== process.pid && p.name !== 'harness');
  t.ok(children.length >= 3, 'legacy, services and gateway were separate processes');
  for (const p of children) t.notOk(alive(p.pid), `${p.name} (pid ${p.pid}) was stopped`);
});

interface CompareReport {
  kind: string;
  measurements: { target: string; round: number; rps: number; non2xx: number; errors: number; pid?: number }[];
}

t.test('compare mode runs every round on proxy processes started for it, and stops them all', async (t) => {
  const out = await runLoad(t, ['compare', '--rounds', '2', '--duration', '1', '--warmup', '0', '--connections', '4', '--no-wrk', '--no-nginx', '--log-level', 'warn']);
  t.equal(out.code, 0, 'runner exits 0', { output: out.text.slice(-4000) });
  const json = (await readdir(out.dir)).filter((f) => f.startsWith('compare-') && f.endsWith('.json'));
  t.equal(json.length, 1, 'one JSON report');
  const report = JSON.parse(await readFile(join(out.dir, json[0]!), 'utf8')) as CompareReport;
  t.equal(report.kind, 'compare');
  const of = (target: string, round: number) => report.measurements.find((m) => m.target === target && m.round === round);
  for (const target of ['legacy', 'gateway', 'bare', 'composed']) {
    for (const round of [1, 2]) {
      const m = of(target, round);
      t.ok(m && m.rps > 0 && m.non2xx === 0 && m.errors === 0, `${target}, round ${round}: answered, no errors`);
    }
  }
  for (const target of ['gateway', 'bare']) {
    const [a, b] = [of(target, 1)?.pid, of(target, 2)?.pid];
    t.ok(a && b && a !== b, `${target}: a new process in round 2 (pids ${a}, ${b})`);
    for (const pid of [a, b]) if (pid) t.notOk(alive(pid), `${target} pid ${pid} was stopped`);
  }
  t.equal(of('composed', 2)?.pid, of('gateway', 2)?.pid, 'the composed product is measured on the same gateway process as the passthrough of its round');
});
