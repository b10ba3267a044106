/**
 * Guardrail maths of a rollout step (src/rollout/guardrails.ts): each guardrail's value, the
 * minimum samples, the 100 % step judged against the previous step's legacy figures, and the
 * parity guardrail from shadow-comparison counts (a pure function of ParityCounts).
 */
import t from 'tap';
import { LATENCY_BOUNDS_MS, emptyArm, subtract, type ArmFigures } from '../../src/rollout/figures.js';
import { describeBreach, judge, quantileMs, waiting, withOverrides, type GuardrailConfig } from '../../src/rollout/guardrails.js';
import { guardrailOverrides } from '../../src/cli/guardrail-args.js';
import { loadConfig } from '../../src/config/load.js';
import { holdMs } from '../../src/rollout/schemas.js';

const CFG: GuardrailConfig = {
  errorRateDelta: { threshold: 0.01, minSamples: 100 },
  p99Ratio: { threshold: 1.5, minSamples: 100 },
  fallbackRate: { threshold: 0.02, minSamples: 100 },
  parityMismatchRate: { threshold: 0.005, minSamples: 100 },
  p99FloorMs: 25,
};

/** An arm of `requests` requests, `errors` 5xx, `fallbacks`, all at `ms` latency except `slow` at `slowMs`. */
function arm(requests: number, errors = 0, fallbacks = 0, ms = 10, slow = 0, slowMs = 0): ArmFigures {
  const a = emptyArm();
  a.requests = requests;
  a.errors = errors;
  a.fallbacks = fallbacks;
  const at = (v: number) => LATENCY_BOUNDS_MS.findIndex((b) => v <= b);
  a.latency[at(ms)]! += requests - slow;
  if (slow > 0) a.latency[at(slowMs)]! += slow;
  return a;
}
const get = (j: ReturnType<typeof judge>, name: string) => j.guardrails.find((g) => g.name === name)!;

t.test('p99 from buckets: interpolated inside the bucket holding the 99th percentile', async (t) => {
  t.equal(quantileMs(emptyArm().latency, 0.99), null, 'no samples, no figure');
  // 100 at 10 ms sit in the (7, 10] bucket: the 99th of them is 99 % of the way through it
  t.ok(Math.abs(quantileMs(arm(100, 0, 0, 10).latency, 0.99)! - 9.97) < 1e-9);
  t.ok(quantileMs(arm(100, 0, 0, 10, 1, 900).latency, 0.99)! <= 10, '1 slow in 100 is the 100th percentile, not the 99th');
  t.ok(quantileMs(arm(100, 0, 0, 10, 2, 900).latency, 0.99)! > 750, '2 slow in 100 are: the 99th falls in the (750, 1000] bucket');
  t.equal(quantileMs(arm(100, 0, 0, 10, 50, 30_000).latency, 0.99), 10_000, 'in the open-ended last bucket: its lower bound, not a guess');
});

t.test('p99 ratio of two arms a little apart across a bucket edge stays a little apart', async (t) => {
  // legacy: p99 just under 30 ms; new: just over. Upper bounds read 50/30 = 1.67x and rolled back.
  const legacy = emptyArm();
  legacy.requests = 1000;
  legacy.latency[LATENCY_BOUNDS_MS.indexOf(20)]! += 980; // (15, 20]
  legacy.latency[LATENCY_BOUNDS_MS.indexOf(30)]! += 20; // (20, 30]
  const modern = emptyArm();
  modern.requests = 1000;
  modern.latency[LATENCY_BOUNDS_MS.indexOf(30)]! += 985; // (20, 30]
  modern.latency[LATENCY_BOUNDS_MS.indexOf(50)]! += 15; // (30, 50]
  const j = judge({ step: { legacy, modern }, previousLegacy: undefined, parity: undefined }, { ...CFG, p99FloorMs: 1 });
  const p99 = get(j, 'p99Ratio');
  t.ok(p99.value! > 1 && p99.value! < 1.5, `ratio ${p99.value} is modest, not a bucket step`);
  t.equal(p99.ok, true);
  // and a real regression still breaches: new arm's p99 in (75, 100]
  const slow = emptyArm();
  slow.requests = 1000;
  slow.latency[LATENCY_BOUNDS_MS.indexOf(30)]! += 970;
  slow.latency[LATENCY_BOUNDS_MS.indexOf(100)]! += 30;
  const k = judge({ step: { legacy, modern: slow }, previousLegacy: undefined, parity: undefined }, { ...CFG, p99FloorMs: 1 });
  t.equal(get(k, 'p99Ratio').ok, false, `ratio ${get(k, 'p99Ratio').value} breaches`);
});

