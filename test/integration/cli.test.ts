/**
 * The `strangler` CLI as an operator runs it: `node bin/strangler.js …` in a child process
 * against a listening gateway over the embedded world. Output is checked as a user reads it,
 * exit codes as a script reads them. Argument handling without a gateway: test/unit/cli.test.ts.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startWorld } from '../helpers/world.js';
import { bundledLauncher } from '../helpers/cli.js';
import type { AuditResponse, ChangeResponse, RoutesResponse } from '../../src/admin/schemas.js';

const TOKEN = 'cli-admin-token-0123456789';
/** Load shedding is tested on its own; here a loaded CI machine must not turn answers into 503s. */
const NO_SHED = { SHED_EVENT_LOOP_DELAY_MS: '0' };
/** The launcher in the checkout: runs dist/cli/strangler.mjs when built, else the source via tsx. */
const CHECKOUT_BIN = join(process.cwd(), 'bin', 'strangler.js');
/** What an operator runs after `npm run build`: the launcher next to a fresh bundle (set below). */
let BIN = '';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function strangler(args: string[], env: Record<string, string | undefined>, bin = BIN): Promise<Run> {
  // Not tap's loaders or coverage hooks: run the launcher as a user's shell would.
  const { NODE_OPTIONS: _l, ADMIN_TOKEN: _a, GATEWAY_URL: _g, ...base } = process.env;
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { env: { ...base, ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

// The source path pays for tsx's start-up; on a loaded 2-core machine that adds up.
t.setTimeout(400_000);

t.before(async () => {
  BIN = await bundledLauncher(t);
});

t.test('the launcher runs the bundled build when there is one, and the source without it', async (t) => {
  // BIN has no src/ and no node_modules beside it: only the bundle can answer.
  const built = await strangler(['--help'], {});
  t.equal(built.code, 0, built.stderr);
  t.match(built.stdout, /^usage: strangler <command>/);
  const source = await strangler(['--help'], { STRANGLER_CLI_SOURCE: '1' });
  t.not(source.code, 0, 'STRANGLER_CLI_SOURCE=1 there looks for src/, which is not there');
  // The checkout's launcher, forced onto the TypeScript source (a checkout without a build).
  const checkout = await strangler(['--help'], { STRANGLER_CLI_SOURCE: '1' }, CHECKOUT_BIN);
  t.equal(checkout.code, 0, checkout.stderr);
  t.equal(checkout.stdout, built.stdout, 'the source and the bundle are the same CLI');
});

t.test('status, route, kill, audit against a running gateway', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'strangler-cli-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const w = await startWorld(t, {}, { ...NO_SHED, ADMIN_TOKEN: TOKEN, AUDIT_LOG_PATH: join(dir, 'audit.jsonl') });
  await w.app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = w.app.server.address() as { port: number };
  const env = { GATEWAY_URL: `http://127.0.0.1:${port}`, ADMIN_TOKEN: TOKEN };
  const routeOf = async (user: string) =>
    (await w.app.inject({ url: '/api/v1/sites/electronics-spa/products/1000001', headers: { 'x-user-id': user } })).headers['x-strangler-route'];

  const status = await strangler(['status'], env);
  t.equal(status.code, 0, status.stderr);
  const lines = status.stdout.trimEnd().split('\n');
  t.match(lines[0], `gateway  http://127.0.0.1:${port}`);
  t.match(lines[1], `flags    file: ${w.flagsDir}`);
  const header = lines.find((l) => l.startsWith('CONTEXT'));
  t.match(header, /^CONTEXT +FLAG +STATE +ROLLOUT +STICKINESS +CONSTRAINTS +SOURCE +BREAKER new\/legacy +REQ\/S +ERR%$/);
  t.match(status.stdout, /^pricing +route\.pricing +on +0% +default +- +file +\S+ +\d+\.\d +\d+\.\d%$/m, 'one row per context, with its traffic of the last minute');
  t.match(status.stdout, /^inventory +route\.inventory /m);
  t.match(status.stdout, /^promotions +route\.promotions /m);

  const json = await strangler(['status', '--json'], env);
  t.equal(json.code, 0);
  const routes = JSON.parse(json.stdout) as RoutesResponse;
  t.equal(routes.routes.length, 3);
  t.equal(routes.source, 'file');

  const flip = await strangler(
    ['route', 'pricing', '--percent', '100', '--stickiness', 'userId', '--site', 'electronics-spa', '--reason', 'canary ok', '--actor', 'alice'],
    env,
  );
  t.equal(flip.code, 0, flip.stderr);
  t.match(flip.stdout, /^pricing: on 0% {2}-> {2}on 100% userId baseSiteId IN electronics-spa$/m);
  t.match(flip.stdout, /route\.pricing written to .*routes\.json; in force now/);
  t.match(flip.stdout, /recorded .* by alice \("canary ok"\), audit id [0-9a-f-]{36}/);
  t.match(await routeOf('u-1'), /pricing=new/, 'routing follows the CLI');

  const after = await strangler(['status'], env);
  t.match(after.stdout, /^pricing +route\.pricing +on +100% +userId +baseSiteId IN electronics-spa +file /m);

  const jsonFlip = await strangler(['route', 'inventory', '--percent', '25', '--json', '--actor', 'bot'], env);
  t.equal(jsonFlip.code, 0);
  t.match((JSON.parse(jsonFlip.stdout) as ChangeResponse).change, { context: 'inventory', actor: 'bot', after: { rollout: 25 } });

  const kill = await strangler(['kill', 'pricing', '--reason', 'pricing 5xx'], env);
  t.equal(kill.code, 0, kill.stderr);
  t.match(kill.stdout, /^pricing: KILLED, every request goes to legacy \(was on 100% userId baseSiteId IN electronics-spa, now off 0% userId baseSiteId IN electronics-spa\)$/m);
  t.match(await routeOf('u-1'), /pricing=legacy/);

  const audit = await strangler(['audit'], env);
  t.equal(audit.code, 0, audit.stderr);
  const rows = audit.stdout.trimEnd().split('\n');
  t.match(rows[0], /^WHEN \(UTC\) +ACTOR +ACTION +CONTEXT +BEFORE +AFTER +SOURCE +REASON$/);
  t.equal(rows.length, 4, 'header and three changes');
  t.match(rows[1], /kill +pricing +on 100% .* +off 0% .* +admin +pricing 5xx$/);
  t.match(rows[2], / bot +route +inventory +on 0% +on 25% +admin +-$/);
  t.match(rows[3], / alice +route +pricing +on 0% +on 100% userId .* +canary ok$/);
  const auditJson = JSON.parse((await strangler(['audit', '--json', '--limit', '1', '--context', 'pricing'], env)).stdout) as AuditResponse;
  t.same(
    auditJson.entries.map((e) => e.action),
    ['kill'],
  );
  t.equal(auditJson.entries[0]!.actor, process.env.USER ?? auditJson.entries[0]!.actor, 'the actor defaults to the OS user');

  await t.test('errors: clear message, non-zero exit', async (t) => {
    const wrong = await strangler(['status'], { ...env, ADMIN_TOKEN: 'wrong-token-0123456789' });
    t.equal(wrong.code, 3, 'wrong token');
    t.match(wrong.stderr, /^strangler: the gateway at http:\/\/127\.0\.0\.1:\d+ rejected the admin token \(GW_ERR_ADMIN_UNAUTHORIZED: invalid bearer token\); check ADMIN_TOKEN$/m);
    t.equal(wrong.stdout, '');

    const unknown = await strangler(['route', 'checkout', '--percent', '5'], env);
    t.equal(unknown.code, 4, 'unknown context');
    t.match(unknown.stderr, /unknown context "checkout" \(known: pricing, inventory, promotions\)/);

    const badSite = await strangler(['route', 'pricing', '--percent', '5', '--site', 'Not A Site'], env);
    t.equal(badSite.code, 2, 'the gateway rejects a malformed site');
    t.match(badSite.stderr, /rejected: invalid body: .*site.* \(GW_ERR_REQUEST_INVALID\)/);

    const port = await closedPort();
    const down = await strangler(['status'], { ADMIN_TOKEN: TOKEN, GATEWAY_URL: `http://127.0.0.1:${port}` });
    t.equal(down.code, 5, 'unreachable gateway');
    t.match(down.stderr, new RegExp(`^strangler: cannot reach the gateway at http://127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\)\\. Is it running\\? Set GATEWAY_URL or --gateway\\.$`, 'm'));
  });
});

t.test('a gateway without ADMIN_TOKEN: the CLI says the admin API is disabled', async (t) => {
  const w = await startWorld(t, {}, NO_SHED);
  await w.app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = w.app.server.address() as { port: number };
  const r = await strangler(['kill', 'pricing'], { ADMIN_TOKEN: TOKEN, GATEWAY_URL: `http://127.0.0.1:${port}` });
  t.equal(r.code, 3);
  t.match(r.stderr, /the admin API of http:\/\/127\.0\.0\.1:\d+ is disabled \(GW_ERR_ADMIN_DISABLED\): start the gateway with ADMIN_TOKEN set/);
});
