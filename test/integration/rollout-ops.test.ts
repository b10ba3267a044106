/**
 * Rollouts under an operator's hand and the p99 guardrail on the real embedded world: pause,
 * resume, abort, 404/409, a real latency fault, and the kill override while the flag source is
 * broken. See test/integration/rollout.test.ts (plans that complete and roll back) and
 * rollout-cli.test.ts (the CLI, and a rollback the flag source cannot take).
 */
import t from 'tap';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AuditResponse } from '../../src/admin/schemas.js';
import { AUTH, drive, driveUntil, faults, flagPercent, rolloutWorld } from '../helpers/rollout.js';

t.test('a latency fault on the new service trips the p99 ratio', async (t) => {
  const w = await rolloutWorld(t, { ROLLOUT_P99_FLOOR_MS: '100' });
  await faults(w.backends.pricing.url, { latencyMs: 300 });
  await w.app.inject({ method: 'POST', url: '/admin/rollouts/pricing', headers: AUTH, payload: { steps: [50, 100], hold: '200ms' } });
  const s = await driveUntil(w, (s) => s.status !== 'running' || s.stepIndex > 0, 20, 10);
  t.equal(s.status, 'rolled_back');
  t.match(s.reason, /p99Ratio/);
  t.ok((s.guardrails.find((g) => g.name === 'p99Ratio')!.value ?? 0) >= 3, 'at least 300 ms over a 100 ms floor');
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

t.test("a rollout's own guardrails: kept with it, shown before the first judgement, and what it is judged by", async (t) => {
  // the helper's gateway floor (1000 ms) hides a 300 ms latency fault: the gateway's limits alone would let it pass
  const w = await rolloutWorld(t);
  await faults(w.backends.pricing.url, { latencyMs: 300 });
  const bad = await Promise.all(
    [{ p99Ratio: { threshold: -1 } }, { latency: { threshold: 2 } }, { p99Ratio: { minSamples: 0 } }, { fallbackRate: { threshold: 2 } }].map((guardrails) =>
      w.app.inject({ method: 'POST', url: '/admin/rollouts/pricing', headers: AUTH, payload: { steps: [50, 100], hold: 0, guardrails } }),
    ),
  );
  for (const r of bad) {
    t.equal(r.statusCode, 400, r.body);
    t.equal(r.headers['content-type'], 'application/problem+json; charset=utf-8');
    t.equal(r.json().code, 'GW_ERR_REQUEST_INVALID');
  }
  t.equal(await flagPercent(w), 0, 'a refused start writes no flag');

  const started = await w.app.inject({
    method: 'POST',
    url: '/admin/rollouts/pricing',
    headers: AUTH,
    payload: { steps: [50, 100], hold: 0, guardrails: { p99Ratio: { minSamples: 12 }, p99FloorMs: 100, errorRateDelta: { threshold: 0.05 } } },
  });
  t.equal(started.statusCode, 201, started.body);
  const s0 = started.json();
  t.same(s0.limits, {
    errorRateDelta: { threshold: 0.05, minSamples: 3 },
    p99Ratio: { threshold: 1.5, minSamples: 12 },
    fallbackRate: { threshold: 0.02, minSamples: 3 },
    parityMismatchRate: { threshold: 0.005, minSamples: 3 },
    p99FloorMs: 100,
  }, "the start's limits over the gateway's, field by field");
  t.match(w.events.find((e) => e.type === 'rollout.started')?.data, { percent: 50, steps: [50, 100], holdMs: 0, limits: { p99FloorMs: 100, p99Ratio: { minSamples: 12 } } }, 'the started event carries the plan and the limits');
  t.same(
    s0.guardrails.map((g: { name: string; samples: number; minSamples: number; ok: null }) => [g.name, g.samples, g.minSamples, g.ok]),
    [['errorRateDelta', 0, 3, null], ['p99Ratio', 0, 12, null], ['fallbackRate', 0, 3, null], ['parityMismatchRate', 0, 3, null]],
    'every guardrail waiting before the first judgement',
  );
  // 4 reads per arm (50 %): the other guardrails have their 3, the p99 has not its 12
  await drive(w, 8);
  await w.app.gw.rollouts.controller.tick();
  const early = (await w.app.inject({ url: '/admin/rollouts/pricing', headers: AUTH })).json();
  const p99 = early.guardrails.find((g: { name: string }) => g.name === 'p99Ratio');
  t.ok(p99.samples < 12, `p99 samples ${p99.samples}: the smaller arm of 8 reads`);
  t.equal(p99.ok, null, 'the p99 waits for its own minimum');
  t.equal(early.status, 'running');
  const s = await driveUntil(w, (s) => s.status !== 'running' || s.stepIndex > 0, 20, 10);
  t.equal(s.status, 'rolled_back', 'judged by its own 100 ms floor, not the gateway\'s 1000');
  t.match(s.reason, /p99Ratio/);
  t.ok(s.guardrails.find((g) => g.name === 'p99Ratio')!.samples >= 12);
});

t.test("a running rollout's limits changed in place: judged by them from the next tick, audited, announced; refused once it is over", async (t) => {
  const w = await rolloutWorld(t);
  const none = await w.app.inject({ method: 'PUT', url: '/admin/rollouts/pricing/limits', headers: AUTH, payload: { guardrails: { p99FloorMs: 10 } } });
  t.equal(none.statusCode, 404, 'no rollout: nothing to change');
  // errors on the new arm, but a lax error-rate delta and fallback rate: the rollout holds at 50 %
  await w.app.inject({ method: 'POST', url: '/admin/rollouts/pricing', headers: AUTH, payload: { steps: [50, 100], hold: '1h', guardrails: { errorRateDelta: { threshold: 1 }, fallbackRate: { threshold: 1 } } } });
  await faults(w.backends.pricing.url, { errorRate: 1 });
  const lax = await driveUntil(w, () => false, 3, 20);
  t.match(lax, { status: 'running', percent: 50 }, 'every new-arm read falls back, within the lax limits');
  t.equal(lax.guardrails.find((g) => g.name === 'fallbackRate')!.value, 1);

  const bad = await w.app.inject({ method: 'PUT', url: '/admin/rollouts/pricing/limits', headers: AUTH, payload: { guardrails: { fallbackRate: { threshold: 5 } } } });
  t.equal(bad.statusCode, 400);
  t.equal(bad.json().code, 'GW_ERR_REQUEST_INVALID');
  const changed = await w.app.inject({ method: 'PUT', url: '/admin/rollouts/pricing/limits', headers: AUTH, payload: { guardrails: { fallbackRate: { threshold: 0.02 } }, reason: 'the GA limits' } });
  t.equal(changed.statusCode, 200, changed.body);
  const c = changed.json();
  t.match(c, { status: 'running', percent: 50, limits: { fallbackRate: { threshold: 0.02, minSamples: 3 }, errorRateDelta: { threshold: 1 } } }, "over the rollout's current limits, not the gateway's");
  t.match(c.guardrails.find((g: { name: string }) => g.name === 'fallbackRate'), { threshold: 0.02, value: 1, ok: false }, 'the last judgement shown against the new limits');
  t.match(c.history.at(-1), { type: 'limits_changed', actor: 'alice', reason: 'the GA limits' });
  t.match(w.events.at(-1), { type: 'rollout.limits_changed', actor: 'alice', data: { percent: 50, limits: { fallbackRate: { threshold: 0.02 } } } });

  await w.app.gw.rollouts.controller.tick();
  const s = (await w.app.inject({ url: '/admin/rollouts/pricing', headers: AUTH })).json();
  t.equal(s.status, 'rolled_back', 'the next judgement uses them');
  t.match(s.reason, /fallbackRate 100\.00 % over the threshold 2\.00 %/);
  t.equal(await flagPercent(w), 0);
  const audit = (await w.app.inject({ url: '/admin/audit?context=pricing&limit=10', headers: AUTH })).json<AuditResponse>();
  t.ok(
    audit.entries.some((e) => e.action === 'rollout' && /^rollout limits changed \(errorRateDelta 1\/3, p99Ratio 1\.5\/3, fallbackRate 0\.02\/3, parityMismatchRate 0\.005\/3, p99 floor 1000 ms\) by alice: the GA limits$/.test(e.reason ?? '')),
    'the audit trail has the change, the limits in full and who made it',
  );
  const late = await w.app.inject({ method: 'PUT', url: '/admin/rollouts/pricing/limits', headers: AUTH, payload: { guardrails: { p99FloorMs: 10 } } });
  t.equal(late.statusCode, 409);
  t.match(late.json().detail, /rolled_back: cannot change its limits/);
});
