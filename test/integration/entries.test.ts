/**
 * The two process entries. Production (`src/server.ts`) never starts a simulator: an upstream
 * whose URL is unset is a configuration error naming the variable, reported before anything
 * listens. The embedded entry (`src/embedded.ts`, `npm start`) is the one that fills the gaps
 * with simulators (it binds the fixed ports 8080-8084, so it is not spawned here: the shared test
 * machine may have them taken).
 */
import t from 'tap';
import { spawn } from 'node:child_process';

const URL_VARS = ['LEGACY_URL', 'PRICING_URL', 'INVENTORY_URL', 'PROMOTIONS_URL'];

function runProduction(set: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0', ...set };
  for (const k of URL_VARS) if (!(k in set)) delete env[k];
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d.toString()));
  child.stderr.on('data', (d) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((resolve) =>
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}

t.test('production with no upstream configured refuses to start and names every missing variable', async (t) => {
  const r = await runProduction({});
  t.equal(r.code, 78, 'exit 78 (EX_CONFIG)');
  for (const v of URL_VARS) t.match(r.stderr, new RegExp(`^  - ${v}: required`, 'm'), `${v} named`);
  t.notMatch(r.stdout, /listening on/, 'nothing listened');
});

t.test('production with one upstream missing names only that one', async (t) => {
  const r = await runProduction({ LEGACY_URL: 'http://127.0.0.1:1', INVENTORY_URL: 'http://127.0.0.1:1', PROMOTIONS_URL: 'http://127.0.0.1:1' });
  t.equal(r.code, 78);
  t.match(r.stderr, /PRICING_URL: required/);
  t.notMatch(r.stderr, /LEGACY_URL|INVENTORY_URL|PROMOTIONS_URL/, 'configured upstreams are not reported');
});
