/**
 * The gateway's side of the shadow process (SHADOW_ISOLATION=process, docs/parity.md): starts
 * ./shadow-worker.ts as a child process, hands it each admitted comparison as plain data, and
 * turns its answers back into outcomes for the books (./shadow.ts).
 *
 * Why a process: a shadow call is a whole second read (an upstream call, its JSON, the
 * anti-corruption mapping) plus the comparison. On the gateway's loop that work queues client
 * requests behind it; measured, 100 % shadowing added up to ~20 ms to the clients' p99 on two
 * shared cores (docs/perf/2026-12-05-shadow-cost.md). In a child at niceness 19 the OS runs it
 * only on CPU the gateway leaves idle, and a busy gateway starves it: its jobs wait, the
 * concurrency cap fills, and further shadows are shed, which is "shed first under load" done by
 * the scheduler. The gateway's part is the job's and the outcome's trip over the IPC channel:
 * JSON, batched (one message per BATCH_MS or BATCH_MAX jobs), because a message costs more than
 * its bytes (measured: ~42 µs of the gateway's CPU per job with node's `advanced` serialization
 * one message each, ~11 µs as JSON ten to a message).
 *
 * Failure: if the process cannot start, the gateway compares inline and says so; if it dies, the
 * comparisons in flight count as errors, new ones are shed until it is back (restarted with a
 * backoff), and the clients see nothing of it.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { aggregateFamilies, familiesOf, type FamilyJson } from '../observability/metrics.js';
import type { GatewayConfig } from '../config/load.js';
import type { ContextName, UpstreamName } from '../contexts/names.js';
import type { ScopeLogger } from '../upstream/scope.js';
import type { Arm, Outcome, ShadowJob, ShadowRunner } from './comparator.js';

/** The config as JSON carries it: its one Set as a list. */
export type WireConfig = Omit<GatewayConfig, 'fallbackContexts'> & { readonly fallbackContexts: readonly ContextName[] };

export interface WorkerInit {
  readonly type: 'init';
  readonly config: WireConfig;
  readonly upstreamUrls: Readonly<Partial<Record<UpstreamName, string>>>;
  /** the contexts the gateway shadows; the process answers which of them it can build */
  readonly contexts: readonly ContextName[];
  /** time budget of one shadow call (the gateway's request budget) */
  readonly budgetMs: number;
  readonly nice: number;
}

export interface WireJob {
  readonly id: number;
  readonly job: ShadowJob;
}
export interface WireOutcome {
  readonly id: number;
  readonly outcome: Outcome;
}

/** The shadow process's metrics cross as a registry reports them in JSON. */
export type MetricsJson = FamilyJson[];

export type ToWorker = WorkerInit | { readonly type: 'jobs'; readonly jobs: readonly WireJob[] } | { readonly type: 'metrics'; readonly id: number };

export type FromWorker =
  | { readonly type: 'ready'; readonly contexts: readonly ContextName[]; readonly nice: number }
  | { readonly type: 'init_failed'; readonly reason: string }
  | { readonly type: 'done'; readonly results: readonly WireOutcome[] }
  | { readonly type: 'metrics'; readonly id: number; readonly metrics: MetricsJson }
  | { readonly type: 'log'; readonly level: 'info' | 'warn' | 'error'; readonly obj: Record<string, unknown>; readonly msg: string | undefined };

export interface ShadowProcessOptions {
  config: GatewayConfig;
  upstreamUrls: Readonly<Partial<Record<UpstreamName, string>>>;
  contexts: readonly ContextName[];
  budgetMs: number;
  nice: number;
  /** the gateway's logger: the process's own lines come out here */
  log: ScopeLogger;
  /** how long the process may take to start (default 15 s) */
  startTimeoutMs?: number;
}

/** This module's sibling, as the gateway runs: compiled (.js) or under a TypeScript loader (.ts). */
/** Jobs (and outcomes) wait this long for company before they cross, or until there are BATCH_MAX. */
export const BATCH_MS = 10;
export const BATCH_MAX = 64;

/**
 * Whether a value crosses as JSON unchanged: plain objects, arrays and scalars. A function, a Map
 * or a class instance in a port method's arguments (a promotions evaluation's `prices`) would not:
 * such a job is compared inline.
 */
