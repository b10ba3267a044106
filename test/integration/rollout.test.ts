/**
 * The rollout controller on the real embedded world (flags in files, real simulators, real
 * faults): a fault-free plan completes, a faulty new service is rolled back. Traffic is driven
 * sequentially and the controller's judgement is called between batches, so each run takes the
 * same path whatever the machine's load. Holds are short (200 ms).
 */
import t from 'tap';
import type { AuditResponse } from '../../src/admin/schemas.js';
import { AUTH, drive, driveUntil, faults, flagPercent, rolloutWorld } from '../helpers/rollout.js';

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