t.test('a healthy step with enough samples on both arms is ready', async (t) => {
  const j = judge({ step: { legacy: arm(500, 1), modern: arm(500, 2) }, previousLegacy: undefined, parity: undefined }, CFG);
  t.equal(j.breach, undefined);
  t.ok(j.ready);
  t.equal(j.legacyFrom, 'step');
  t.match(get(j, 'errorRateDelta'), { value: 0.002, samples: 500, ok: true });
  t.match(get(j, 'p99Ratio'), { value: 1, ok: true }, 'both under the floor: ratio 1');
  t.match(get(j, 'parityMismatchRate'), { value: null, samples: 0, ok: null }, 'parity not wired: reported, does not block');
});

t.test('not enough samples: not ready, and a bad figure is not a breach yet', async (t) => {
  const j = judge({ step: { legacy: arm(500), modern: arm(50, 50, 50) }, previousLegacy: undefined, parity: undefined }, CFG);
  t.equal(j.breach, undefined, '50 failures in 50 requests wait for the minimum of 100');
  t.notOk(j.ready);
  t.match(get(j, 'fallbackRate'), { value: 1, samples: 50, ok: null });
});

t.test('each guardrail breaches over its threshold, and says by how much', async (t) => {
  const errors = judge({ step: { legacy: arm(1000, 10), modern: arm(1000, 40) }, previousLegacy: undefined, parity: undefined }, CFG);
  t.match(errors.breach, { name: 'errorRateDelta', value: 0.03, ok: false });
  t.equal(describeBreach(errors.breach!), 'errorRateDelta 3.00 % over the threshold 1.00 % (1000 samples)');

  const slow = judge({ step: { legacy: arm(1000, 0, 0, 20), modern: arm(1000, 0, 0, 20, 50, 200) }, previousLegacy: undefined, parity: undefined }, CFG);
  t.match(slow.breach, { name: 'p99Ratio', value: 7.6, ok: false }, '5 % at 200 ms: p99 190 ms (interpolated in (150, 200]) over legacy at the 25 ms floor');
  t.equal(describeBreach(slow.breach!), 'p99Ratio 7.60x over the threshold 1.50x (1000 samples)');

  const fallbacks = judge({ step: { legacy: arm(1000), modern: arm(200, 0, 5) }, previousLegacy: undefined, parity: undefined }, CFG);
  t.match(fallbacks.breach, { name: 'fallbackRate', value: 0.025, ok: false });

  const parity = judge({ step: { legacy: arm(1000), modern: arm(1000) }, previousLegacy: undefined, parity: { match: 180, mismatch: 2, noise: 18, error: 7, shed: 40 } }, CFG);
  t.match(parity.breach, { name: 'parityMismatchRate', value: 0.01, samples: 200, ok: false }, 'mismatches over compared (match, mismatch, noise); errors and shed are no verdict');
});

t.test('parity: noise is not a mismatch; a wired reader with comparisons gates the step', async (t) => {
  const noisy = judge({ step: { legacy: arm(1000), modern: arm(1000) }, previousLegacy: undefined, parity: { match: 100, mismatch: 0, noise: 100, error: 0, shed: 0 } }, CFG);
  t.match(get(noisy, 'parityMismatchRate'), { value: 0, ok: true });
  t.ok(noisy.ready);
  const few = judge({ step: { legacy: arm(1000), modern: arm(1000) }, previousLegacy: undefined, parity: { match: 10, mismatch: 0, noise: 0, error: 0, shed: 0 } }, CFG);
  t.notOk(few.ready, '10 comparisons of the 100 needed: the step waits');
  const none = judge({ step: { legacy: arm(1000), modern: arm(1000) }, previousLegacy: undefined, parity: { match: 0, mismatch: 0, noise: 0, error: 3, shed: 0 } }, CFG);
  t.ok(none.ready, 'a context nobody shadows cannot be gated by parity');
});

t.test('the 100 % step: legacy has no traffic, the previous step\'s legacy figures are the baseline', async (t) => {
  const at100 = { legacy: emptyArm(), modern: arm(400, 1) };
  const j = judge({ step: at100, previousLegacy: arm(300, 0), parity: undefined }, CFG);
  t.equal(j.legacyFrom, 'previous-step');
  t.ok(j.ready, 'a fault-free 100 % step can complete');
  t.match(get(j, 'errorRateDelta'), { samples: 300, ok: true });

  const worse = judge({ step: { legacy: emptyArm(), modern: arm(400, 20) }, previousLegacy: arm(300, 0), parity: undefined }, CFG);
  t.match(worse.breach, { name: 'errorRateDelta', value: 0.05 }, 'and still rolls back a bad one');

  const alone = judge({ step: { legacy: emptyArm(), modern: arm(400) }, previousLegacy: undefined, parity: undefined }, CFG);
  t.equal(alone.legacyFrom, 'absolute', 'a plan that starts at 100 %: absolute limits');
  t.ok(alone.ready);
  const aloneBad = judge({ step: { legacy: emptyArm(), modern: arm(400, 0, 0, 100) }, previousLegacy: undefined, parity: undefined }, CFG);
  t.match(aloneBad.breach, { name: 'p99Ratio', value: 3.99 }, 'p99 99.75 ms (interpolated in (75, 100]) against the 25 ms floor');
});

