/**
 * The gateway's Prometheus metrics: one Registry per gateway (tests build several in a process),
 * plus the process metrics (CPU, memory, event loop, GC), which describe the process and so are
 * collected once per process and served alongside.
 *
 * Label values are bounded by construction: routes are fastify route patterns (never raw URLs),
 * methods outside the known set become OTHER, contexts, backends, outcomes and codes come from
 * the gateway's own enums.
 */
import { RecentTraffic } from './recent-traffic.js';
import { ArmTraffic } from './arm-traffic.js';
import { AggregatorRegistry, Counter, Registry, collectDefaultMetrics } from 'prom-client';
import { CONTEXTS, flagOf, type ContextName } from '../contexts/names.js';
import type { RoutingDecision } from '../routing/decide.js';
import type { BreakerState, CallOutcome } from '../upstream/http.js';
import type { CacheMetrics } from '../cache/cache.js';
import { HistogramFamily, ScalarFamily, type HistogramSeries, type Scalar } from './families.js';

/** Inbound latency: a cached answer in a few ms up to the 5 s request budget. */
export const REQUEST_BUCKETS = Object.freeze([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]);
/** Upstream calls on a LAN answer in a millisecond or two; timeouts sit at the top. */
export const UPSTREAM_BUCKETS = Object.freeze([0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]);

/** Event lag: the broker hands an event over in milliseconds; seconds mean a backlog or a clock skew. */
export const EVENT_LAG_BUCKETS = Object.freeze([0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]);

export const OUTCOMES: readonly CallOutcome[] = Object.freeze(['ok', '4xx', '5xx', 'timeout', 'unavailable', 'breaker_open', 'invalid_payload', 'cancelled']);
/** Who answered a context for a request: its routed arm, or legacy after the new arm failed. */
export type ServedBy = 'legacy' | 'new' | 'legacy_fallback';
const SERVED_BY: readonly ServedBy[] = ['legacy', 'new', 'legacy_fallback'];
const BREAKER_VALUE: Readonly<Record<BreakerState, number>> = { closed: 0, 'half-open': 1, open: 2 };
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
/** A method label: the standard ones as they are, anything else one value. */
export function methodLabel(method: string): string {
  return METHODS.has(method) ? method : 'OTHER';
}

/**
 * A metric family as a registry reports it in JSON (`getMetricsAsJSON`), as it crosses between
 * processes: cluster workers to their primary, the shadow process to its gateway. prom-client's
 * own type for it wants runtime-only members (`collect`) the JSON does not carry.
 */
export interface FamilyJson {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary';
  aggregator: 'sum' | 'max' | 'min' | 'average' | 'first' | 'omit';
  values: { labels: Record<string, string | number>; value: number; metricName?: string }[];
}

/** One registry of `lists` of families, those of the same name summed (or as their `aggregator` says). */
export function aggregateFamilies(lists: readonly (readonly FamilyJson[])[]): Registry {
  return AggregatorRegistry.aggregate(lists as unknown as Parameters<typeof AggregatorRegistry.aggregate>[0]);
}

export const familiesOf = async (registry: Registry): Promise<FamilyJson[]> => (await registry.getMetricsAsJSON()) as unknown as FamilyJson[];

/** Requests no route matched (404s): one label value, whatever the URL. */
export const UNMATCHED_ROUTE = 'unmatched';

/**
 * prom-client's default gauges that end in `_total`, which Prometheus reserves for counters
 * (`promtool check metrics` flags them). Each is the sum of the gauge of the same name without
 * the suffix, which stays (`nodejs_active_handles{type}`: `sum(nodejs_active_handles)`).
 */
const MISNAMED_DEFAULTS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

let processRegistry: Registry | undefined;
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    // prom-client counts CPU from the moment its collector registers (here, on the first scrape):
    // a first scrape could read 0 and every total missed the CPU spent before it. Start the three
    // counters at what the process had used by then, so they are totals since the process started.
    const before = process.cpuUsage();
    collectDefaultMetrics({ register: processRegistry });
    const start = { process_cpu_user_seconds_total: before.user, process_cpu_system_seconds_total: before.system, process_cpu_seconds_total: before.user + before.system };
    for (const [name, micros] of Object.entries(start)) (processRegistry.getSingleMetric(name) as Counter | undefined)?.inc(micros / 1e6);
    for (const name of MISNAMED_DEFAULTS) processRegistry.removeSingleMetric(name);
  }
  return processRegistry;
}

