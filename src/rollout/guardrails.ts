/**
 * Guardrail maths of a rollout step: pure functions of the per-arm figures of the step
 * (src/rollout/figures.ts) and the parity counts, so they are tested without a gateway.
 *
 * Each guardrail compares the new arm against the legacy arm over the step:
 * - errorRateDelta: new arm's 5xx rate minus legacy's (fraction, e.g. 0.02 = 2 points)
 * - p99Ratio: new arm's p99 over legacy's, each raised to a floor (p99FloorMs) so that
 *   millisecond noise of two fast arms is not a "3x slower"
 * - fallbackRate: share of the new arm's requests that legacy answered because it failed
 *   (absolute: legacy has no fallback)
 * - parityMismatchRate: mismatches over the shadow comparisons of the step
 *
 * When an arm has no traffic at a step (legacy at 100 %), the delta/ratio guardrails compare
 * against a baseline: the legacy figures of the previous step, or, with none, absolute limits
 * (legacy taken as 0 errors and a p99 at the floor). Without that, the 100 % step never reaches
 * its legacy minimum and the rollout never completes.
 */
import type { ParityCounts } from '../parity/types.js';
import { LATENCY_BOUNDS_MS, type ArmFigures, type StepFigures } from './figures.js';
import { GUARDRAILS, type GuardrailName } from './names.js';
import type { GuardrailLimits, GuardrailOverrides } from './schemas.js';

export { GUARDRAILS, type GuardrailName } from './names.js';

export type GuardrailLimit = Readonly<GuardrailLimits[GuardrailName]>;
/** What a rollout is judged by (its `limits`, ./schemas.ts); the gateway's defaults come from ROLLOUT_* */
export type GuardrailConfig = Readonly<{ [K in keyof GuardrailLimits]: Readonly<GuardrailLimits[K]> }>;

/** The gateway's limits with a start request's `guardrails` over them, field by field. */
export function withOverrides(base: GuardrailConfig, over: GuardrailOverrides | undefined): GuardrailLimits {
  const limits: GuardrailLimits = {
    errorRateDelta: { ...base.errorRateDelta, ...over?.errorRateDelta },
    p99Ratio: { ...base.p99Ratio, ...over?.p99Ratio },
    fallbackRate: { ...base.fallbackRate, ...over?.fallbackRate },
    parityMismatchRate: { ...base.parityMismatchRate, ...over?.parityMismatchRate },
    p99FloorMs: over?.p99FloorMs ?? base.p99FloorMs,
  };
  return limits;
}

/** A step's guardrails before its first judgement: each waiting, with no samples. */
export function waiting(limits: GuardrailConfig): GuardrailResult[] {
  return GUARDRAILS.map((name) => ({ name, threshold: limits[name].threshold, value: null, samples: 0, minSamples: limits[name].minSamples, ok: null }));
}

export interface GuardrailResult {
  name: GuardrailName;
  threshold: number;
  /** null: no figure yet (no samples, or parity not wired) */
  value: number | null;
  samples: number;
  minSamples: number;
  /** null: not enough samples yet */
  ok: boolean | null;
}

export interface Judgement {
  readonly guardrails: GuardrailResult[];
  /** the first guardrail over its threshold with enough samples */
  readonly breach: GuardrailResult | undefined;
  /** every guardrail that gates has its minimum samples and is within its threshold */
  readonly ready: boolean;
  /** which legacy figures the delta/ratio guardrails used */
  readonly legacyFrom: 'step' | 'previous-step' | 'absolute';
}

export interface JudgeInput {
  readonly step: StepFigures;
  /** legacy figures of the previous step, for a step where legacy has no traffic */
  readonly previousLegacy: ArmFigures | undefined;
  /** shadow comparisons over the step; undefined: no parity reader wired */
  readonly parity: ParityCounts | undefined;
}

/**
 * The latency (ms) under which `q` of the observations fall, interpolated linearly inside the
 * bucket that holds it (as Prometheus' histogram_quantile does). Taking the bucket's upper bound
 * instead made the p99 ratio jump in bucket steps: two arms 1.1x apart read as 50/30 = 1.67x or
 * 75/30 = 2.5x, and a clean rollout rolled back (docs/perf/2026-12-05-rollout-rehearsal.md).
 * The last bucket has no upper bound: its lower bound is returned.
 */
