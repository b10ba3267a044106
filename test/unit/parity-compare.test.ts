/**
 * The parity comparator (src/parity/compare.ts) and the shadow runner's accounting
 * (src/parity/shadow.ts): rules, noise floor, bounded fields, samples, shedding, the alarm.
 */
import t from 'tap';
import { CompiledRules, diff, redact, toCanonical } from '../../src/parity/compare.js';
import { ShadowParity, type Arm, type ParityMetrics, type ShadowOptions } from '../../src/parity/shadow.js';
import { EventBus, type GatewayEvent } from '../../src/events/bus.js';
import { Scope } from '../../src/upstream/scope.js';
import type { ContextName } from '../../src/contexts/names.js';

const money = (amount: number, currency = 'EUR') => ({ amount, currency });

t.test('diff: Map keys read * in patterns, list items []; concrete paths keep them', async (t) => {
  const a = toCanonical(new Map([['1000001', money(1999)], ['1000002', money(500)]]));
  const b = toCanonical(new Map([['1000002', money(500)], ['1000001', money(2000)]]));
  const d = diff(a, b, new CompiledRules(), 'prices');
  t.same(d, [{ path: 'prices.1000001.amount', pattern: 'prices.*.amount', legacy: 1999, modern: 2000, currency: 'EUR' }], 'one difference, in EUR; Map order is not a difference');
  t.same(diff(a, a, new CompiledRules(), 'prices'), [], 'equal answers: no difference');
  t.same(
    diff(toCanonical([{ code: 'x' }, { code: 'y' }]), toCanonical([{ code: 'x' }, { code: 'z' }]), new CompiledRules(), 'list'),
    [{ path: 'list[1].code', pattern: 'list[].code', legacy: 'y', modern: 'z' }],
  );
  t.same(
    diff(toCanonical({ a: 1, gone: 'x' }), toCanonical({ a: 1, added: undefined }), new CompiledRules(), 'm'),
    [{ path: 'm.gone', pattern: 'm.gone', legacy: 'x', modern: null }],
    'a field absent on one side differs; an undefined one is absent',
  );
  t.same(diff(toCanonical({ n: 1 }), toCanonical({ n: '1' }), new CompiledRules(), 'm'), [{ path: 'm.n', pattern: 'm.n', legacy: 1, modern: '1' }], 'a retyped value differs');
  t.same(diff(toCanonical(money(100, 'EUR')), toCanonical(money(100, 'USD')), new CompiledRules(), 'p'), [{ path: 'p.currency', pattern: 'p.currency', legacy: 'EUR', modern: 'USD' }]);
});

t.test('rules: ignored fields, numeric tolerance, order-insensitive lists', async (t) => {
  const a = toCanonical(new Map([['s1', { value: 10.0, at: 't1', tags: ['a', 'b', 'b'] }]]));
  const b = toCanonical(new Map([['s1', { value: 10.004, at: 't2', tags: ['b', 'a', 'b'] }]]));
  t.equal(diff(a, b, new CompiledRules(), 'm').length, 4, 'no rules: value, at, and two list positions differ');
  const rules = new CompiledRules({ ignore: ['m.*.at'], tolerance: { 'm.*.value': 0.01 }, unordered: ['m.*.tags'] });
  t.same(diff(a, b, rules, 'm'), [], 'under the rules: equal');
  const c = toCanonical(new Map([['s1', { value: 10.02, at: 't3', tags: ['a', 'b'] }]]));
  t.same(
    diff(a, c, rules, 'm'),
    [
      { path: 'm.s1.value', pattern: 'm.*.value', legacy: 10, modern: 10.02 },
      { path: 'm.s1.tags[]', pattern: 'm.*.tags[]', legacy: 'b', modern: null },
    ],
    'past the tolerance; a multiset item missing',
  );
});

t.test('a tolerance holds as written, not as binary floating point computes it', async (t) => {
  const rules = new CompiledRules({ tolerance: { 'm.rate': 0.01 } });
  t.equal(Math.abs(19.99 - 20) > 0.01, true, 'the float difference of a cent is over 0.01');
  t.same(diff({ rate: 19.99 }, { rate: 20 }, rules, 'm'), [], 'a cent apart: within a tolerance of 0.01');
  t.equal(diff({ rate: 19.98 }, { rate: 20 }, rules, 'm').length, 1, 'two cents apart: not');
  t.equal(diff({ rate: 0.1 + 0.2 }, { rate: 0.3 }, new CompiledRules(), 'm').length, 0, 'no tolerance: rounding is still no difference');
  t.equal(diff({ rate: 1000001 }, { rate: 1000002 }, new CompiledRules(), 'm').length, 1, 'a unit is');
});

t.test('redact: secrets by key, long strings cut, size bounded', async (t) => {
  t.same(redact({ email: 'a@b.c', token: 'x', price: 3, nested: { password: 'p' } }), { email: '[redacted]', token: '[redacted]', price: 3, nested: { password: '[redacted]' } });
  t.equal((redact('x'.repeat(500)) as string).length, 201);
  const big = redact(Array.from({ length: 1000 }, (_, i) => i)) as unknown[];
  t.ok(big.includes('[…]'), 'bounded');
});