export class GatewayMetrics {
  readonly registry = new Registry();
  /** last minute per context, for the admin API and `strangler status` */
  readonly recent = new RecentTraffic();
  /** the last seconds per context and arm, for the operator console's live stream */
  readonly arms = new ArmTraffic();
  readonly contentType = this.registry.contentType;

  readonly httpRequests = new ScalarFamily('gateway_http_requests_total', 'Inbound requests by method, route pattern and status', ['method', 'route', 'status']).register(this.registry);
  readonly httpDuration = new HistogramFamily(
    'gateway_http_request_duration_seconds',
    'Inbound request latency (until the response is written) by method and route pattern',
    ['method', 'route'],
    REQUEST_BUCKETS,
  ).register(this.registry);
  readonly contextRequests = new ScalarFamily(
    'gateway_context_requests_total',
    'Requests that touched a context, by context, the backend that answered it (legacy, new, legacy_fallback), route pattern and status',
    ['context', 'backend', 'route', 'status'],
  ).register(this.registry);
  readonly flagDecisions = new ScalarFamily('gateway_flag_decisions_total', 'Routing decisions (one per request that reached a context) by context, flag and chosen backend', [
    'context',
    'flag',
    'backend',
  ]).register(this.registry);
  readonly fallbacks = new ScalarFamily('gateway_fallbacks_total', 'Reads of a context answered by legacy because the new service failed, by context and reason code', [
    'context',
    'reason',
  ]).register(this.registry);
  readonly cacheHits = new ScalarFamily('gateway_cache_hits_total', 'SKUs answered by the data cache, by namespace (context or catalog) and tier (memory, redis)', ['ns', 'tier']).register(this.registry);
  readonly cacheHitAge = new ScalarFamily(
    'gateway_cache_hit_age_seconds_total',
    'Sum of the ages of the copies the data cache answered (since the read that fetched them started), by namespace: divided by gateway_cache_hits_total, the mean age served',
    ['ns'],
  ).register(this.registry);
  readonly cacheMisses = new ScalarFamily('gateway_cache_misses_total', 'SKUs the data cache had no fresh copy of (asked of the upstream), by namespace', ['ns']).register(this.registry);
  readonly cacheStale = new ScalarFamily('gateway_cache_stale_served_total', 'SKUs answered from a copy past its TTL because the upstream failed (stale-if-error), by namespace', ['ns']).register(this.registry);
  readonly cachePurges = new ScalarFamily('gateway_cache_purges_total', 'Data cache purges by namespace and cause (the domain event type)', ['ns', 'cause']).register(this.registry);
  readonly cacheBytes = new ScalarFamily('gateway_cache_bytes', 'Bytes (estimated) held by the in-process data cache', [], 'gauge').register(this.registry);
  readonly cacheRedisFailures = new ScalarFamily('gateway_cache_redis_failures_total', 'Data cache operations on Redis that failed (served without the shared tier), by operation', ['op']).register(this.registry);
  /** what the data cache (src/cache/cache.ts) reports */
  readonly cache: CacheMetrics = {
    hit: (ns, tier, n, ageMs) => {
      this.cacheHits.child(ns, tier).inc(n);
      this.cacheHitAge.child(ns).inc(ageMs / 1000);
    },
    miss: (ns, n) => this.cacheMisses.child(ns).inc(n),
    staleServed: (ns, n) => this.cacheStale.child(ns).inc(n),
    purged: (ns, cause) => this.cachePurges.child(ns, cause).inc(),
    bytes: (held) => this.cacheBytes.child().set(held),
    redisFailed: (op) => this.cacheRedisFailures.child(op).inc(),
  };
  readonly upstreamDuration = new HistogramFamily(
    'gateway_upstream_call_duration_seconds',
    'Upstream call latency (retries included) by upstream, context and outcome',
    ['upstream', 'context', 'outcome'],
    UPSTREAM_BUCKETS,
  ).register(this.registry);
  readonly upstreamErrors = new ScalarFamily(
    'gateway_upstream_errors_total',
    'Failed upstream calls by upstream, context and outcome (5xx, timeout, unavailable, breaker_open, invalid_payload)',
    ['upstream', 'context', 'outcome'],
  ).register(this.registry);
  readonly upstreamRetries = new ScalarFamily('gateway_upstream_retries_total', 'Upstream call retries (safe calls only, under the retry budget) by upstream and context', [
    'upstream',
    'context',
  ]).register(this.registry);
  readonly breakerState = new ScalarFamily('gateway_upstream_breaker_state', 'Circuit breaker state per upstream: 0 closed, 1 half-open, 2 open', ['upstream'], 'gauge')
    .aggregate('max')
    .register(this.registry);
  readonly breakerTransitions = new ScalarFamily('gateway_upstream_breaker_transitions_total', 'Circuit breaker state changes by upstream and new state', ['upstream', 'state']).register(
    this.registry,
  );
  readonly invalidPayloads = new ScalarFamily(
    'gateway_upstream_invalid_payloads_total',
    'Upstream payloads rejected by the anti-corruption layer (not JSON, or failing their schema: drift), by context and backend',
    ['context', 'backend'],
  ).register(this.registry);
  readonly cartEvaluationsFailed = new ScalarFamily('gateway_cart_evaluations_failed_total', 'Cart evaluations that failed (5xx: upstream failure, timeout, invalid payload), by surface (api, occ, graphql) and error code', [
    'surface',
    'code',
  ]).register(this.registry);
  readonly priceLookupsFailed = new ScalarFamily(
    'gateway_price_lookups_failed_total',
    'Price lookups that failed, by backend and error code (backend new with a fallback: legacy answered instead)',
    ['backend', 'code'],
  ).register(this.registry);
  readonly idempotencyStoreErrors = new ScalarFamily(
    'gateway_idempotency_store_errors_total',
    'Idempotency-Key store (Redis) operations that failed, by operation: claim (the keyed request got 503), renew, complete, release, mark_unknown (the key lapses to "outcome unknown")',
    ['operation'],
  ).register(this.registry);
  readonly occErrors = new ScalarFamily(
    'gateway_occ_errors_total',
    'Error responses on the OCC surface (/occ/v2) by status and code (a GW_ERR_* code, or LEGACY for the monolith\'s own error relayed)',
    ['status', 'code'],
  ).register(this.registry);
  readonly flagsStale = new ScalarFamily(
    'gateway_flags_stale',
    'By flag source (file, unleash): 1 while routing runs on the last known flags because the source is failing (flag files invalid or deleted, Unleash unreachable), 0 otherwise',
    ['source'],
    'gauge',
  )
    // several workers of one instance read the same flags: stale on any is stale (1), not a count
    .aggregate('max')
    .onCollect(() => {
      if (!this.flagSource) return;
      const { source, stale } = this.flagSource();
      this.flagsStale.child(source).set(stale ? 1 : 0);
    })
    .register(this.registry);
  private flagSource: (() => { source: string; stale: boolean }) | undefined;

