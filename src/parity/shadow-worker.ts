/**
 * The shadow process (SHADOW_ISOLATION=process, docs/parity.md): started by the gateway
 * (./shadow-process.ts), it makes the shadow calls and compares the answers (./comparator.ts), so
 * that none of that work runs on the gateway's event loop, and at a lower OS priority
 * (SHADOW_PROCESS_NICE), so that it runs on the CPU the gateway leaves idle. It has upstream
 * clients of its own (connections, breakers: a failing shadow arm never opens the breaker clients
 * are served through), no cache (a shadow call asks the upstream), and keeps no counts: each
 * outcome goes back to the gateway, which counts, samples and signals it.
 *
 * Its logs go to the gateway's logger (a `log` message), so they land where the gateway's do.
 * It exits when the gateway closes the channel, or dies.
 */
import { readdirSync } from 'node:fs';
import { setPriority } from 'node:os';
import { Telemetry } from '../observability/telemetry.js';
import { familiesOf } from '../observability/metrics.js';
import { contextUpstreams } from '../upstream/clients.js';
import { contexts } from '../contexts/registry.js';
import { sealContexts, type ContextName } from '../contexts/names.js';
import { LegacyCatalog } from '../occ/legacy-catalog.js';
import type { Scope, ScopeLogger } from '../upstream/scope.js';
import type { Upstream } from '../upstream/http.js';
import { withOperatorRules } from './policy.js';
import { Comparator, failureReason, shadowScope, type Arm, type Outcome, type ShadowJob } from './comparator.js';
import { BATCH_MAX, BATCH_MS, type FromWorker, type MetricsJson, type ToWorker, type WireOutcome, type WorkerInit } from './shadow-process.js';

type PortMethod = (scope: Scope, ...rest: unknown[]) => Promise<unknown>;

const send = (message: FromWorker): void => {
  if (process.connected && process.send) process.send(message);
};

/** A log line's fields as JSON can carry them: an error as its code and detail (never a stack). */
function wireFields(obj: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) out[k] = v instanceof Error ? failureReason(v) : v;
  return out;
}

const log: ScopeLogger = {
  info: (obj, msg) => send({ type: 'log', level: 'info', obj: wireFields(obj), msg }),
  warn: (obj, msg) => send({ type: 'log', level: 'warn', obj: wireFields(obj), msg }),
  error: (obj, msg) => send({ type: 'log', level: 'error', obj: wireFields(obj), msg }),
};

/** Outcomes wait for company as jobs do (./shadow-process.ts BATCH_MS). */
let results: WireOutcome[] = [];
let resultsTimer: NodeJS.Timeout | undefined;
function done(id: number, outcome: Outcome): void {
  results.push({ id, outcome });
  if (results.length >= BATCH_MAX) flushResults();
  else resultsTimer ??= setTimeout(flushResults, BATCH_MS);
}
function flushResults(): void {
  if (resultsTimer) clearTimeout(resultsTimer);
  resultsTimer = undefined;
  if (results.length === 0) return;
  send({ type: 'done', results });
  results = [];
}

/**
 * Lowers every thread of this process to `nice` (Linux: per thread, /proc/self/task; the threads
 * node started before this line would keep the old priority otherwise, and threads started later
 * inherit it). Elsewhere the process as a whole. Returns the niceness now in force.
 */
function lowerPriority(nice: number): number {
  if (nice === 0) return 0;
  let tids: number[] = [];
  try {
    tids = readdirSync('/proc/self/task').map(Number);
  } catch {
    // no /proc: the process
  }
  if (tids.length === 0) setPriority(0, nice);
  for (const tid of tids) setPriority(tid, nice);
  return nice;
}

interface World {
  comparator: Comparator;
  arms: Map<ContextName, Record<Arm, Record<string, PortMethod>>>;
  upstreams: Upstream[];
  telemetry: Telemetry;
  budgetMs: number;
}

