/**
 * A 2-second smoke of the load harness (load-tests/, issue 6): the runner starts the embedded
 * world as child processes, loads the gateway's passthrough, writes a JSON report and leaves no
 * process behind. The benchmarks themselves never run in `npm test`.
 */
import t from 'tap';
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

t.test('npm run load -- passthrough (2 s) writes a report with requests and no errors', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'load-smoke-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  // A clean environment. tap's processinfo re-adds its NODE_OPTIONS to every spawn, so the
  // runner is started through `env -u NODE_OPTIONS`: the harness is a tool, not product code,
  // and coverage hooks in the measured processes would only slow them down.
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: process.env.TMPDIR };
  const args = ['--import', 'tsx', 'load-tests/run.ts', 'passthrough', '--duration', '2', '--warmup', '0', '--connections', '4', '--log-level', 'warn', '--report-dir', dir];
  const out = await new Promise<{ code: number | null; text: string }>((resolve) => {
    const child = spawn('env', ['-u', 'NODE_OPTIONS', process.execPath, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (d: Buffer) => (text += d.toString()));
    child.stderr.on('data', (d: Buffer) => (text += d.toString()));
    child.on('exit', (code) => resolve({ code, text }));
  });
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
