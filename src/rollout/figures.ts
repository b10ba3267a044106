/**
 * Per-arm figures of every context, for the rollout guardrails: requests, 5xx answers,
 * fallbacks and a latency histogram, for the legacy arm and the new arm. Fed where the gateway
 * already observes per-arm outcomes (src/observability/plugin.ts, per context a request
 * touched); cumulative since the process started. A rollout step reads the figures at its start
 * and subtracts them later: the difference is the step.
 *
 * With REDIS_URL every instance adds its increments into one hash per context (HINCRBY, flushed
 * every `flushMs` and before a read on this instance), so the controller judges the traffic of
 * every instance, not its own share.
 */
import type { Redis } from 'ioredis';
import { CONTEXTS, type ContextName } from '../contexts/names.js';

/** Upper bounds (ms) of the latency buckets; the last one catches everything above. */
export const LATENCY_BOUNDS_MS = Object.freeze([1, 2, 3, 5, 7, 10, 15, 20, 30, 50, 75, 100, 150, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000, 10000, 30000]);
const NB = LATENCY_BOUNDS_MS.length;

export interface ArmFigures {
  requests: number;
  errors: number;
  /** new arm only: answered by legacy because the new service failed */
  fallbacks: number;
  /** counts per LATENCY_BOUNDS_MS bucket */
  latency: number[];
}

export interface StepFigures {
  legacy: ArmFigures;
  modern: ArmFigures;
}

export type Arm = 'legacy' | 'modern';

export const emptyArm = (): ArmFigures => ({ requests: 0, errors: 0, fallbacks: 0, latency: new Array<number>(NB).fill(0) });
export const emptyStep = (): StepFigures => ({ legacy: emptyArm(), modern: emptyArm() });

/** a − b, arm by arm (counters never go down; a negative is a reset: counted as 0) */
export function subtract(a: StepFigures, b: StepFigures): StepFigures {
  const arm = (x: ArmFigures, y: ArmFigures): ArmFigures => ({
    requests: Math.max(0, x.requests - y.requests),
    errors: Math.max(0, x.errors - y.errors),
    fallbacks: Math.max(0, x.fallbacks - y.fallbacks),
    latency: x.latency.map((n, i) => Math.max(0, n - (y.latency[i] ?? 0))),
  });
  return { legacy: arm(a.legacy, b.legacy), modern: arm(a.modern, b.modern) };
}

function add(a: ArmFigures, bucket: number, status: number, fellBack: boolean): void {
  a.requests++;
  a.latency[bucket]!++;
  if (status >= 500) a.errors++;
  if (fellBack) a.fallbacks++;
}

const sum = (a: StepFigures, b: StepFigures): StepFigures => {
  const arm = (x: ArmFigures, y: ArmFigures): ArmFigures => ({
    requests: x.requests + y.requests,
    errors: x.errors + y.errors,
    fallbacks: x.fallbacks + y.fallbacks,
    latency: x.latency.map((n, i) => n + (y.latency[i] ?? 0)),
  });
  return { legacy: arm(a.legacy, b.legacy), modern: arm(a.modern, b.modern) };
};

function bucketOf(ms: number): number {
  for (let i = 0; i < NB; i++) if (ms <= LATENCY_BOUNDS_MS[i]!) return i;
  return NB - 1;
}

// field names in the Redis hash: <arm>:<what> and <arm>:b<i>
const field = (arm: Arm, what: 'requests' | 'errors' | 'fallbacks' | number) => (typeof what === 'number' ? `${arm}:b${what}` : `${arm}:${what}`);

export class ArmRecorder {
  private readonly local = new Map<ContextName, StepFigures>(CONTEXTS.map((c) => [c, emptyStep()]));
  /** increments not yet added to Redis, per context (same shape: recording is a few array writes) */
  private pending = new Map<ContextName, StepFigures>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly redis?: Redis,
    private readonly prefix = 'strangler:rollout:',
    flushMs = 1000,
  ) {
    if (redis) {
      this.timer = setInterval(() => void this.flush().catch(() => undefined), flushMs);
      this.timer.unref();
    }
  }

  /**
   * One request's outcome for one context: the arm its decision chose, whether legacy answered
   * instead (a fallback), the response status and latency.
   */
  record(context: ContextName, arm: Arm, fellBack: boolean, status: number, ms: number): void {
    const f = this.local.get(context);
    if (!f) return;
    const b = bucketOf(ms);
    add(f[arm], b, status, fellBack);
    if (this.redis) {
      let p = this.pending.get(context);
      if (!p) this.pending.set(context, (p = emptyStep()));
      add(p[arm], b, status, fellBack);
    }
  }

  /** Adds this instance's pending increments to the shared hashes. */
  async flush(): Promise<void> {
    if (!this.redis || this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    const m = this.redis.multi();
    for (const [context, f] of batch) {
      const fields: Record<string, number> = {};
      for (const arm of ['legacy', 'modern'] as const) {
        const a = f[arm];
        if (a.requests) fields[field(arm, 'requests')] = a.requests;
        if (a.errors) fields[field(arm, 'errors')] = a.errors;
        if (a.fallbacks) fields[field(arm, 'fallbacks')] = a.fallbacks;
        a.latency.forEach((n, i) => {
          if (n) fields[field(arm, i)] = n;
        });
      }
      for (const [k, n] of Object.entries(fields)) m.hincrby(`${this.prefix}fig:${context}`, k, n);
    }
    try {
      await m.exec();
    } catch (err) {
      // put them back: a later flush adds them
      for (const [context, f] of batch) {
        const p = this.pending.get(context);
        this.pending.set(context, p ? sum(p, f) : f);
      }
      throw err;
    }
  }

  /** Cumulative figures of a context: every instance's with Redis, else this process's. */
  async read(context: ContextName): Promise<StepFigures> {
    if (!this.redis) return structuredClone(this.local.get(context) ?? emptyStep());
    await this.flush();
    const h = await this.redis.hgetall(`${this.prefix}fig:${context}`);
    const n = (k: string) => Number(h[k] ?? 0);
    const arm = (a: Arm): ArmFigures => ({
      requests: n(field(a, 'requests')),
      errors: n(field(a, 'errors')),
      fallbacks: n(field(a, 'fallbacks')),
      latency: LATENCY_BOUNDS_MS.map((_, i) => n(field(a, i))),
    });
    return { legacy: arm('legacy'), modern: arm('modern') };
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
