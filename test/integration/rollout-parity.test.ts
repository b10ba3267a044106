/**
 * Issue 21, Done when (docs/rollouts.md, docs/parity.md): shadow parity and the rollout
 * controller together on the embedded world. A 2 % value fault in the new pricing service is
 * flagged by the shadow comparison within the first 500 shadowed reads, and the
 * parityMismatchRate guardrail rolls pricing back at the first step, so only ~1 % of shoppers
 * ever reach the new arm; the audit trail and the bus events name the guardrail. Without the
 * fault the same plan reaches 100 % with zero mismatches.
 *
 * Traffic is sequential (no coalescing or batching can merge reads and dilute the fault), each
 * read from a new shopper (x-user-id) and a SKU cycling over 40, and the controller is judged by
 * tick() between batches once every shadow call of the batch has its verdict.
 */
import t from 'tap';
import type { AuditResponse } from '../../src/admin/schemas.js';
import type { GatewayEvent } from '../../src/events/bus.js';
import type { ParityCounts } from '../../src/parity/types.js';
import type { RolloutState } from '../../src/rollout/schemas.js';
import { AUTH, SITE, faults, flagPercent, rolloutWorld, sleep, state, type RolloutWorld } from '../helpers/rollout.js';

const SKUS = Array.from({ length: 40 }, (_, i) => String(1000001 + i));
const PLAN = [1, 5, 25, 50, 100];
const ENV = {
  SHADOW_PRICING_PERCENT: '100',
  SHADOW_MAX_PER_SECOND: '100000',
  SHADOW_MAX_CONCURRENT: '256',
  SHADOW_MAX_EVENT_LOOP_DELAY_MS: '0', // comparisons counted exactly: no shedding on a busy test machine
  // 10 samples per guardrail: at 1 % the first step needs ~1000 reads before it may advance, by
  // which time a 2 % fault has produced ~20 mismatches in ~1000 comparisons (threshold 0.5 %)
  ROLLOUT_MIN_SAMPLES: '10',
};
const BATCH = 25;

const verdicts = (c: ParityCounts) => c.match + c.mismatch + c.noise + c.error + c.shed;

interface Traffic {
  reads: number;
  shoppers: Map<string, string>; // x-user-id -> pricing arm it was served by
  /** shadowed reads (verdicts) when the first mismatch was counted */
  firstMismatchAt: number | null;
}

async function settled(w: RolloutWorld, n: number): Promise<ParityCounts> {
  for (let i = 0; i < 1500; i++) {
    const c = w.app.gw.parity!.counts('pricing');
    if (verdicts(c) >= n) return c;
    await sleep(10);
  }
  throw new Error(`pricing: ${verdicts(w.app.gw.parity!.counts('pricing'))} verdicts, waited for ${n}`);
}

/** One batch of sequential product reads, each from a new shopper; waits for every verdict. */
async function batch(w: RolloutWorld, tr: Traffic, tag: string): Promise<void> {
  for (let i = 0; i < BATCH; i++) {
    const user = `${tag}-shopper-${tr.shoppers.size}`;
    const sku = SKUS[tr.reads % SKUS.length]!;
    const r = await w.app.inject({ url: `/api/v1/sites/${SITE}/products/${sku}`, headers: { 'x-user-id': user } });
    if (r.statusCode !== 200) throw new Error(`product read answered ${r.statusCode}: ${r.body}`);
    const route = String(r.headers['x-strangler-route']).split(',').map((s) => s.trim()).find((s) => s.startsWith('pricing='));
    if (!route) throw new Error(`no pricing route in x-strangler-route: ${String(r.headers['x-strangler-route'])}`);
    tr.shoppers.set(user, route.slice('pricing='.length));
    tr.reads++;
  }
  // every read is shadowed (100 %): one verdict per read before the controller judges
  const c = await settled(w, tr.reads);
  if (tr.firstMismatchAt === null && c.mismatch > 0) tr.firstMismatchAt = verdicts(c);
}

async function rollUntil(w: RolloutWorld, tr: Traffic, tag: string, until: (s: RolloutState) => boolean, maxReads: number): Promise<RolloutState> {
  while (tr.reads < maxReads) {
    await batch(w, tr, tag);
    await w.app.gw.rollouts.controller.tick();
    const s = await state(w);
    if (until(s)) return s;
  }
  return state(w);
}

const newShare = (tr: Traffic) => [...tr.shoppers.values()].filter((a) => a === 'new').length / tr.shoppers.size;

