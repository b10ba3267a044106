/** Latency statistics from raw per-request samples (milliseconds). */

export interface LatencyStats {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export const EMPTY_STATS: LatencyStats = Object.freeze({ count: 0, mean: 0, p50: 0, p90: 0, p99: 0, max: 0 });

/** Nearest-rank percentile on a sorted array (the definition HdrHistogram and wrk report). */
function rank(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] ?? 0;
}

export function latencyStats(samples: readonly number[] | Float64Array): LatencyStats {
  if (samples.length === 0) return EMPTY_STATS;
  const sorted = Float64Array.from(samples).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    count: sorted.length,
    mean: round(sum / sorted.length),
    p50: round(rank(sorted, 50)),
    p90: round(rank(sorted, 90)),
    p99: round(rank(sorted, 99)),
    max: round(sorted[sorted.length - 1] ?? 0),
  };
}

export function round(v: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

export function ratio(a: number, b: number): number | null {
  return b > 0 ? round(a / b, 3) : null;
}

/**
 * How far repeated measurements of one unchanged target lie apart: the fastest over the slowest
 * (1 when they agree; null without two positive values). The compare harness reads it off the
 * targets whose code is the same in every round (legacy direct, nginx) as the machine's own
 * drift during the run.
 */
export function spread(values: readonly number[]): { min: number; max: number; factor: number } | null {
  const v = values.filter((x) => x > 0);
  if (v.length < 2) return null;
  const min = Math.min(...v);
  const max = Math.max(...v);
  return { min, max, factor: round(max / min, 2) };
}

/**
 * The ratio of two targets round by round (`a[i] / b[i]`, skipping rounds where either did not
 * run). Within a round the two runs are seconds apart, so a machine that drifts over minutes
 * shifts both alike; how far these ratios lie apart is how far one round's verdict can move.
 */
export function pairedRatios(a: readonly (number | undefined)[], b: readonly (number | undefined)[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    const r = x !== undefined && y !== undefined && x > 0 ? ratio(x, y) : null;
    if (r !== null) out.push(r);
  }
  return out;
}

/** Whether `values` all meet `min`, all miss it, or lie on both sides (null: no values). */
export function sideOf(values: readonly number[], min: number): 'met' | 'missed' | 'both' | null {
  if (values.length === 0) return null;
  const met = values.filter((v) => v >= min).length;
  return met === values.length ? 'met' : met === 0 ? 'missed' : 'both';
}

/**
 * A distribution-free confidence interval for the median of `values` (the sign-test interval:
 * order statistics picked with the binomial distribution, no assumption about the noise's shape).
 * With the narrowest pair of order statistics that still reaches `level`; when `values` are too few
 * to reach it, the widest pair there is (min–max) and the confidence that one has: with the 5
 * rounds of a default run that is 93.75 %, from 6 rounds on 95 % is reached. Null without values.
 *
 * A verdict is only as firm as this interval: a target inside it is within the machine's noise,
 * and more rounds (not a rerun) are what narrow it.
 */
export function medianInterval(values: readonly number[], level = 0.95): { lo: number; hi: number; confidence: number } | null {
  const n = values.length;
  if (n === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  // The interval [s[k], s[n-1-k]] misses the median when k or fewer values lie below it, or k or
  // fewer above: its confidence is 1 − 2·P(X ≤ k), X ~ Binomial(n, 1/2).
  let pmf = 0.5 ** n; // P(X = k)
  let cdf = pmf; // P(X ≤ k)
  let k = 0;
  while (k + 1 <= (n - 1) / 2) {
    const nextPmf = (pmf * (n - k)) / (k + 1);
    if (1 - 2 * (cdf + nextPmf) < level) break;
    pmf = nextPmf;
    cdf += nextPmf;
    k++;
  }
  return { lo: s[k]!, hi: s[n - 1 - k]!, confidence: round(1 - 2 * cdf, 4) };
}

/**
 * The p99 of every `len`-second window of seconds [from, to), sliding by one second, from the
 * per-second latency samples: what an ordinary stretch of a run looks like, to hold one window (a
 * flip's) against. A window p99 over 3 s rests on a few thousand samples, so a single
 * garbage-collection pause can set it; the spread of these says how much.
 */
export function slidingP99(latenciesBySecond: readonly (readonly number[])[], from: number, to: number, len: number): number[] {
  const out: number[] = [];
  for (let s = Math.max(0, from); s + len <= Math.min(to, latenciesBySecond.length); s++) {
    out.push(secondsLatency(latenciesBySecond, s, s + len).p99);
  }
  return out;
}

/** Latency statistics of the requests completed in seconds [from, to) of a run (whole seconds). */
export function secondsLatency(latenciesBySecond: readonly (readonly number[])[], from: number, to: number): LatencyStats {
  return latencyStats(latenciesBySecond.slice(from, to).flat());
}

/** Latencies of the responses that arrived in [from, to) seconds of a run, to the millisecond of the arrival. */
export function arrivedBetween(latenciesBySecond: readonly (readonly number[])[], arrivalsBySecond: readonly (readonly number[])[], from: number, to: number): number[] {
  const out: number[] = [];
  for (let s = Math.max(0, Math.floor(from)); s < Math.min(Math.ceil(to), latenciesBySecond.length); s++) {
    const lat = latenciesBySecond[s] ?? [];
    const at = arrivalsBySecond[s] ?? [];
    for (let i = 0; i < lat.length; i++) {
      const t = at[i];
      if (t !== undefined && t >= from && t < to) out.push(lat[i]!);
    }
  }
  return out;
}
