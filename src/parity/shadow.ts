/**
 * Shadow traffic and runtime parity (docs/parity.md). For a sampled share of a context's reads,
 * the port wrapper (src/composition/ports.ts) hands the routed arm's answer here once it has
 * resolved; once the client's response has been sent, the other arm is called and both canonical
 * answers compared under the context's rules (./comparator.ts): in the shadow process
 * (./shadow-process.ts, SHADOW_ISOLATION=process), or on this loop (`inline`, the default, and for
 * a context or a job the shadow process cannot take). This keeps the books:
 *
 * - match / mismatch / noise / error / shed counts (ParityReader, gateway_parity_total);
 * - mismatching fields by pattern, bounded (top K, then `other`);
 * - the last N mismatch samples, redacted, with request and trace ids;
 * - business signals (money per currency, stock status, promotions);
 * - a `parity.alarm` event when the mismatch rate over a window crosses a threshold;
 * - counts summed across instances in Redis when REDIS_URL is set;
 * - the noise patterns learned (./comparator.ts: the legacy arm asked twice).
 */
import type { ContextName } from '../contexts/names.js';
import type { ShadowPolicy } from './policy.js';
import type { EventBus } from '../events/bus.js';
import type { Scope, ScopeLogger } from '../upstream/scope.js';
import type { ParityCounts, ParityReader } from './types.js';
import { NO_PARITY } from './types.js';
import { redact, toCanonical, type Canonical, type Difference } from './compare.js';
import { Comparator, MAX_NOISE_PATTERNS, shadowScope, type Arm, type Outcome, type ShadowRunner } from './comparator.js';

export type ParityResult = keyof ParityCounts;
export type { Arm } from './comparator.js';

/** Where the counts go besides this instance: Prometheus (src/observability/metrics.ts). */
export interface ParityMetrics {
  parity(context: ContextName, result: ParityResult): void;
  parityField(context: ContextName, path: string): void;
  parityMoney(context: ContextName, currency: string, minorUnits: number): void;
  parityStockStatus(context: ContextName): void;
  parityPromotion(context: ContextName): void;
}

/** Counts summed over every instance (Redis); absent: this instance's counts are the shared ones. */
export interface SharedParityStore {
  incr(context: ContextName, result: ParityResult): void;
  read(context: ContextName): Promise<ParityCounts>;
  close(): Promise<void>;
}

export interface ParitySample {
  at: string;
  requestId: string;
  traceId: string | null;
  servedBy: 'legacy' | 'modern';
  legacy: Canonical;
  modern: Canonical;
  differences: { path: string; legacy: Canonical; modern: Canonical }[];
}

export interface ShadowOptions {
  contexts: readonly { name: ContextName; percent: number; policy: ShadowPolicy | undefined }[];
  maxConcurrent: number;
  maxPerSecond: number;
  samples: number;
  topFields: number;
  alarm: { rate: number; windowMs: number; minSamples: number };
  /** time budget of one shadow call (the gateway's request budget) */
  budgetMs: number;
  metrics: ParityMetrics;
  events: EventBus;
  /** true while the gateway is near its load-shedding limits: shadow calls are shed first */
  underPressure: () => boolean;
  store?: SharedParityStore;
  /** where comparisons run off this loop (the shadow process); absent: inline */
  runner?: ShadowRunner;
  log: ScopeLogger;
  /** injectable for tests */
  now?: () => number;
  random?: () => number;
}

/** Calls the same method of the other arm (or of the reference arm again) with a fresh scope. */
export type ArmCall = (arm: Arm, scope: Scope) => Promise<unknown>;

interface Window {
  /** per-second buckets: [second, compared, mismatches] */
  buckets: { second: number; compared: number; mismatches: number }[];
  alarmed: boolean;
}

class ContextParity {
  readonly counts = { match: 0, mismatch: 0, noise: 0, error: 0, shed: 0 };
  readonly fields = new Map<string, number>();
  readonly samples: ParitySample[] = [];
  /** patterns seen to differ between two answers of the reference arm */
  readonly noise = new Set<string>();
  readonly window: Window = { buckets: [], alarmed: false };
  constructor(
    readonly name: ContextName,
    readonly percent: number,
    readonly policy: ShadowPolicy | undefined,
  ) {}
}

export class ShadowParity implements ParityReader {
  private readonly byContext = new Map<ContextName, ContextParity>();
  private inFlight = 0;
  private second = 0;
  private startedThisSecond = 0;
  private readonly now: () => number;
  private readonly random: () => number;
  /** comparisons run on this loop: SHADOW_ISOLATION=inline, a context the runner lacks, a job it cannot take */
  private readonly inline: Comparator;

  constructor(private readonly opts: ShadowOptions) {
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? Math.random;
    this.inline = new Comparator(opts.contexts);
    for (const c of opts.contexts) this.byContext.set(c.name, new ContextParity(c.name, c.percent, c.policy));
  }