t.test('a step is the difference of cumulative figures; holds parse', async (t) => {
  const d = subtract({ legacy: arm(10, 1), modern: arm(5) }, { legacy: arm(4), modern: arm(5) });
  t.match(d, { legacy: { requests: 6, errors: 1 }, modern: { requests: 0 } });
  t.equal(holdMs('5m'), 300_000);
  t.equal(holdMs('30s'), 30_000);
  t.equal(holdMs('200ms'), 200);
  t.equal(holdMs(1500), 1500);
  t.throws(() => holdMs('soon'));
});

t.test("a rollout's own limits over the gateway's, field by field", async (t) => {
  t.same(withOverrides(CFG, undefined), CFG);
  const own = withOverrides(CFG, { p99Ratio: { minSamples: 1000 }, fallbackRate: { threshold: 0.1 }, p99FloorMs: 75 });
  t.same(own.p99Ratio, { threshold: 1.5, minSamples: 1000 });
  t.same(own.fallbackRate, { threshold: 0.1, minSamples: 100 });
  t.equal(own.p99FloorMs, 75);
  t.same(own.errorRateDelta, CFG.errorRateDelta);
  t.same(CFG.p99Ratio, { threshold: 1.5, minSamples: 100 }, "the gateway's limits are left as they were");
  // judged by them: 500 requests per arm pass the gateway's minimum of 100, not the rollout's 1000
  const step = { modern: arm(500, 0, 0, 10, 10, 500), legacy: arm(500) };
  t.equal(get(judge({ step, previousLegacy: undefined, parity: undefined }, CFG), 'p99Ratio').ok, false);
  t.equal(get(judge({ step, previousLegacy: undefined, parity: undefined }, own), 'p99Ratio').ok, null);
  t.same(
    waiting(own).map((g) => [g.name, g.minSamples, g.samples, g.ok]),
    [['errorRateDelta', 100, 0, null], ['p99Ratio', 1000, 0, null], ['fallbackRate', 100, 0, null], ['parityMismatchRate', 100, 0, null]],
  );
});

t.test('ROLLOUT_P99_MIN_SAMPLES: the p99 guardrail\'s own minimum, else ROLLOUT_MIN_SAMPLES', async (t) => {
  const base = { FLAGS_DIR: '/tmp', ROLLOUT_MIN_SAMPLES: '300' };
  t.equal(loadConfig(base).rollout.guardrails.p99Ratio.minSamples, 300);
  const own = loadConfig({ ...base, ROLLOUT_P99_MIN_SAMPLES: '2000' }).rollout.guardrails;
  t.equal(own.p99Ratio.minSamples, 2000);
  t.equal(own.errorRateDelta.minSamples, 300);
  t.throws(() => loadConfig({ ...base, ROLLOUT_P99_MIN_SAMPLES: '0' }), /ROLLOUT_P99_MIN_SAMPLES/);
});

t.test('--guardrail NAME=THRESHOLD[:MIN_SAMPLES] and --p99-floor', async (t) => {
  t.equal(guardrailOverrides([], undefined), undefined, 'none: the gateway\'s limits');
  t.same(guardrailOverrides(['p99Ratio=2:1000', 'errorRateDelta=0.005', 'fallbackRate=:50'], '75ms'), {
    p99Ratio: { threshold: 2, minSamples: 1000 },
    errorRateDelta: { threshold: 0.005 },
    fallbackRate: { minSamples: 50 },
    p99FloorMs: 75,
  });
  t.same(guardrailOverrides([], '40'), { p99FloorMs: 40 });
  for (const [flags, floor, why] of [
    [['p99Ratio'], undefined, /NAME=THRESHOLD/],
    [['latency=2'], undefined, /no guardrail "latency" \(one of errorRateDelta, p99Ratio, fallbackRate, parityMismatchRate\)/],
    [['p99Ratio='], undefined, /give a threshold, a minimum of samples/],
    [['p99Ratio=fast'], undefined, /threshold must be a decimal/],
    [['p99Ratio=2:1e3'], undefined, /must be an integer/],
    [['p99Ratio=2', 'p99Ratio=3'], undefined, /given twice/],
    [[], '1s', /--p99-floor must be milliseconds/],
  ] as const) {
    t.throws(() => guardrailOverrides(flags, floor), why, String(flags));
  }
});