export function quantileMs(buckets: readonly number[], q: number): number | null {
  let total = 0;
  for (const n of buckets) total += n;
  if (total === 0) return null;
  const rank = q * total;
  let seen = 0;
  const last = LATENCY_BOUNDS_MS.length - 1;
  for (let i = 0; i < buckets.length; i++) {
    const n = buckets[i]!;
    if (n > 0 && seen + n >= rank) {
      const lo = i === 0 ? 0 : LATENCY_BOUNDS_MS[Math.min(i - 1, last)]!;
      if (i >= last) return lo;
      const hi = LATENCY_BOUNDS_MS[i]!;
      return lo + ((hi - lo) * (rank - seen)) / n;
    }
    seen += n;
  }
  return LATENCY_BOUNDS_MS[last]!;
}

const rate = (part: number, whole: number) => (whole === 0 ? 0 : part / whole);

/** One guardrail's verdict: its value against its limit, once it has the minimum of samples. */
export function result(name: GuardrailName, limit: GuardrailLimit, value: number | null, samples: number): GuardrailResult {
  const enough = samples >= limit.minSamples && value !== null;
  return { name, threshold: limit.threshold, value: value === null ? null : round(value), samples, minSamples: limit.minSamples, ok: enough ? value <= limit.threshold : null };
}

const round = (v: number) => Math.round(v * 1e6) / 1e6;

export function judge(input: JudgeInput, cfg: GuardrailConfig): Judgement {
  const { step, previousLegacy, parity } = input;
  const modern = step.modern;
  // legacy baseline: this step's when it has the minimum, else the previous step's, else absolute
  let legacy: ArmFigures | undefined = step.legacy;
  let legacyFrom: Judgement['legacyFrom'] = 'step';
  const legacyMin = Math.max(cfg.errorRateDelta.minSamples, cfg.p99Ratio.minSamples);
  if (step.legacy.requests < legacyMin) {
    if (previousLegacy && previousLegacy.requests >= legacyMin) {
      legacy = previousLegacy;
      legacyFrom = 'previous-step';
    } else if (step.legacy.requests === 0) {
      legacy = undefined;
      legacyFrom = 'absolute';
    }
  }
  const legacyRequests = legacy?.requests ?? Number.POSITIVE_INFINITY;
  const legacyErrRate = legacy ? rate(legacy.errors, legacy.requests) : 0;
  const legacyP99 = legacy ? quantileMs(legacy.latency, 0.99) : null;
  const floor = cfg.p99FloorMs;

  const errorDelta = modern.requests === 0 ? null : rate(modern.errors, modern.requests) - legacyErrRate;
  const modernP99 = quantileMs(modern.latency, 0.99);
  const p99Ratio = modernP99 === null ? null : Math.max(modernP99, floor) / Math.max(legacyP99 ?? floor, floor);
  const fallback = modern.requests === 0 ? null : rate(modern.fallbacks, modern.requests);

  const guardrails: GuardrailResult[] = [
    result('errorRateDelta', cfg.errorRateDelta, errorDelta, Math.min(modern.requests, legacyRequests)),
    result('p99Ratio', cfg.p99Ratio, p99Ratio, Math.min(modern.requests, legacyRequests)),
    result('fallbackRate', cfg.fallbackRate, fallback, modern.requests),
  ];
  let parityGates = false;
  if (parity === undefined) {
    guardrails.push({ name: 'parityMismatchRate', threshold: cfg.parityMismatchRate.threshold, value: null, samples: 0, minSamples: cfg.parityMismatchRate.minSamples, ok: null });
  } else {
    const compared = parity.match + parity.mismatch + parity.noise;
    guardrails.push(result('parityMismatchRate', cfg.parityMismatchRate, compared === 0 ? null : rate(parity.mismatch, compared), compared));
    // a context nobody shadows has no comparisons: parity cannot gate it (docs/rollouts.md)
    parityGates = compared > 0;
  }
  const breach = guardrails.find((g) => g.ok === false);
  const gating = guardrails.filter((g) => g.name !== 'parityMismatchRate' || parityGates);
  return { guardrails, breach, ready: breach === undefined && gating.every((g) => g.ok === true), legacyFrom };
}

/** Limits in one line, for the audit trail: `errorRateDelta 0.01/200, p99Ratio 1.5/1000, …, p99 floor 25 ms`. */
export function describeLimits(l: GuardrailConfig): string {
  return `${GUARDRAILS.map((n) => `${n} ${l[n].threshold}/${l[n].minSamples}`).join(', ')}, p99 floor ${l.p99FloorMs} ms`;
}

/** How far over its threshold a breached guardrail is, for the rollback reason. */
export function describeBreach(g: GuardrailResult): string {
  const pct = (v: number) => `${(v * 100).toFixed(2)} %`;
  const fmt = g.name === 'p99Ratio' ? (v: number) => `${v.toFixed(2)}x` : pct;
  return `${g.name} ${fmt(g.value ?? 0)} over the threshold ${fmt(g.threshold)} (${g.samples} samples)`;
}