  /** The share (0..100) of the context's reads shadowed. */
  percent(context: ContextName): number {
    return this.byContext.get(context)?.percent ?? 0;
  }

  /** Whether this read is shadowed: one random draw and a compare (none when the share is 0). */
  sampled(context: ContextName): boolean {
    const p = this.byContext.get(context)?.percent ?? 0;
    return p > 0 && this.random() * 100 < p;
  }

  /** Every context this instance compares (with a share above 0, or with counts). */
  contexts(): ContextName[] {
    return [...this.byContext.keys()];
  }

  counts(context: ContextName): ParityCounts {
    const c = this.byContext.get(context);
    return c ? { ...c.counts } : NO_PARITY;
  }

  async sharedCounts(context: ContextName): Promise<ParityCounts> {
    if (!this.opts.store) return this.counts(context);
    try {
      return await this.opts.store.read(context);
    } catch (err) {
      this.opts.log.warn({ event: 'parity.shared_read_failed', context, err }, 'parity: shared counts unreadable, answering this instance’s');
      return this.counts(context);
    }
  }

  /** Mismatching fields by pattern, most first (bounded: top K, then `other`). */
  fields(context: ContextName): { path: string; mismatches: number }[] {
    const c = this.byContext.get(context);
    if (!c) return [];
    return [...c.fields].map(([path, mismatches]) => ({ path, mismatches })).sort((a, b) => b.mismatches - a.mismatches);
  }

  /** The last mismatch samples, newest first. */
  samples(context: ContextName): ParitySample[] {
    return [...(this.byContext.get(context)?.samples ?? [])];
  }

  /** Where `context` is compared: the shadow process (its pid and niceness), or this loop. */
  comparedIn(context: ContextName): { mode: 'process' | 'inline' | 'none'; pid?: number; nice?: number } {
    if (this.percent(context) === 0) return { mode: 'none' };
    const r = this.opts.runner;
    if (!r?.handles(context)) return { mode: 'inline' };
    const { pid, nice } = r.describe();
    return { mode: 'process', ...(pid === undefined ? {} : { pid }), nice };
  }

  /** The rules this context is compared by: its policy's, with the operator's (SHADOW_<CTX>_IGNORE, …) added. */
  rules(context: ContextName): { ignore: string[]; unordered: string[]; tolerance: Record<string, number> } {
    const p = this.byContext.get(context)?.policy;
    return { ignore: [...(p?.ignore ?? [])], unordered: [...(p?.unordered ?? [])], tolerance: { ...p?.tolerance } };
  }

  /** Field patterns learned as noise. */
  noise(context: ContextName): string[] {
    return [...(this.byContext.get(context)?.noise ?? [])].sort();
  }

  /**
   * A sampled read was answered by `served` with `answer` (already resolved). Snapshots the
   * answer now (the caller may mutate it); the shadow call is admitted or shed, and started, once
   * the client's response has been sent (`scope.afterResponse`).
   */
  observe(context: ContextName, method: string, scope: Scope, served: Arm, answer: unknown, args: readonly unknown[], call: ArmCall): void {
    const c = this.byContext.get(context);
    if (!c) return;
    const snapshot = toCanonical(answer);
    // the shadow call starts once the client has its answer: none of its work is in front of it
    scope.afterResponse(() => {
      if (!this.admit()) return this.count(c, 'shed');
      this.inFlight++;
      this.compare(c, method, scope, served, snapshot, args, call)
        .catch((err: unknown) => {
          this.opts.log.warn({ event: 'parity.failed', context, err }, `parity: comparison of ${context} failed`);
          this.count(c, 'error');
        })
        .finally(() => this.inFlight--);
    });
  }

  /** Concurrency cap, per-second budget, and the load signal: shadow work is shed first. */
  private admit(): boolean {
    if (this.inFlight >= this.opts.maxConcurrent) return false;
    const second = Math.floor(this.now() / 1000);
    if (second !== this.second) {
      this.second = second;
      this.startedThisSecond = 0;
    }
    if (this.startedThisSecond >= this.opts.maxPerSecond) return false;
    if (this.opts.underPressure()) return false;
    this.startedThisSecond++;
    return true;
  }

  private async compare(c: ContextParity, method: string, scope: Scope, served: Arm, answer: Canonical, args: readonly unknown[], call: ArmCall): Promise<void> {
    const { runner } = this.opts;
    const remote = runner?.handles(c.name)
      ? runner.run({ context: c.name, method, args, served, answer, decision: scope.decision, propagate: scope.propagate, deadline: this.now() + this.opts.budgetMs })
      : undefined;
    const outcome = await (remote ?? this.inline.compare(c.name, method, served, answer, (arm) => call(arm, shadowScope(scope.decision, scope.propagate, scope.log, this.opts.budgetMs))));
    this.settle(c, scope, served, outcome);
  }

