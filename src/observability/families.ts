/**
 * Metric families whose series are plain objects the hot path holds on to: `inc()` and
 * `observe()` touch a number or two and allocate nothing. prom-client's own children re-hash
 * their label object on every call (`labels()` returns a bound `inc(labels)`), which is several
 * allocations per observation on a path that makes a dozen per request. These families still
 * register in a prom-client Registry, which formats them: they give it what its `get()` expects.
 */
import type { Metric, Registry } from 'prom-client';

type Labels = Record<string, string>;

interface MetricValue {
  labels: Labels | Record<string, string | number>;
  value: number;
  metricName?: string;
}

/** How `/metrics` combines a series across cluster workers (prom-client's AggregatorRegistry). */
export type Aggregator = 'sum' | 'max' | 'min' | 'average';

abstract class Family<S> {
  aggregator: Aggregator = 'sum';
  protected readonly series = new Map<string, S>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    readonly type: 'counter' | 'gauge' | 'histogram',
  ) {}

  /** The series for these label values (in `labelNames` order); callers keep it for the hot path. */
  child(...values: string[]): S {
    if (values.length !== this.labelNames.length) throw new Error(`${this.name}: expected ${this.labelNames.length} label values, got ${values.length}`);
    const key = values.join('\u0000');
    let s = this.series.get(key);
    if (!s) {
      const labels: Labels = {};
      this.labelNames.forEach((n, i) => (labels[n] = values[i]!));
      s = this.create(labels);
      this.series.set(key, s);
    }
    return s;
  }

  /** Across workers: counters and histograms add up; a state gauge (breaker) says its worst. */
  aggregate(how: Aggregator): this {
    this.aggregator = how;
    return this;
  }

  private refresh: (() => void) | undefined;

  /**
   * `fn` runs before every read of the family (a scrape, or the primary collecting a cluster
   * worker's registries), for a gauge that reports a state read when asked rather than tracked.
   */
  onCollect(fn: () => void): this {
    this.refresh = fn;
    return this;
  }

  register(registry: Registry): this {
    // The registry only calls name/help/type/get(): this family is a Metric as far as it can tell.
    registry.registerMetric(this as unknown as Metric);
    return this;
  }

  protected abstract create(labels: Labels): S;
  protected abstract values(): MetricValue[];

  get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: MetricValue[] }> {
    this.refresh?.();
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: this.values() });
  }

  reset(): void {
    this.series.clear();
  }
}

export class Scalar {
  value = 0;
  constructor(readonly labels: Labels) {}
  inc(by = 1): void {
    this.value += by;
  }
  set(v: number): void {
    this.value = v;
  }
}

export class ScalarFamily extends Family<Scalar> {
  constructor(name: string, help: string, labelNames: readonly string[], type: 'counter' | 'gauge' = 'counter') {
    super(name, help, labelNames, type);
  }
  protected create(labels: Labels): Scalar {
    return new Scalar(labels);
  }
  protected values(): MetricValue[] {
    return [...this.series.values()].map((s) => ({ labels: s.labels, value: s.value }));
  }
}

export class HistogramSeries {
  /** per-bucket counts (not cumulative); the last slot is +Inf */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(
    readonly labels: Labels,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length + 1);
  }
  observe(v: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && v > b[i]!) i++;
    this.counts[i]! += 1;
    this.sum += v;
    this.count += 1;
  }
}

export class HistogramFamily extends Family<HistogramSeries> {
  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    readonly buckets: readonly number[],
  ) {
    super(name, help, labelNames, 'histogram');
  }
  protected create(labels: Labels): HistogramSeries {
    return new HistogramSeries(labels, this.buckets);
  }
  protected values(): MetricValue[] {
    const out: MetricValue[] = [];
    for (const s of this.series.values()) {
      let cumulative = 0;
      this.buckets.forEach((le, i) => {
        cumulative += s.counts[i]!;
        out.push({ metricName: `${this.name}_bucket`, labels: { ...s.labels, le }, value: cumulative });
      });
      out.push({ metricName: `${this.name}_bucket`, labels: { ...s.labels, le: '+Inf' }, value: s.count });
      out.push({ metricName: `${this.name}_sum`, labels: s.labels, value: s.sum });
      out.push({ metricName: `${this.name}_count`, labels: s.labels, value: s.count });
    }
    return out;
  }
}