t.test('a 2 % value fault in the new pricing service: flagged within 500 shadowed reads, rolled back at 1 % by parityMismatchRate', async (t) => {
  const w = await rolloutWorld(t, ENV);
  const all: GatewayEvent[] = [];
  w.app.gw.events.onEmit((e) => void all.push(e));
  const put = await faults(w.backends.pricing.url, { valueSkewRate: 0.02, valueSkewMinor: 1 });
  t.equal(put.status, 200, 'value fault set on the new pricing service');

  const start = await w.app.inject({ method: 'POST', url: '/admin/rollouts/pricing', headers: AUTH, payload: { steps: PLAN, hold: '200ms', reason: 'pricing GA' } });
  t.equal(start.statusCode, 201, start.body);
  t.equal(await flagPercent(w), 1);

  const tr: Traffic = { reads: 0, shoppers: new Map(), firstMismatchAt: null };
  const s = await rollUntil(w, tr, 'fault', (s) => s.status !== 'running' || s.stepIndex > 0, 3000);
  const counts = w.app.gw.parity!.counts('pricing');
  t.comment(`fault: ${tr.reads} reads, first mismatch at verdict ${tr.firstMismatchAt}, parity ${JSON.stringify(counts)}, new-arm shoppers ${(newShare(tr) * 100).toFixed(2)} %`);

  t.ok(tr.firstMismatchAt !== null && tr.firstMismatchAt <= 500, `price mismatch flagged within the first 500 shadowed reads (at ${tr.firstMismatchAt})`);
  const detail = (await w.app.inject({ url: '/admin/parity/pricing', headers: AUTH })).json();
  t.same(detail.fields, [{ path: 'prices.*.amount', mismatches: counts.mismatch }], 'the mismatching field is the price amount');
  t.equal(counts.noise, 0, 'the fault is not taken for noise');

  t.equal(s.status, 'rolled_back', `rolled back, not paused (${s.reason})`);
  t.equal(s.stepIndex, 0, 'before the second step');
  t.equal(s.percent, 0);
  t.notOk(s.history.some((h) => h.type === 'step'), 'no step was ever taken past 1 %');
  t.match(s.reason, /^rolled back at 1 %: parityMismatchRate \d+\.\d\d % over the threshold 0\.50 %/);
  const g = s.guardrails.find((g) => g.name === 'parityMismatchRate')!;
  t.equal(g.ok, false);
  t.ok(g.value !== null && g.value > 0.005, `mismatch rate ${g.value} over 0.005`);
  t.equal(await flagPercent(w), 0, 'the flag file is back at 0 %');

  const share = newShare(tr);
  t.ok(share < 0.05, `fewer than 5 % of ${tr.shoppers.size} shoppers saw the new arm (${(share * 100).toFixed(2)} %)`);

  const rolled = w.events.filter((e) => e.type === 'rollout.rolled_back');
  t.equal(rolled.length, 1, 'one rollout.rolled_back event');
  t.match(rolled[0], { context: 'pricing', actor: 'rollout-controller', data: { percent: 0, guardrail: { name: 'parityMismatchRate', ok: false } } });
  t.notOk(w.events.some((e) => e.type === 'rollout.step'), 'no rollout.step event');
  t.ok(all.some((e) => e.type === 'rollout.rolled_back'), 'on the bus');

  const audit: AuditResponse = (await w.app.inject({ url: '/admin/audit?context=pricing&limit=1', headers: AUTH })).json();
  t.match(audit.entries[0], { actor: 'rollout-controller', action: 'route', after: { rollout: 0 }, reason: /parityMismatchRate/ });
});

t.test('no fault: the same plan reaches 100 % and completes with zero mismatches', async (t) => {
  const w = await rolloutWorld(t, ENV);
  const start = await w.app.inject({ method: 'POST', url: '/admin/rollouts/pricing', headers: AUTH, payload: { steps: PLAN, hold: '200ms', reason: 'pricing GA' } });
  t.equal(start.statusCode, 201, start.body);
  const tr: Traffic = { reads: 0, shoppers: new Map(), firstMismatchAt: null };
  const s = await rollUntil(w, tr, 'clean', (s) => s.status !== 'running', 4000);
  const counts = w.app.gw.parity!.counts('pricing');
  t.comment(`no fault: ${tr.reads} reads, parity ${JSON.stringify(counts)}`);
  t.equal(s.status, 'completed', `completed (${s.reason}; guardrails ${JSON.stringify(s.guardrails)})`);
  t.equal(s.percent, 100);
  t.same(s.history.map((h) => [h.type, h.percent]), [['started', 1], ['step', 5], ['step', 25], ['step', 50], ['step', 100], ['completed', 100]]);
  t.equal(await flagPercent(w), 100);
  t.same(counts, { match: tr.reads, mismatch: 0, noise: 0, error: 0, shed: 0 }, 'every read shadowed and compared: zero mismatches, nothing taken for noise');
  const g = s.guardrails.find((g) => g.name === 'parityMismatchRate')!;
  t.match(g, { value: 0, ok: true }, 'parity judged the last step and passed it');
  t.same(w.events.map((e) => e.type), ['rollout.started', 'rollout.step', 'rollout.step', 'rollout.step', 'rollout.step', 'rollout.completed']);
});