  /** An outcome, wherever it was compared: counted, sampled, signalled. */
  private settle(c: ContextParity, scope: Scope, served: Arm, outcome: Outcome): void {
    for (const pattern of outcome.learned) if (c.noise.size < MAX_NOISE_PATTERNS) c.noise.add(pattern);
    switch (outcome.result) {
      case 'match':
      case 'noise':
        return this.verdict(c, outcome.result);
      case 'mismatch':
        return this.mismatch(c, scope, served, outcome.legacy, outcome.modern, outcome.differences);
      case 'error':
        scope.log.info({ event: 'parity.shadow_failed', context: c.name, arm: outcome.arm, reason: outcome.reason }, `parity: shadow call to ${c.name} (${outcome.arm}) failed`);
        return this.count(c, 'error');
      case 'shed':
        return this.count(c, 'shed');
    }
  }

  private mismatch(c: ContextParity, scope: Scope, served: Arm, legacy: Canonical, modern: Canonical, real: readonly Difference[]): void {
    const { metrics } = this.opts;
    for (const pattern of new Set(real.map((d) => d.pattern))) {
      const key = c.fields.has(pattern) || c.fields.size < this.opts.topFields ? pattern : 'other';
      c.fields.set(key, (c.fields.get(key) ?? 0) + 1);
      metrics.parityField(c.name, key);
    }
    const signal = c.policy?.signal;
    if (signal === 'price') {
      for (const d of real) if (d.currency !== undefined && typeof d.legacy === 'number' && typeof d.modern === 'number') metrics.parityMoney(c.name, d.currency, Math.abs(d.modern - d.legacy));
    } else if (signal === 'stock') {
      for (const d of real) if (d.pattern.endsWith('.status') || (d.legacy === null) !== (d.modern === null)) metrics.parityStockStatus(c.name);
    } else if (signal === 'promotion') {
      metrics.parityPromotion(c.name);
    }
    if (this.opts.samples > 0) {
      const traceparent = scope.propagate.traceparent;
      c.samples.unshift({
        at: new Date(this.now()).toISOString(),
        requestId: scope.propagate['x-request-id'] ?? '',
        traceId: traceparent?.split('-')[1] ?? null,
        servedBy: served === 'legacy' ? 'legacy' : 'modern',
        legacy: redact(legacy),
        modern: redact(modern),
        differences: real.slice(0, 20).map((d) => ({ path: d.path, legacy: redact(d.legacy), modern: redact(d.modern) })),
      });
      if (c.samples.length > this.opts.samples) c.samples.length = this.opts.samples;
    }
    scope.log.warn({ event: 'parity.mismatch', context: c.name, paths: real.slice(0, 5).map((d) => d.path) }, `parity: ${c.name} answers differ`);
    this.verdict(c, 'mismatch');
  }

  /** A comparison's outcome: counted, and into the alarm window. */
  private verdict(c: ContextParity, result: 'match' | 'mismatch' | 'noise'): void {
    this.count(c, result);
    const { rate, windowMs, minSamples } = this.opts.alarm;
    const second = Math.floor(this.now() / 1000);
    const oldest = second - Math.ceil(windowMs / 1000) + 1;
    const w = c.window;
    while (w.buckets.length > 0 && w.buckets[0]!.second < oldest) w.buckets.shift();
    let last = w.buckets[w.buckets.length - 1];
    if (last?.second !== second) {
      last = { second, compared: 0, mismatches: 0 };
      w.buckets.push(last);
    }
    last.compared++;
    if (result === 'mismatch') last.mismatches++;
    let compared = 0;
    let mismatches = 0;
    for (const b of w.buckets) {
      compared += b.compared;
      mismatches += b.mismatches;
    }
    if (compared < minSamples) return;
    const mismatchRate = mismatches / compared;
    if (mismatchRate >= rate && !w.alarmed) {
      w.alarmed = true;
      this.opts.events.emit(
        'parity.alarm',
        { mismatchRate, window: windowMs, threshold: rate, compared, mismatches, fields: this.fields(c.name).slice(0, 5) },
        { context: c.name, actor: 'gateway' },
      );
      this.opts.log.warn({ event: 'parity.alarm', context: c.name, mismatchRate, compared }, `parity: ${c.name} mismatch rate ${(mismatchRate * 100).toFixed(1)} % over the window`);
    } else if (mismatchRate < rate) {
      w.alarmed = false;
    }
  }

  private count(c: ContextParity, result: ParityResult): void {
    c.counts[result]++;
    this.opts.metrics.parity(c.name, result);
    this.opts.store?.incr(c.name, result);
  }

  async close(): Promise<void> {
    await this.opts.runner?.close();
    await this.opts.store?.close();
  }
}