  readonly stickinessSources = new ScalarFamily(
    'gateway_stickiness_source_total',
    'Routing decisions by the identity source their stickiness key came from (docs/stickiness.md: header-user, header-session, occ-user, jwt-sub, bearer-hash, cart, cookie, session-cookie, address)',
    ['source'],
  ).register(this.registry);
  readonly stickinessArmChanges = new ScalarFamily(
    'gateway_stickiness_arm_changes_total',
    'Decisions that put a shopper key (any identifier the request carried, or its bound key) on another arm of a context than its last decision, with no flag change in between: 0 when stickiness holds',
    ['context'],
  ).register(this.registry);

  readonly eventsConsumed = new ScalarFamily('gateway_events_consumed_total', 'Domain events received from the broker and delivered to the bus (first sight of their id), by type', ['type']).register(this.registry);
  readonly eventsDuplicates = new ScalarFamily('gateway_events_duplicates_total', 'Domain events received again (an id already delivered): not delivered, by type', ['type']).register(this.registry);
  readonly eventsRejected = new ScalarFamily('gateway_events_rejected_total', 'Messages on commerce.events that are not a valid domain event: dropped', []).register(this.registry);
  readonly eventLag = new HistogramFamily('gateway_events_lag_seconds', 'Time from a domain event\'s `at` to its receipt by the gateway, by type', ['type'], EVENT_LAG_BUCKETS).register(this.registry);
  readonly eventsPublished = new ScalarFamily('gateway_events_published_total', 'Gateway events published to gateway.events and confirmed by the broker, by type', ['type']).register(this.registry);
  readonly eventsDropped = new ScalarFamily('gateway_events_dropped_total', 'Gateway events lost: outbox_full (the oldest dropped beyond EVENTS_OUTBOX_MAX), shutdown (not confirmed before the process stopped)', ['reason']).register(
    this.registry,
  );
  readonly eventsOutbox = new ScalarFamily('gateway_events_outbox_size', 'Gateway events waiting for the broker (down, or not yet confirmed)', [], 'gauge').register(this.registry);
  readonly eventsConnected = new ScalarFamily('gateway_events_broker_connected', '1 while the AMQP link is up, 0 while it is down or reconnecting (only with AMQP_URL)', [], 'gauge').aggregate('min').register(this.registry);
  readonly eventsReconnects = new ScalarFamily('gateway_events_reconnects_total', 'Successful reconnections to the AMQP broker after a loss', []).register(this.registry);