interface Recorded {
  results: string[];
  fields: string[];
  money: [string, number][];
  events: GatewayEvent[];
}

function runner(over: Partial<ShadowOptions> = {}, policy: ShadowOptions['contexts'][number]['policy'] = { samplePercent: 100, signal: 'price' }) {
  const rec: Recorded = { results: [], fields: [], money: [], events: [] };
  const metrics: ParityMetrics = {
    parity: (_c, r) => void rec.results.push(r),
    parityField: (_c, p) => void rec.fields.push(p),
    parityMoney: (_c, cur, n) => void rec.money.push([cur, n]),
    parityStockStatus: () => undefined,
    parityPromotion: () => undefined,
  };
  const log = { info() {}, warn() {}, error() {} };
  const events = new EventBus('test', log);
  events.onEmit((e) => void rec.events.push(e));
  const shadow = new ShadowParity({
    contexts: [{ name: 'pricing', percent: 100, policy }],
    maxConcurrent: 100,
    maxPerSecond: 1000,
    samples: 3,
    topFields: 2,
    alarm: { rate: 0.5, windowMs: 60_000, minSamples: 4 },
    budgetMs: 1000,
    metrics,
    events,
    underPressure: () => false,
    log,
    ...over,
  });
  return { shadow, rec };
}

const scope = (id = 'req-1') => new Scope({ pricing: 'legacy' } as never, { 'x-request-id': id, traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' }, { info() {}, warn() {}, error() {} }, Date.now() + 1000, true);

/** Observes one read and waits for its verdict. */
async function observe(shadow: ShadowParity, served: Arm, answer: unknown, other: (arm: Arm) => unknown): Promise<void> {
  const before = Object.values(shadow.counts('pricing')).reduce((a, b) => a + b, 0);
  shadow.observe('pricing', 'prices', scope(), served, answer, [], async (arm) => other(arm));
  for (let i = 0; i < 200; i++) {
    if (Object.values(shadow.counts('pricing')).reduce((a, b) => a + b, 0) > before) return;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error('no verdict');
}

t.test('verdicts: match, mismatch with sample and money, noise learned from the reference asked twice, error', async (t) => {
  const { shadow, rec } = runner();
  const legacy = new Map([['1', money(100)]]);
  await observe(shadow, 'legacy', legacy, () => new Map([['1', money(100)]]));
  t.same(shadow.counts('pricing'), { match: 1, mismatch: 0, noise: 0, error: 0, shed: 0 });

  await observe(shadow, 'legacy', legacy, (arm) => (arm === 'new' ? new Map([['1', money(103)]]) : new Map([['1', money(100)]])));
  t.equal(shadow.counts('pricing').mismatch, 1, 'the new arm differs; legacy asked again agrees with itself');
  t.same(rec.money, [['EUR', 3]], 'money involved, per currency');
  t.same(shadow.fields('pricing'), [{ path: 'prices.*.amount', mismatches: 1 }]);
  const [sample] = shadow.samples('pricing');
  t.match(sample, { requestId: 'req-1', traceId: '0af7651916cd43dd8448eb211c80319c', servedBy: 'legacy', legacy: { 1: { amount: 100 } }, modern: { 1: { amount: 103 } } });
  t.same(sample!.differences, [{ path: 'prices.1.amount', legacy: 100, modern: 103 }]);

  // served by new: the new arm's answer against the legacy one; legacy is the reference either way
  let legacyCalls = 0;
  await observe(shadow, 'new', new Map([['1', { ...money(100), at: 'x' }]]), () => new Map([['1', { ...money(100), at: `t${++legacyCalls}` }]]));
  t.equal(shadow.counts('pricing').noise, 1, 'legacy asked twice disagrees on `at`: noise');
  t.same(shadow.noise('pricing'), ['prices.*.at']);
  t.equal(legacyCalls, 2);
  await observe(shadow, 'new', new Map([['1', { ...money(100), at: 'y' }]]), () => new Map([['1', { ...money(100), at: `t${++legacyCalls}` }]]));
  t.equal(shadow.counts('pricing').noise, 2, 'a known noisy field: noise without asking again');
  t.equal(legacyCalls, 3);

  await observe(shadow, 'legacy', legacy, () => {
    throw new Error('down');
  });
  t.equal(shadow.counts('pricing').error, 1, 'a failed shadow call is an error, not a verdict');
  t.same(rec.results, ['match', 'mismatch', 'noise', 'noise', 'error']);
});

t.test('fields are bounded: past topFields, "other"; samples keep the newest N', async (t) => {
  const { shadow } = runner({ alarm: { rate: 1, windowMs: 60_000, minSamples: 1000 } }, { samplePercent: 100 });
  for (const field of ['a', 'b', 'c', 'd', 'a']) {
    await observe(shadow, 'legacy', { [field]: 1 }, (arm) => (arm === 'new' ? { [field]: 2 } : { [field]: 1 }));
  }
  t.same(shadow.fields('pricing'), [
    { path: 'prices.a', mismatches: 2 },
    { path: 'other', mismatches: 2 },
    { path: 'prices.b', mismatches: 1 },
  ]);
  t.same(shadow.samples('pricing').map((s) => s.differences[0]!.path), ['prices.a', 'prices.d', 'prices.c'], 'newest first, at most 3');
});

const tick = () => new Promise((r) => setImmediate(r));

t.test('a request scope holds the shadow call until its response has been sent', async (t) => {
  const { shadow } = runner();
  const calls: Arm[] = [];
  const s = scope();
  s.boundToResponse = true;
  shadow.observe('pricing', 'prices', s, 'legacy', new Map(), [], async (arm) => {
    calls.push(arm);
    return new Map();
  });
  await new Promise((r) => setTimeout(r, 20));
  t.same(calls, [], 'no shadow call while the response is pending');
  s.responded();
  t.same(calls, [], 'not in the response hook itself: on a later turn');
  await tick();
  t.same(calls, ['new'], 'started once the response has been sent');
  s.afterResponse(() => calls.push('legacy'));
  await tick();
  t.same(calls, ['new', 'legacy'], 'work deferred after the response runs on the next turn');
});

t.test('shed: concurrency cap, per-second budget, load; and a share of 0 is never sampled', async (t) => {
  let now = 1_000_000;
  let pressure = false;
  const { shadow } = runner({ maxConcurrent: 1, maxPerSecond: 2, now: () => now, underPressure: () => pressure });
  const calls: Arm[] = [];
  const slow = (arm: Arm) => {
    calls.push(arm);
    return new Promise((r) => setTimeout(() => r(new Map()), 20));
  };
  shadow.observe('pricing', 'prices', scope(), 'legacy', new Map(), [], slow);
  shadow.observe('pricing', 'prices', scope(), 'legacy', new Map(), [], slow);
  await tick(); // admitted or shed when the shadow call would start, after the response
  t.equal(shadow.counts('pricing').shed, 1, 'one in flight: the second is shed');
  await new Promise((r) => setTimeout(r, 60));
  shadow.observe('pricing', 'prices', scope(), 'legacy', new Map(), [], slow);
  await new Promise((r) => setTimeout(r, 60));
  shadow.observe('pricing', 'prices', scope(), 'legacy', new Map(), [], slow);
  await tick();
  t.equal(shadow.counts('pricing').shed, 2, 'the per-second budget of 2 spent');
  now += 1000;
  pressure = true;
  shadow.observe('pricing', 'prices', scope(), 'legacy', new Map(), [], slow);
  await tick();
  t.equal(shadow.counts('pricing').shed, 3, 'under pressure: shed first');
  await new Promise((r) => setTimeout(r, 60));
  t.equal(calls.length, 2, 'shed reads made no call');
  t.equal(shadow.counts('pricing').match, 2);

  const { shadow: zero } = runner({ contexts: [{ name: 'inventory' as ContextName, percent: 0, policy: undefined }] });
  t.notOk(Array.from({ length: 1000 }, () => zero.sampled('inventory')).some(Boolean), '0 %: never sampled');
  t.notOk(zero.sampled('pricing'), 'a context not compared: never sampled');
});

t.test('parity.alarm: once when the window rate crosses the threshold, again after it recovered', async (t) => {
  const { shadow, rec } = runner({ alarm: { rate: 0.5, windowMs: 60_000, minSamples: 4 } }, { samplePercent: 100 });
  const same = () => ({ v: 1 });
  const differ = (arm: Arm) => (arm === 'new' ? { v: 2 } : { v: 1 });
  for (const f of [differ, differ, differ]) await observe(shadow, 'legacy', { v: 1 }, f);
  t.equal(rec.events.length, 0, 'fewer comparisons than minSamples: no alarm');
  await observe(shadow, 'legacy', { v: 1 }, differ);
  t.equal(rec.events.length, 1);
  t.match(rec.events[0], { type: 'parity.alarm', context: 'pricing', data: { mismatchRate: 1, window: 60_000, threshold: 0.5, compared: 4, mismatches: 4 } });
  await observe(shadow, 'legacy', { v: 1 }, differ);
  t.equal(rec.events.length, 1, 'still above: no second alarm');
  for (let i = 0; i < 8; i++) await observe(shadow, 'legacy', { v: 1 }, same);
  await observe(shadow, 'legacy', { v: 1 }, differ);
  t.equal(rec.events.length, 1, 'recovered below the threshold (6 of 14)');
  for (let i = 0; i < 6; i++) await observe(shadow, 'legacy', { v: 1 }, differ);
  t.equal(rec.events.length, 2, 'crossed again: a second alarm');
});
