/**
 * Live traffic per context and arm, for the operator console's stream (src/console/): over the
 * last few seconds, how many requests each arm answered (legacy, new, legacy after the new one
 * failed), their error rate and latency quantiles. A ring of per-second buckets with a small
 * latency histogram each: recording is a few array writes, reading walks `windowSeconds` buckets.
 * Read from memory, never by parsing the /metrics text.
 */
import { CONTEXTS, type ContextName } from '../contexts/names.js';

export const ARMS = ['legacy', 'new', 'legacy_fallback'] as const;
export type Arm = (typeof ARMS)[number];

/** Upper bounds (ms) of the latency buckets; a last bucket holds everything slower. */
const BOUNDS_MS = Object.freeze([1, 2, 3, 5, 7, 10, 15, 20, 30, 50, 75, 100, 150, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000]);
const NB = BOUNDS_MS.length + 1;

export interface ArmView {
  /** requests in the window */
  requests: number;
  reqPerSec: number;
  /** share of 5xx answers, 0 without requests */
  errorRate: number;
  /** latency quantiles in ms (the bucket's upper bound), null without requests */
  p50Ms: number | null;
  p99Ms: number | null;
}

export type ContextArms = Record<Arm, ArmView>;

export class ArmTraffic {
  private readonly slots: number;
  private readonly seconds: Float64Array;
  private readonly total: Float64Array;
  private readonly errors: Float64Array;
  private readonly latency: Float64Array;

  constructor(readonly windowSeconds = 10) {
    this.slots = CONTEXTS.length * ARMS.length * windowSeconds;
    this.seconds = new Float64Array(this.slots).fill(-1);
    this.total = new Float64Array(this.slots);
    this.errors = new Float64Array(this.slots);
    this.latency = new Float64Array(this.slots * NB);
  }

  private base(context: ContextName, arm: Arm): number {
    return (CONTEXTS.indexOf(context) * ARMS.length + ARMS.indexOf(arm)) * this.windowSeconds;
  }

  record(context: ContextName, arm: Arm, status: number, seconds: number, nowMs = Date.now()): void {
    if (!CONTEXTS.includes(context)) return;
    const sec = Math.floor(nowMs / 1000);
    const i = this.base(context, arm) + (sec % this.windowSeconds);
    if (this.seconds[i] !== sec) {
      this.seconds[i] = sec;
      this.total[i] = 0;
      this.errors[i] = 0;
      this.latency.fill(0, i * NB, i * NB + NB);
    }
    this.total[i]! += 1;
    if (status >= 500) this.errors[i]! += 1;
    const ms = seconds * 1000;
    let b = 0;
    while (b < BOUNDS_MS.length && ms > BOUNDS_MS[b]!) b++;
    this.latency[i * NB + b]! += 1;
  }

  /** The window ends with the current second (still filling), so a change shows within a second. */
  read(context: ContextName, nowMs = Date.now()): ContextArms {
    const now = Math.floor(nowMs / 1000);
    const out = {} as ContextArms;
    for (const arm of ARMS) {
      const base = this.base(context, arm);
      let total = 0;
      let errors = 0;
      const hist = new Float64Array(NB);
      for (let k = 0; k < this.windowSeconds; k++) {
        const i = base + k;
        const sec = this.seconds[i]!;
        if (sec > now - this.windowSeconds && sec <= now) {
          total += this.total[i]!;
          errors += this.errors[i]!;
          for (let b = 0; b < NB; b++) hist[b]! += this.latency[i * NB + b]!;
        }
      }
      out[arm] = {
        requests: total,
        reqPerSec: total / this.windowSeconds,
        errorRate: total === 0 ? 0 : errors / total,
        p50Ms: quantile(hist, total, 0.5),
        p99Ms: quantile(hist, total, 0.99),
      };
    }
    return out;
  }
}

function quantile(hist: Float64Array, total: number, q: number): number | null {
  if (total === 0) return null;
  const rank = Math.ceil(q * total);
  let seen = 0;
  for (let b = 0; b < NB; b++) {
    seen += hist[b]!;
    // past the last bound: the request budget (5 s by default) caps it anyway
    if (seen >= rank) return BOUNDS_MS[Math.min(b, BOUNDS_MS.length - 1)]!;
  }
  return null;
}