  /** The AMQP link's metrics (src/events/amqp.ts). */
  readonly events = {
    consumed: (type: string, lagSeconds: number): void => {
      this.eventsConsumed.child(type).inc();
      this.eventLag.child(type).observe(lagSeconds);
    },
    duplicate: (type: string): void => this.eventsDuplicates.child(type).inc(),
    rejected: (): void => this.eventsRejected.child().inc(),
    published: (type: string): void => this.eventsPublished.child(type).inc(),
    dropped: (reason: 'outbox_full' | 'shutdown', n: number): void => this.eventsDropped.child(reason).inc(n),
    outbox: (size: number): void => this.eventsOutbox.child().set(size),
    connected: (up: boolean): void => this.eventsConnected.child().set(up ? 1 : 0),
    reconnected: (): void => this.eventsReconnects.child().inc(),
  };
  readonly parityTotal = new ScalarFamily(
    'gateway_parity_total',
    'Shadow comparisons by context and result: match, mismatch (a field differs that is not noise), noise (differs only where the same arm disagrees with itself), error (shadow call failed), shed (sampled, not run: cap, budget or load)',
    ['context', 'result'],
  ).register(this.registry);
  readonly parityFields = new ScalarFamily(
    'gateway_parity_field_mismatches_total',
    'Mismatching comparisons by context and field pattern (Map keys as *, list items as []); past PARITY_TOP_FIELDS patterns per context, "other"',
    ['context', 'path'],
  ).register(this.registry);
  readonly parityMoneyMinor = new ScalarFamily(
    'gateway_parity_price_difference_minor_total',
    'Sum of absolute price differences between the arms in mismatching comparisons, in minor units, by context and currency',
    ['context', 'currency'],
  ).register(this.registry);
  readonly parityStockFamily = new ScalarFamily(
    'gateway_parity_stock_status_disagreements_total',
    'Stock status fields (or a SKU stocked on one arm only) the arms disagree on, by context',
    ['context'],
  ).register(this.registry);
  readonly parityPromotions = new ScalarFamily('gateway_parity_promotion_disagreements_total', 'Comparisons where the arms disagree on promotions, by context', ['context']).register(
    this.registry,
  );
  /** told of every context a request touched, with who served it, its status and latency (ms): the rollout guardrails' figures (src/rollout/figures.ts) */
  armOutcome: ((context: ContextName, servedBy: ServedBy, status: number, ms: number) => void) | undefined;

  /** flag decision series, [context][backend], created up front so every series exists from boot */
  private readonly decisionSeries = new Map<ContextName, Record<'legacy' | 'new', Scalar>>();

  constructor() {
    for (const c of CONTEXTS) {
      this.decisionSeries.set(c, { legacy: this.flagDecisions.child(c, flagOf(c), 'legacy'), new: this.flagDecisions.child(c, flagOf(c), 'new') });
      this.stickinessArmChanges.child(c);
    }
  }

  /** One routing decision: every context's flag was evaluated once for the request. */
  decided(decision: RoutingDecision): void {
    for (const c of CONTEXTS) this.decisionSeries.get(c)![decision[c]!].inc();
  }

  parity(context: ContextName, result: string): void {
    this.parityTotal.child(context, result).inc();
  }
  parityField(context: ContextName, path: string): void {
    this.parityFields.child(context, path).inc();
  }
  parityMoney(context: ContextName, currency: string, minorUnits: number): void {
    this.parityMoneyMinor.child(context, currency).inc(minorUnits);
  }
  parityStockStatus(context: ContextName): void {
    this.parityStockFamily.child(context).inc();
  }
  parityPromotion(context: ContextName): void {
    this.parityPromotions.child(context).inc();
  }

