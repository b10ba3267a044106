/**
 * The gateway's stdout log sink (bufferedStdout): lines are batched, yet none is lost when the
 * process exits, normally or by a crash, right after writing them.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

const LOGGER = pathToFileURL(resolve('src/observability/logger.ts')).href;

function run(body: string): Promise<{ code: number | null; stdout: string }> {
  const script = `import { bufferedStdout } from ${JSON.stringify(LOGGER)};\nconst out = bufferedStdout();\n${body}`;
  return new Promise((done) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'ignore'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.on('close', (code) => done({ code, stdout }));
  });
}

t.test('lines waiting in the batch are written when the process exits at once', async (t) => {
  const r = await run(`for (let i = 0; i < 5; i++) out.write('{"n":' + i + '}\\n');\nprocess.exit(0);`);
  t.equal(r.code, 0);
  t.same(r.stdout.trim().split('\n'), ['{"n":0}', '{"n":1}', '{"n":2}', '{"n":3}', '{"n":4}']);
});

t.test('and when it dies of an uncaught error', async (t) => {
  const r = await run(`out.write('{"last":"words"}\\n');\nthrow new Error('boom');`);
  t.not(r.code, 0);
  t.equal(r.stdout, '{"last":"words"}\n');
});

t.test('a large burst is written whole and in order', async (t) => {
  const r = await run(`for (let i = 0; i < 5000; i++) out.write(JSON.stringify({ i, pad: 'x'.repeat(100) }) + '\\n');\nprocess.exit(0);`);
  const lines = r.stdout.trim().split('\n');
  t.equal(lines.length, 5000);
  t.ok(lines.every((l, i) => (JSON.parse(l) as { i: number }).i === i), 'every line, in order');
});

t.test('an idle logger writes within the flush interval, without waiting for more lines', async (t) => {
  const r = await run(`out.write('{"alone":true}\\n');\nsetTimeout(() => { process.stdout.write('MARK\\n'); process.exit(0); }, 500);`);
  t.equal(r.stdout, '{"alone":true}\nMARK\n', 'written by the timer, before the exit');
});
