/**
 * The rollout controller and the kill override on the real embedded world (flags in files,
 * real simulators, real faults). Traffic is driven sequentially and the controller's judgement
 * is called between batches (`tick()`; the background interval is set far out), so each run
 * takes the same path whatever the machine's load. Holds are short (200 ms).
 */
import t from 'tap';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startWorld, type World } from '../helpers/world.js';
import type { GatewayEvent } from '../../src/events/bus.js';
import type { AuditResponse } from '../../src/admin/schemas.js';
import type { RolloutState } from '../../src/rollout/schemas.js';

const TOKEN = 'test-admin-token-0123456789';
const AUTH = { authorization: `Bearer ${TOKEN}`, 'x-actor': 'alice' };
const SITE = 'electronics-spa';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const faults = (url: string, body: object) => fetch(`${url}/__faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

interface RolloutWorld extends World {
  events: GatewayEvent[];
  auditPath: string;
}

async function rolloutWorld(t: Parameters<typeof startWorld>[0], env: Record<string, string> = {}, rollouts: Parameters<typeof startWorld>[1] = {}): Promise<RolloutWorld> {
  const dir = await mkdtemp(join(tmpdir(), 'strangler-rollout-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const auditPath = join(dir, 'audit.jsonl');
  const w = await startWorld(t, rollouts, {
    ADMIN_TOKEN: TOKEN,
    AUDIT_LOG_PATH: auditPath,
    // judged by tick() below, not by the clock
    ROLLOUT_TICK_MS: '3600000',
    ROLLOUT_MIN_SAMPLES: '5',
    // millisecond latencies of two in-process arms are noise, not a regression: the p99 guardrail
    // is exercised with a real latency fault below, with its own floor
    ROLLOUT_P99_FLOOR_MS: '1000',
    ...env,
  });
  const events: GatewayEvent[] = [];
  w.app.gw.events.onEmit((e) => {
    if (e.type.startsWith('rollout.') || e.type.startsWith('kill.')) events.push(e);
  });
  return Object.assign(w, { events, auditPath });
}

let user = 0;
/** `n` product reads, each from a new user (x-user-id): the flag's percentage splits them. */
async function drive(w: World, n: number): Promise<Set<string>> {
  const routes = new Set<string>();
  for (let i = 0; i < n; i++) {
    const r = await w.app.inject({ url: `/api/v1/sites/${SITE}/products/1000001`, headers: { 'x-user-id': `shopper-${user++}` } });
    if (r.statusCode !== 200) throw new Error(`product read answered ${r.statusCode}: ${r.body}`);
    routes.add(String(r.headers['x-strangler-route']).split(',')[0]!);
  }
  return routes;
}

async function state(w: World, context = 'pricing'): Promise<RolloutState> {
  const r = await w.app.inject({ url: `/admin/rollouts/${context}`, headers: AUTH });
  if (r.statusCode !== 200) throw new Error(`GET rollout: ${r.statusCode} ${r.body}`);
  return r.json();
}

/** Drives traffic and judges until `until` holds (or gives up after `rounds`). */
async function driveUntil(w: World, until: (s: RolloutState) => boolean, rounds = 60, batch = 40): Promise<RolloutState> {
  for (let i = 0; i < rounds; i++) {
    await drive(w, batch);
    await w.app.gw.rollouts.controller.tick();
    const s = await state(w);
    if (until(s)) return s;
    if (i % 5 === 4) await sleep(50);
  }
  return state(w);
}

const flagPercent = async (w: World) => {
  const file = JSON.parse(await readFile(join(w.flagsDir, 'routes.json'), 'utf8')) as { features: { name: string; strategies: { parameters: { rollout: string } }[] }[] };
  return Number(file.features.find((f) => f.name === 'route.pricing')!.strategies[0]!.parameters.rollout);
};

t.test('fault-free plan 1,50,100 reaches 100 % and completes under sequential traffic', async (t) => {
  const w = await rolloutWorld(t);
  const start = await w.app.inject({ method: 'POST', url: '/admin/rollouts/pricing', headers: AUTH, payload: { steps: [1, 50, 100], hold: '200ms', reason: 'pricing service GA' } });
  t.equal(start.statusCode, 201, start.body);
  t.match(start.json(), { context: 'pricing', status: 'running', stepIndex: 0, percent: 1, holdMs: 200, actor: 'alice', history: [{ type: 'started', percent: 1, actor: 'alice' }] });
  t.equal(await flagPercent(w), 1, 'the first step is written to the flag file');

  const again = await w.app.inject({ method: 'POST', url: '/admin/rollouts/pricing', headers: AUTH, payload: { steps: [10, 100], hold: '1s' } });
  t.equal(again.statusCode, 409, 'a second start while one runs');
  t.match(again.headers['content-type'], /^application\/problem\+json/);
  t.equal(again.json().code, 'GW_ERR_ADMIN_ROLLOUT_CONFLICT');

  const done = await driveUntil(w, (s) => s.status !== 'running', 120);
  t.equal(done.status, 'completed', `completed (${done.reason}; guardrails ${JSON.stringify(done.guardrails)})`);
  t.equal(done.percent, 100);
  t.same(
    done.history.map((h) => [h.type, h.percent]),
    [['started', 1], ['step', 50], ['step', 100], ['completed', 100]],
  );
  t.equal(await flagPercent(w), 100, 'the flag file says 100 %');
  t.same([...(await drive(w, 5))], ['pricing=new'], 'every shopper on the new service');
  const last = done.guardrails;
  t.match(last.find((g) => g.name === 'errorRateDelta'), { ok: true }, 'the 100 % step judged the new arm against the previous step\'s legacy figures');
  t.match(last.find((g) => g.name === 'parityMismatchRate'), { value: null, ok: null }, 'no parity reader wired: reported, not blocking');
  t.same(
    w.events.map((e) => [e.type, e.data.percent, e.actor]),
    [
      ['rollout.started', 1, 'alice'],
      ['rollout.step', 50, 'rollout-controller'],
      ['rollout.step', 100, 'rollout-controller'],
      ['rollout.completed', 100, 'rollout-controller'],
    ],
  );
  const audit: AuditResponse = (await w.app.inject({ url: '/admin/audit?context=pricing', headers: AUTH })).json();
  const mine = audit.entries.filter((e) => e.actor === 'rollout-controller').reverse();
  t.same(
    mine.map((e) => [e.action, e.after.rollout]),
    [['route', 1], ['route', 50], ['route', 100], ['rollout', 100]],
    'every step through the flag source and the audit trail, with the controller as actor',
  );
  const list = (await w.app.inject({ url: '/admin/rollouts', headers: AUTH })).json();
  t.match(list, { rollouts: [{ context: 'pricing', status: 'completed' }] });
});

t.test('an error fault on the new pricing service rolls back before the second step, and says why', async (t) => {
  const w = await rolloutWorld(t);
  await faults(w.backends.pricing.url, { errorRate: 1 });
  const start = await w.app.inject({ method: 'POST', url: '/admin/rollouts/pricing', headers: AUTH, payload: { steps: [1, 50, 100], hold: '200ms' } });
  t.equal(start.statusCode, 201);
  const s = await driveUntil(w, (s) => s.status !== 'running' || s.stepIndex > 0, 120);
  t.equal(s.status, 'rolled_back', 'rolled back, not paused');
  t.equal(s.stepIndex, 0, 'before the second step');
  t.equal(s.percent, 0);
  t.match(s.reason, /^rolled back at 1 %: fallbackRate 100\.00 % over the threshold 2\.00 %/);
  t.match(s.guardrails.find((g) => g.name === 'fallbackRate'), { ok: false, value: 1 });
  t.equal(await flagPercent(w), 0, 'the flag file is back at 0 %');
  t.same([...(await drive(w, 10))], ['pricing=legacy'], 'nobody on the new arm');
  const rolled = w.events.find((e) => e.type === 'rollout.rolled_back');
  t.match(rolled, { context: 'pricing', actor: 'rollout-controller', data: { percent: 0, guardrail: { name: 'fallbackRate', ok: false } } });
  const audit: AuditResponse = (await w.app.inject({ url: '/admin/audit?context=pricing&limit=1', headers: AUTH })).json();
  t.match(audit.entries[0], { actor: 'rollout-controller', action: 'route', after: { rollout: 0 }, reason: /fallbackRate/ });
});

t.test('a latency fault on the new service trips the p99 ratio', async (t) => {
  const w = await rolloutWorld(t, { ROLLOUT_P99_FLOOR_MS: '100' });
  await faults(w.backends.pricing.url, { latencyMs: 400 });
  await w.app.inject({ method: 'POST', url: '/admin/rollouts/pricing', headers: AUTH, payload: { steps: [50, 100], hold: '200ms' } });
  const s = await driveUntil(w, (s) => s.status !== 'running' || s.stepIndex > 0, 20, 10);
  t.equal(s.status, 'rolled_back');
  t.match(s.reason, /p99Ratio/);
  t.ok((s.guardrails.find((g) => g.name === 'p99Ratio')!.value ?? 0) >= 4, 'at least 400 ms over a 100 ms floor');
});

t.test('pause holds the percent, resume judges afresh, abort goes back to 0 %; 404 and 409 otherwise', async (t) => {
  const w = await rolloutWorld(t);
  const none = await w.app.inject({ url: '/admin/rollouts/inventory', headers: AUTH });
  t.equal(none.statusCode, 404);
  t.equal(none.json().code, 'GW_ERR_ADMIN_ROLLOUT_NOT_FOUND');
  const unknown = await w.app.inject({ url: '/admin/rollouts/shipping', headers: AUTH });
  t.equal(unknown.json().code, 'GW_ERR_ADMIN_CONTEXT_NOT_FOUND');
  const bad = await w.app.inject({ method: 'POST', url: '/admin/rollouts/pricing', headers: AUTH, payload: { steps: [50, 10], hold: '1s' } });
  t.equal(bad.statusCode, 400, 'steps must increase');
  const badHold = await w.app.inject({ method: 'POST', url: '/admin/rollouts/pricing', headers: AUTH, payload: { steps: [10], hold: 'soon' } });
  t.equal(badHold.statusCode, 400, 'hold must be a duration');

  await w.app.inject({ method: 'POST', url: '/admin/rollouts/pricing', headers: AUTH, payload: { steps: [20, 100], hold: '100ms' } });
  const paused = await w.app.inject({ method: 'POST', url: '/admin/rollouts/pricing/pause', headers: AUTH, payload: { reason: 'checking dashboards' } });
  t.equal(paused.statusCode, 200);
  t.match(paused.json(), { status: 'paused', percent: 20, reason: 'checking dashboards' });
  const s1 = await driveUntil(w, () => false, 3, 30);
  t.match(s1, { status: 'paused', stepIndex: 0 }, 'a paused rollout does not advance, however long it holds');
  t.equal(await flagPercent(w), 20, 'and keeps its percent');
  t.equal((await w.app.inject({ method: 'POST', url: '/admin/rollouts/pricing/pause', headers: AUTH })).statusCode, 409, 'pause twice');

  const resumed = await w.app.inject({ method: 'POST', url: '/admin/rollouts/pricing/resume', headers: AUTH });
  t.match(resumed.json(), { status: 'running', reason: null });
  const aborted = await w.app.inject({ method: 'POST', url: '/admin/rollouts/pricing/abort', headers: AUTH, payload: { reason: 'wrong week' } });
  t.match(aborted.json(), { status: 'aborted', percent: 0, reason: 'wrong week' });
  t.equal(await flagPercent(w), 0);
  t.same(
    aborted.json().history.map((h: { type: string; actor: string }) => [h.type, h.actor]),
    [['started', 'alice'], ['paused', 'alice'], ['resumed', 'alice'], ['aborted', 'alice']],
  );
  t.same(
    w.events.map((e) => e.type),
    ['rollout.started', 'rollout.paused', 'rollout.resumed', 'rollout.aborted'],
  );
  t.equal((await w.app.inject({ method: 'POST', url: '/admin/rollouts/pricing/resume', headers: AUTH })).statusCode, 409, 'an aborted rollout cannot resume');
  const restart = await w.app.inject({ method: 'POST', url: '/admin/rollouts/pricing', headers: AUTH, payload: { steps: [5], hold: 0 } });
  t.equal(restart.statusCode, 201, 'a finished rollout can be started again');
});

t.test('kill override: legacy at once, while the flag source is broken, until cleared; audited', async (t) => {
  const w = await rolloutWorld(t, {}, { pricing: 100 });
  t.same([...(await drive(w, 3))], ['pricing=new']);
  // the flag source breaks: the file is no longer valid flags; routing runs on the last known
  await writeFile(join(w.flagsDir, 'routes.json'), '{ not json');
  await w.app.gw.flags.reload?.().catch(() => undefined);
  t.ok(w.app.gw.flags.lastError, `flag source failing: ${w.app.gw.flags.lastError}`);
  t.same([...(await drive(w, 3))], ['pricing=new'], 'last known flags stand');

  const set = await w.app.inject({ method: 'PUT', url: '/admin/routes/pricing/override', headers: AUTH, payload: { reason: 'prices wrong in prod' } });
  t.equal(set.statusCode, 200, set.body);
  t.match(set.json(), { context: 'pricing', override: 'legacy', reason: 'prices wrong in prod', actor: 'alice' });
  t.same([...(await drive(w, 5))], ['pricing=legacy'], 'every shopper back on legacy');
  t.match((await w.app.inject({ url: '/admin/overrides', headers: AUTH })).json(), { overrides: [{ context: 'pricing', override: 'legacy' }] });
  t.equal((await w.app.inject({ method: 'PUT', url: '/admin/routes/pricing/override', headers: AUTH, payload: {} })).statusCode, 400, 'a reason is required');

  const cleared = await w.app.inject({ method: 'DELETE', url: '/admin/routes/pricing/override', headers: AUTH });
  t.match(cleared.json(), { context: 'pricing', override: null, cleared: true });
  t.same([...(await drive(w, 3))], ['pricing=new'], 'the flag decides again');
  t.same((await w.app.inject({ url: '/admin/overrides', headers: AUTH })).json(), { overrides: [] });
  t.same(w.events.map((e) => [e.type, e.actor]), [['kill.set', 'alice'], ['kill.cleared', 'alice']]);
  const audit: AuditResponse = (await w.app.inject({ url: '/admin/audit?context=pricing', headers: AUTH })).json();
  t.match(audit.entries.slice(0, 2), [
    { action: 'override', actor: 'alice', reason: 'override cleared' },
    { action: 'override', actor: 'alice', reason: /override set: legacy: prices wrong in prod/ },
  ]);
});