  breakerChanged(upstream: string, state: BreakerState, transition = true): void {
    this.breakerState.child(upstream).set(BREAKER_VALUE[state]);
    if (transition) this.breakerTransitions.child(upstream, state).inc();
  }

  fellBack(context: string, code: string): void {
    this.fallbacks.child(context, code).inc();
    if (context === 'pricing') this.priceLookupsFailed.child('new', code).inc();
    if (code === 'GW_ERR_UPSTREAM_INVALID_PAYLOAD') this.invalidPayloads.child(context, 'new').inc();
  }

  route(method: string, route: string, cartSurface?: 'api' | 'occ'): RouteStats {
    return new RouteStats(this, methodLabel(method), route, cartSurface);
  }

  /** The flag source gateway_flags_stale reports on, read at every scrape. */
  watchFlags(read: () => { source: string; stale: boolean }): void {
    this.flagSource = read;
  }

  private acrossWorkers: (() => Promise<string>) | undefined;

  /**
   * In a cluster worker (GATEWAY_WORKERS > 1): `render()` answers the sum over every worker,
   * collected by the primary (src/observability/cluster-metrics.ts), not this worker's share.
   */
  aggregateAcrossWorkers(collect: () => Promise<string>): void {
    this.acrossWorkers = collect;
  }

  private readonly sources: (() => Promise<FamilyJson[]>)[] = [];

  /**
   * Families another process reports for this gateway (the shadow process, src/parity/shadow-process.ts),
   * read at every scrape and added to the gateway's own: series of the same name and labels are summed.
   */
  addSource(read: () => Promise<FamilyJson[]>): void {
    this.sources.push(read);
  }

  /** The gateway's families and its sources', as one list each. */
  private async gatewayFamilies(): Promise<FamilyJson[][]> {
    const extra = await Promise.all(this.sources.map((read) => read().catch((): FamilyJson[] => [])));
    return [await familiesOf(this.registry), ...extra];
  }

  /** What a cluster worker reports to the primary: the process's families, the gateway's and its sources'. */
  async collect(): Promise<FamilyJson[][]> {
    return [await familiesOf(processMetrics()), ...(await this.gatewayFamilies())];
  }

  /** The exposition text: the process metrics, then the gateway's (of every worker in a cluster). */
  async render(): Promise<string> {
    if (this.acrossWorkers) return this.acrossWorkers();
    const own = this.sources.length === 0 ? await this.registry.metrics() : await aggregateFamilies(await this.gatewayFamilies()).metrics();
    return `${await processMetrics().metrics()}\n${own}`;
  }
}

/**
 * A route's series, held by the route itself: observing a request is array and map lookups
 * only. Series are made on a route's first request, so /metrics lists the routes in use rather
 * than a histogram of zeros for every HEAD twin and static asset.
 */
export class RouteStats {
  private duration: HistogramSeries | undefined;
  private readonly byStatus = new Map<number, Scalar>();
  /** status → series per (context, served-by), index context * 3 + served-by */
  private readonly contextsByStatus = new Map<number, (Scalar | undefined)[]>();

  constructor(
    private readonly metrics: GatewayMetrics,
    readonly method: string,
    readonly route: string,
    /** set on routes that evaluate a cart, so their failures count as failed cart evaluations */
    readonly cartSurface: 'api' | 'occ' | undefined,
  ) {}

  observe(status: number, seconds: number): void {
    let s = this.byStatus.get(status);
    if (!s) {
      s = this.metrics.httpRequests.child(this.method, this.route, String(status));
      this.byStatus.set(status, s);
    }
    s.inc();
    (this.duration ??= this.metrics.httpDuration.child(this.method, this.route)).observe(seconds);
  }

  /** `context` was answered by `servedBy` in a request that ended with `status`. */
  observeContext(status: number, context: ContextName, servedBy: ServedBy, seconds = 0): void {
    let row = this.contextsByStatus.get(status);
    if (!row) {
      row = new Array<Scalar | undefined>(CONTEXTS.length * SERVED_BY.length);
      this.contextsByStatus.set(status, row);
    }
    const i = CONTEXTS.indexOf(context) * SERVED_BY.length + SERVED_BY.indexOf(servedBy);
    let s = row[i];
    if (!s) {
      s = this.metrics.contextRequests.child(context, servedBy, this.route, String(status));
      row[i] = s;
    }
    s.inc();
    this.metrics.recent.record(context, status);
    this.metrics.arms.record(context, servedBy, status, seconds);
  }
}