function build(init: WorkerInit): World {
  const config = { ...init.config, fallbackContexts: new Set(init.config.fallbackContexts) };
  sealContexts();
  const telemetry = new Telemetry({ serviceName: config.otel.serviceName, tracesUrl: config.otel.tracesUrl, log: (msg, err) => log.warn({ event: 'otel.export_failed', detail: err?.message }, msg) });
  const upstreams = contextUpstreams(config, init.upstreamUrls, telemetry);
  for (const u of Object.values(upstreams)) {
    telemetry.metrics.breakerChanged(u.name, u.breakerState, false);
    u.onBreakerChange((state) => {
      telemetry.metrics.breakerChanged(u.name, state);
      log.warn({ event: 'breaker', upstream: u.name, state, shadow: true }, `shadow process: circuit breaker of ${u.name} is ${state}`);
    });
  }
  const catalog = new LegacyCatalog(upstreams.legacy, undefined);
  const wanted = new Set(init.contexts);
  const known = contexts().filter((d) => wanted.has(d.name));
  const arms = new Map<ContextName, Record<Arm, Record<string, PortMethod>>>();
  for (const d of known) {
    const deps = { upstream: upstreams[d.name]!, legacy: upstreams.legacy, catalog, upstreams };
    arms.set(d.name, { legacy: d.port.legacy(deps) as Record<string, PortMethod>, new: d.port.new(deps) as Record<string, PortMethod> });
  }
  return {
    comparator: new Comparator(known.map((d) => ({ name: d.name, policy: withOperatorRules(d.policy?.shadow, config.shadow.rules[d.name]) }))),
    arms,
    upstreams: Object.values(upstreams),
    telemetry,
    budgetMs: init.budgetMs,
  };
}

let world: World | undefined;

process.on('message', (message: ToWorker) => {
  if (message.type === 'init') {
    try {
      const nice = lowerPriority(message.nice);
      world = build(message);
      send({ type: 'ready', contexts: [...world.arms.keys()], nice });
    } catch (err) {
      const failed: FromWorker = { type: 'init_failed', reason: failureReason(err) };
      if (process.send) process.send(failed, () => process.exit(1));
      else process.exit(1);
    }
    return;
  }
  const w = world;
  if (message.type === 'metrics') {
    void reportMetrics(w).then(
      (metrics) => send({ type: 'metrics', id: message.id, metrics }),
      () => send({ type: 'metrics', id: message.id, metrics: [] }),
    );
    return;
  }
  if (!w) return;
  for (const { id, job } of message.jobs) run(w, id, job);
});

/** This process's breakers are not those clients are served through: they report under their own names. */
const RENAMED: Readonly<Record<string, string>> = {
  gateway_upstream_breaker_state: 'gateway_shadow_breaker_state',
  gateway_upstream_breaker_transitions_total: 'gateway_shadow_breaker_transitions_total',
};

/**
 * What the gateway's /metrics shows of this process (./shadow-process.ts `metrics`): its upstream
 * calls, its breakers renamed, and its own CPU and memory.
 */
async function reportMetrics(w: World | undefined): Promise<MetricsJson> {
  const out: MetricsJson = [];
  for (const m of w ? await familiesOf(w.telemetry.metrics.registry) : []) {
    if (!m.name.startsWith('gateway_upstream_') || m.values.length === 0) continue;
    const name = RENAMED[m.name];
    out.push(name ? { ...m, name, help: `${m.help} (the shadow process's own, SHADOW_ISOLATION=process)` } : m);
  }
  const cpu = process.cpuUsage();
  out.push(
    { name: 'gateway_shadow_process_cpu_seconds_total', help: 'CPU time (user and system) of the shadow process (SHADOW_ISOLATION=process), over its restarts', type: 'counter', aggregator: 'sum', values: [{ labels: {}, value: (cpu.user + cpu.system) / 1e6 }] },
    { name: 'gateway_shadow_process_resident_memory_bytes', help: 'Resident memory of the shadow process (SHADOW_ISOLATION=process)', type: 'gauge', aggregator: 'sum', values: [{ labels: {}, value: process.memoryUsage.rss() }] },
  );
  return out;
}

function run(w: World, id: number, job: ShadowJob): void {
  if (Date.now() > job.deadline) return done(id, { result: 'shed', reason: 'reached past its deadline', learned: [] });
  const arms = w.arms.get(job.context);
  if (!arms) return done(id, { result: 'error', arm: job.served, reason: `the shadow process has no context ${job.context}`, learned: [] });
  const call = (arm: Arm): Promise<unknown> => {
    const scope = shadowScope(job.decision, job.propagate, log, w.budgetMs);
    const port = arms[arm];
    const method = port[job.method];
    if (typeof method !== 'function') return Promise.reject(new Error(`${job.context} has no port method ${job.method}`));
    return method.call(port, scope, ...job.args);
  };
  w.comparator.compare(job.context, job.method, job.served, job.answer, call).then(
    (outcome) => done(id, outcome),
    (err: unknown) => done(id, { result: 'error', arm: job.served, reason: failureReason(err), learned: [] }),
  );
}

// the gateway closed the channel (close) or died: nothing left to compare for
process.on('disconnect', () => {
  if (resultsTimer) clearTimeout(resultsTimer);
  const w = world;
  world = undefined;
  void Promise.allSettled([...(w?.upstreams ?? []).map((u) => u.close()), w?.telemetry.close()]).finally(() => process.exit(0));
});
