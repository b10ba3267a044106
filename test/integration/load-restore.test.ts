/**
 * The load harness against an existing gateway (`GATEWAY_URL`) leaves it as it found it: the
 * routing it read first is put back when the run ends or is interrupted (SIGINT), and each of
 * its changes is in the gateway's audit trail under its own name. The harness runs as an
 * operator runs it (`npm run load -- flip-under-load`, a child process) with a short load.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startWorld, type World } from '../helpers/world.js';
import type { AuditEntry, AuditResponse, RoutesResponse } from '../../src/admin/schemas.js';

const TOKEN = 'load-restore-admin-token-0123456789';
const NO_SHED = { SHED_EVENT_LOOP_DELAY_MS: '0' };

t.setTimeout(300_000);

async function gateway(t: { teardown(fn: () => unknown): void }): Promise<{ w: World; url: string; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'strangler-load-restore-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const w = await startWorld(t, {}, { ...NO_SHED, ADMIN_TOKEN: TOKEN, AUDIT_LOG_PATH: join(dir, 'audit.jsonl') });
  await w.app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = w.app.server.address() as { port: number };
  // the state the harness finds: an operator has pricing at 30 %
  const r = await w.app.inject({ method: 'PUT', url: '/admin/routes/pricing', headers: { authorization: `Bearer ${TOKEN}`, 'x-actor': 'alice' }, payload: { percent: 30 } });
  if (r.statusCode !== 200) throw new Error(`setup: ${r.statusCode} ${r.body}`);
  return { w, url: `http://127.0.0.1:${port}`, dir };
}

async function routes(w: World): Promise<Record<string, { enabled: boolean; rollout: number | null }>> {
  const r = await w.app.inject({ url: '/admin/routes', headers: { authorization: `Bearer ${TOKEN}` } });
  const body = r.json<RoutesResponse>();
  return Object.fromEntries(body.routes.map((v) => [v.context, { enabled: v.enabled, rollout: v.rollout }]));
}

async function audit(w: World): Promise<AuditEntry[]> {
  const r = await w.app.inject({ url: '/admin/audit?limit=50', headers: { authorization: `Bearer ${TOKEN}` } });
  return r.json<AuditResponse>().entries;
}

function harness(url: string, reportDir: string, durationS: number) {
  const { NODE_OPTIONS: _n, FLAGS_DIR: _f, LEGACY_URL: _l, PRICING_URL: _p, GATEWAY_PID: _g, ...base } = process.env;
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'load-tests/run.ts', 'flip-under-load', '--duration', String(durationS), '--connections', '2', '--warmup', '0', '--report-dir', reportDir],
    { cwd: process.cwd(), env: { ...base, GATEWAY_URL: url, ADMIN_TOKEN: TOKEN }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, output: () => output };
}

t.test('a finished run puts the flags back and names itself in the audit trail', async (t) => {
  const { w, url, dir } = await gateway(t);
  const found = await routes(w);
  t.same(found.pricing, { enabled: true, rollout: 30 });

  const h = harness(url, join(dir, 'reports'), 2);
  const code = await h.exited;
  t.equal(code, 0, h.output().slice(-2000));
  t.same(await routes(w), found, 'every context routes as it did before the run');

  const entries = (await audit(w)).reverse(); // oldest first
  t.same(
    entries.map((e) => [e.actor, e.context, e.requested?.percent]),
    [
      ['alice', 'pricing', 30],
      ['load-test flip-under-load', 'pricing', 0], // the scenario's starting state
      ['load-test flip-under-load', 'pricing', 100], // the flip
      ['load-test flip-under-load', 'pricing', 30], // put back
    ],
    'only pricing was changed (the others already were at 0 %), each change under the harness name',
  );
  t.notOk(entries.some((e) => e.actor === 'unknown'), 'no anonymous change');
});

t.test('an interrupted run (SIGINT) puts the flags back too', async (t) => {
  const { w, url, dir } = await gateway(t);
  const found = await routes(w);
  const h = harness(url, join(dir, 'reports'), 60);
  // wait for the scenario's starting state (pricing 0 %) to be in force, then interrupt
  const deadline = Date.now() + 120_000;
  while (!(await audit(w)).some((e) => e.actor.startsWith('load-test') && e.requested?.percent === 0)) {
    if (Date.now() > deadline) t.fail(`the harness never changed the flags:\n${h.output().slice(-2000)}`);
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  h.child.kill('SIGINT');
  t.equal(await h.exited, 130, 'the harness stops on SIGINT');
  t.same(await routes(w), found, 'pricing is back at 30 %');
  const [last] = await audit(w);
  t.match(last, { actor: 'load-test flip-under-load', context: 'pricing', requested: { percent: 30 } }, 'put back under the harness name');
});