export function plainData(v: unknown, depth = 0): boolean {
  if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return true;
  if (typeof v !== 'object' || depth > 8) return false;
  if (Array.isArray(v)) return v.every((x) => plainData(x, depth + 1));
  const proto = Object.getPrototypeOf(v) as unknown;
  if (proto !== Object.prototype && proto !== null) return false;
  for (const k in v) if (!plainData((v as Record<string, unknown>)[k], depth + 1)) return false;
  return true;
}

const WORKER = fileURLToPath(new URL(`./shadow-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url));

/**
 * The node flags the shadow process starts with: the gateway's, less what belongs to the gateway
 * alone (an inspector port, a CPU or heap profile) and, when the worker is compiled JavaScript,
 * less the modules the gateway preloads (`--import`/`--require`/`--loader`: a probe or an agent
 * of the gateway's). Under a TypeScript loader (.ts) the preloads stay: the worker needs them.
 */
const PROFILE_OR_DEBUG = /^--(inspect|debug|cpu-prof|heap-prof|prof|diagnostic-dir|redirect-warnings)/;
const PRELOAD = /^(--import|--require|-r|--loader|--experimental-loader)(=|$)/;
const TAKES_VALUE = /^(--(inspect-port|debug-port|cpu-prof-dir|cpu-prof-name|cpu-prof-interval|heap-prof-dir|heap-prof-name|heap-prof-interval|diagnostic-dir|redirect-warnings|import|require|loader|experimental-loader)|-r)$/;

export function inheritedExecArgv(execArgv: readonly string[], keepPreloads: boolean): string[] {
  const out: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const a = execArgv[i]!;
    const dropped = PROFILE_OR_DEBUG.test(a) || (!keepPreloads && PRELOAD.test(a));
    if (dropped) {
      if (TAKES_VALUE.test(a)) i++; // its value is the next entry
      continue;
    }
    if (TAKES_VALUE.test(a) && i + 1 < execArgv.length) out.push(a, execArgv[++i]!); // a kept flag and its value
    else out.push(a);
  }
  return out;
}

interface Pending {
  resolve(outcome: Outcome): void;
  /** the arm a failure is reported against: the shadow arm */
  arm: Arm;
  /** no answer by then: shed (the process is starved or stuck) */
  giveUpAt: number;
}

/** The outcome of a job sampled while the process is not there to take it. */
const RESTARTING: Outcome = Object.freeze({ result: 'shed', reason: 'the shadow process is restarting', learned: [] });

/** A job the process has not answered this long after its deadline is given up (counted shed). */
const GIVE_UP_AFTER_DEADLINE_MS = 5000;
/** A process that lived this long before dying restarts at once; sooner, with a growing backoff. */
const STABLE_MS = 60_000;
/** A scrape waits this long for the process's metrics, then goes on without its latest. */
const METRICS_TIMEOUT_MS = 1000;

/** Counters and histograms only: a gauge of a process that is gone is not carried over. */
const cumulative = (list: MetricsJson): MetricsJson => list.filter((m) => m.type !== 'gauge');

export class ShadowProcess implements ShadowRunner {
  private child: ChildProcess | undefined;
  private ready = false;
  private known = new Set<ContextName>();
  private readonly pending = new Map<number, Pending>();
  private outbox: WireJob[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  private nextId = 1;
  private closing = false;
  private restarts = 0;
  private startedAt = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private sweeper: NodeJS.Timeout | undefined;
  /** the niceness the process reported */
  nice = 0;
  /** metrics requests waiting for the process's answer */
  private readonly asked = new Map<number, (metrics: MetricsJson | undefined) => void>();
  private nextAsk = 1;
  /** the latest metrics of the running process, and the totals of those before it (restarts) */
  private lastMetrics: MetricsJson = [];
  private carried: MetricsJson = [];
  /** `carried` is one set per family (folded since the last restart added to it) */
  private folded = true;

  private constructor(private readonly opts: ShadowProcessOptions) {}

  /**
   * Starts the process and waits until it is ready. Undefined when it cannot start: the error is
   * logged, and the caller compares inline.
   */
  static async start(opts: ShadowProcessOptions): Promise<ShadowProcess | undefined> {
    const p = new ShadowProcess(opts);
    try {
      await p.spawn();
      return p;
    } catch (err) {
      opts.log.error({ event: 'parity.shadow_process_failed', err }, 'parity: the shadow process did not start; comparing on the gateway’s own loop (SHADOW_ISOLATION=inline)');
      await p.close();
      return undefined;
    }
  }

  /** The process id (for an operator's `ps`, and tests). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  describe(): { pid: number | undefined; nice: number } {
    return { pid: this.ready ? this.child?.pid : undefined, nice: this.nice };
  }

  handles(context: ContextName): boolean {
    return this.known.has(context);
  }

  run(job: ShadowJob): Promise<Outcome> | undefined {
    const child = this.child;
    if (!child || !this.ready) return Promise.resolve(RESTARTING);
    if (!plainData(job.args)) return undefined; // an argument JSON would change (a function): the caller compares inline
    const id = this.nextId++;
    this.outbox.push({ id, job });
    if (this.outbox.length >= BATCH_MAX) this.flush();
    else this.flushTimer ??= setTimeout(() => this.flush(), BATCH_MS);
    return new Promise<Outcome>((resolve) => {
      this.pending.set(id, { resolve, arm: job.served === 'legacy' ? 'new' : 'legacy', giveUpAt: job.deadline + GIVE_UP_AFTER_DEADLINE_MS });
      this.sweeper ??= setInterval(() => this.sweep(), 1000).unref();
    });
  }

  /** Sends the jobs waiting in the outbox, one message. */
  private flush(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    const jobs = this.outbox;
    if (jobs.length === 0) return;
    this.outbox = [];
    const child = this.child;
    if (child?.connected) {
      child.send({ type: 'jobs', jobs } satisfies ToWorker);
      return;
    }
    for (const { id } of jobs) this.settle(id, RESTARTING);
  }

  private settle(id: number, outcome: Outcome): void {
    const p = this.pending.get(id);
    if (!p) return; // given up already
    this.pending.delete(id);
    p.resolve(outcome);
  }

  /** Jobs the process has not answered long past their deadline are shed; the slot is the cap's again. */
  private sweep(): void {
    const now = Date.now();
    for (const [id, p] of this.pending) {
      if (now < p.giveUpAt) continue;
      this.pending.delete(id);
      p.resolve({ result: 'shed', reason: 'no answer from the shadow process', learned: [] });
    }
    if (this.pending.size === 0 && this.sweeper) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }

  private spawn(): Promise<void> {
    const { opts } = this;
    const child = fork(WORKER, [], {
      execArgv: inheritedExecArgv(process.execArgv, WORKER.endsWith('.ts')),
      serialization: 'json',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.child = child;
    this.ready = false;
    this.startedAt = Date.now();
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => {
        settled = true;
        reject(new Error(`the shadow process was not ready within ${opts.startTimeoutMs ?? 15_000} ms`));
        child.kill('SIGKILL');
      }, opts.startTimeoutMs ?? 15_000);
      child.on('message', (m: FromWorker) => {
        switch (m.type) {
          case 'ready':
            clearTimeout(timer);
            this.known = new Set(m.contexts);
            this.nice = m.nice;
            this.ready = true;
            // nothing of the process keeps the gateway alive: close() ends it, and so does the gateway's exit
            child.unref();
            child.channel?.unref();
            for (const c of opts.contexts) {
              if (!this.known.has(c)) opts.log.warn({ event: 'parity.shadow_inline', context: c }, `parity: ${c} is compared on the gateway's own loop (a context the shadow process does not have: registered by the gateway's entry point)`);
            }
            if (!settled) {
              settled = true;
              resolve();
            }
            return;
          case 'init_failed':
            clearTimeout(timer);
            if (!settled) {
              settled = true;
              reject(new Error(m.reason));
            }
            return;
          case 'done':
            for (const r of m.results) this.settle(r.id, r.outcome);
            return;
          case 'log':
            opts.log[m.level]({ ...m.obj, shadowProcess: child.pid }, m.msg);
            return;
          case 'metrics':
            this.asked.get(m.id)?.(m.metrics);
            return;
        }
      });
      child.on('error', (err) => {
        clearTimeout(timer);
        if (!settled) {
          settled = true;
          reject(err);
        }
      });
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        if (!settled) {
          settled = true;
          reject(new Error(`the shadow process exited before it was ready (${signal ?? `code ${code}`})`));
        }
        this.exited(child, code, signal);
      });
      const init: ToWorker = { type: 'init', config: { ...opts.config, fallbackContexts: [...opts.config.fallbackContexts] }, upstreamUrls: opts.upstreamUrls, contexts: opts.contexts, budgetMs: opts.budgetMs, nice: opts.nice };
      child.send(init);
    });
  }

  /** The process ended: what it had in flight failed; unless the gateway is closing, it is started again. */
  private exited(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.child !== child) return;
    const wasReady = this.ready;
    this.child = undefined;
    this.ready = false;
    this.outbox = []; // their promises are in `pending`: errors below
    // its counters restart at 0 in the next process: what it had counted stays in the totals
    this.carried = [...this.carried, ...cumulative(this.lastMetrics)];
    this.folded = false;
    this.lastMetrics = [];
    for (const answer of this.asked.values()) answer(undefined);
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      p.resolve({ result: 'error', arm: p.arm, reason: 'the shadow process exited', learned: [] });
    }
    if (this.closing || !wasReady) return;
    if (Date.now() - this.startedAt >= STABLE_MS) this.restarts = 0;
    this.opts.log.error({ event: 'parity.shadow_process_exited', code, signal }, `parity: the shadow process exited (${signal ?? `code ${code}`}); shadows are shed until it is back`);
    this.restartLater();
  }

  /** Starts the process again after a backoff (1 s, doubling to 30 s while it keeps dying young). */
  private restartLater(): void {
    const delay = Math.min(30_000, 1000 * 2 ** this.restarts++);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.closing) return;
      this.spawn().then(
        () => this.opts.log.info({ event: 'parity.shadow_process_restarted', pid: this.child?.pid }, 'parity: the shadow process is back'),
        (err: unknown) => {
          this.opts.log.error({ event: 'parity.shadow_process_failed', err, retryInMs: Math.min(30_000, 1000 * 2 ** this.restarts) }, 'parity: the shadow process did not restart');
          if (!this.closing) this.restartLater();
        },
      );
    }, delay).unref();
  }

  /**
   * The process's metrics for the gateway's /metrics (docs/parity.md): its upstream calls under the
   * gateway's own `gateway_upstream_*` names (inline, shadow calls count there too), its breakers
   * as `gateway_shadow_breaker_*`, its CPU and memory. Counters keep counting across restarts.
   * A process that does not answer within a second is left at what it said last.
   */
  async metrics(): Promise<MetricsJson> {
    const child = this.child;
    if (child?.connected && this.ready) {
      const id = this.nextAsk++;
      const got = await new Promise<MetricsJson | undefined>((resolve) => {
        const timer = setTimeout(() => answer(undefined), METRICS_TIMEOUT_MS);
        const answer = (metrics: MetricsJson | undefined) => {
          clearTimeout(timer);
          this.asked.delete(id);
          resolve(metrics);
        };
        this.asked.set(id, answer);
        child.send({ type: 'metrics', id } satisfies ToWorker);
      });
      // an empty answer is a report that failed: the last one stands (counters must not drop)
      if (got && got.length > 0 && this.child === child) this.lastMetrics = got;
    }
    if (this.carried.length === 0) return this.lastMetrics;
    if (!this.folded) {
      // the totals of earlier processes, folded into one set once per restart, not per scrape
      this.carried = cumulative(await familiesOf(aggregateFamilies([this.carried])));
      this.folded = true;
    }
    return [...this.carried, ...this.lastMetrics];
  }

  /** Ends the process: it closes its connections and exits; killed if it has not within 2 s. */
  async close(): Promise<void> {
    this.closing = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    if (this.sweeper) clearInterval(this.sweeper);
    if (this.flushTimer) clearTimeout(this.flushTimer);
    const child = this.child;
    if (!child) return;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    if (child.connected) child.disconnect();
    else child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
    await gone;
    clearTimeout(timer);
  }
}
