/**
 * The composition root: builds the gateway from a validated config and resolved upstream URLs.
 * It owns the plugin order (fastify checks plugin dependencies, it does not load them).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { DestinationStream } from 'pino';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { SECURITY_SCHEMES } from './openapi.js';
import type { GatewayConfig } from './config/load.js';
import { sealContexts, type UpstreamName } from './contexts/names.js';
import { loggerOptions, requestIdFrom } from './observability/logger.js';
import { Telemetry } from './observability/telemetry.js';
import observability from './observability/plugin.js';
import type { FlagProvider } from './routing/flag-provider.js';
import { createFlagProvider } from './routing/flags.js';
import { RouteAudit } from './admin/route-audit.js';
import { createAuditTrail } from './admin/audit-stream.js';
import type { AuditTrail } from './admin/audit.js';
import { RoutingDecisions } from './routing/decision-memo.js';
import { SiteRegistry } from './occ/legacy-sites.js';
import { LegacyCarts } from './occ/legacy-carts.js';
import { contextUpstreams, extraSubgraphClients, legacyRelay } from './upstream/clients.js';
import { CATALOG_CACHE_POLICY, LegacyCatalog } from './occ/legacy-catalog.js';
import { DataCache } from './cache/cache.js';
import type { CachePolicy } from './cache/policy.js';
import { withOperatorRules } from './parity/policy.js';
import { cachedArm, purgeOnEvents } from './cache/ports.js';
import { cacheRedis } from './cache/redis.js';
import { RENDERED_NS, RENDERED_PURGE, RenderedProducts } from './cache/rendered.js';
import { buildPorts, type FallbackListener } from './composition/ports.js';
import { contexts } from './contexts/registry.js';
import errorHandler, { clientErrorHandler, isOccPath, sendError, toGatewayError } from './error-handler.js';
import { GatewayError, toOccErrorList, toProblem } from './errors.js';
import jsonBody from './json-body.js';
import requestScope from './request-scope.js';
import httpValidators from './http-validators.js';
import pathGuard from './path-guard.js';
import healthRoutes from './http/routes/health.js';
import metricsRoutes from './http/routes/metrics.js';
import occRoutes from './http/routes/occ/index.js';
import apiV1Routes from './http/routes/api/v1/index.js';
import passthroughRoutes from './http/routes/passthrough.js';
import adminRoutes from './http/routes/admin/index.js';
import graphqlRoutes from './http/routes/graphql.js';
import consoleRoutes from './console/plugin.js';
import type { Gateway } from './gateway.js';
import idempotency from './idempotency.js';
import loadShedding from './load-shedding.js';
import { createIdempotencyStore, type IdempotencyStore } from './upstream/idempotency-store.js';
import { IdentityResolver } from './routing/identity.js';
import { createBindingStore, type BindingStore } from './routing/sticky-bindings.js';
import { Stickiness } from './routing/stickiness.js';
import stickyIdentity from './sticky-identity.js';
import { EventBus } from './events/bus.js';
import { AmqpEvents } from './events/amqp.js';
import { ShadowParity } from './parity/shadow.js';
import { ShadowProcess } from './parity/shadow-process.js';
import { RedisParityStore } from './parity/redis-store.js';
import { createRollouts } from './rollout/index.js';
import { hostname } from 'node:os';
import { ConnectionTracker } from './graceful-close.js';

/** While draining, a kept-alive connection silent this long is closed (src/graceful-close.ts). */
export const DRAIN_QUIET_MS = 500;

declare module 'fastify' {
  interface FastifyInstance {
    /** the gateway's services (flags, upstreams, ports), for admin routes and tests */
    gw: Gateway;
    /** start draining before close(): readiness fails, connections are not kept alive, quiet ones are closed */
    drain(): void;
    isDraining(): boolean;
    /** the server's open connections and what each is doing (src/graceful-close.ts) */
    connections: ConnectionTracker;
  }
}

export interface BuildOptions {
  config: GatewayConfig;
  /** upstream base URLs (the entry resolves them: src/server.ts requires all, src/embedded.ts starts simulators); one absent here is the config's */
  upstreamUrls: Readonly<Partial<Record<UpstreamName, string>>>;
  /** a logger override for tests (false = silent) */
  logger?: boolean;
  /** where log lines go (default stdout); tests capture them */
  logStream?: DestinationStream;
}

/** fastify's request logging without its `incoming request` / `request completed` lines */
class AccessLineInstead extends LogController {
  override incomingRequest(): void {}
  override requestCompleted(...args: Parameters<LogController['requestCompleted']>): void {
    if (args[0]) super.requestCompleted(...args); // 'request errored' stays
  }
}

export async function buildGateway(opts: BuildOptions): Promise<FastifyInstance> {
  const { config } = opts;
  // config, metrics, routes and ports below derive from the context list: it is final from here
  sealContexts();
  // Before the app: its per-request logger factory starts each request's server span.
  const telemetry = new Telemetry({
    serviceName: config.otel.serviceName,
    tracesUrl: config.otel.tracesUrl,
    log: (msg, err) => app.log.warn({ event: 'otel.export_failed', err }, msg),
  });
  const app = Fastify({
    logger: opts.logger === false ? false : loggerOptions(config.logLevel, opts.logStream),
    childLoggerFactory: telemetry.childLoggerFactory,
    // One access line per request (request-scope.ts), not fastify's two: logging was ~23 % of a
    // passthrough's CPU at three lines per request. Fastify's error lines stay.
    logController: new AccessLineInstead(),
    bodyLimit: config.bodyLimit,
    // Slow clients (a body or headers trickled in) are cut off with a 408 rather than held for
    // ever (the body) or 60 s (node's headers default); node checks every connectionsCheckingInterval.
    requestTimeout: config.requestTimeoutMs,
    http: {
      headersTimeout: config.headersTimeoutMs,
      requestTimeout: config.requestTimeoutMs,
      connectionsCheckingInterval: Math.min(1000, Math.floor(config.headersTimeoutMs / 2)),
    },
    genReqId: (req) => requestIdFrom(req.headers['x-request-id']),
    trustProxy: false,
    // Graceful shutdown (src/serve.ts) drains before closing; requests that reach the gateway while
    // it closes are still served (with `connection: close`), never answered 503 or reset.
    forceCloseConnections: false,
    return503OnClosing: false,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
    // The router's refusals (bad percent-encoding, a path segment over maxParamLength) and what
    // node cannot read as a request answer in the gateway's error model, like every other error.
    frameworkErrors: (err, request, reply) => sendError(request, reply, toGatewayError(err)),
    clientErrorHandler,
    ajv: { customOptions: { coerceTypes: 'array', removeAdditional: false, allErrors: true } },
    // A response schema with a union (`anyOf`) makes fast-json-stringify pick the branch with an
    // ajv validator, compiled by default on the first response that reaches it: 40-50 ms of a
    // blocked event loop on the first `PUT /admin/routes/:ctx`, in the middle of a flip under
    // load. Compile them with the routes, at startup.
    serializerOpts: { compileValidators: true },
  });

  refuseOversizedContinue(app, config.bodyLimit);

  const upstreams = contextUpstreams(config, opts.upstreamUrls, telemetry);
  const extraSubgraphs = extraSubgraphClients(config, telemetry);
  const relay = legacyRelay(config, upstreams.legacy, telemetry);
  const clients = [...Object.values(upstreams), ...extraSubgraphs.map((s) => s.upstream)];
  for (const u of clients) {
    telemetry.metrics.breakerChanged(u.name, u.breakerState, false);
    u.onBreakerChange((state) => {
      telemetry.metrics.breakerChanged(u.name, state);
      app.log.warn({ event: 'breaker', upstream: u.name, state }, `circuit breaker of ${u.name} is ${state}`);
    });
  }
  let flags: FlagProvider;
  let idempotencyStore: IdempotencyStore | undefined;
  let bindings: BindingStore;
  let auditTrail: AuditTrail | undefined;
  try {
    flags = await createFlagProvider(config.flags, app.log, { workers: config.workers, instances: config.instances });
    idempotencyStore = await createIdempotencyStore(config.redisUrl, config.idempotency.redisPrefix);
    bindings = await createBindingStore(config.redisUrl, config.sticky.redisPrefix, config.sticky.maxBindings);
    auditTrail = await createAuditTrail({ redisUrl: config.redisUrl, streamKey: config.auditStream.key, maxLen: config.auditStream.maxLen, filePath: config.auditLogPath });
  } catch (err) {
    await auditTrail?.close();
    await idempotencyStore?.close();
    await Promise.all([...clients.map((u) => u.close()), relay.close()]);
    await telemetry.close();
    throw err;
  }
  telemetry.metrics.watchFlags(() => ({ source: flags.source, stale: flags.lastError !== undefined }));
  // The data cache (docs/caching.md): per-context policies from the descriptors, the catalog's own.
  const cacheRedisClient = config.cache.enabled && config.redisUrl !== undefined ? cacheRedis(config.redisUrl, app.log) : undefined;
  const dataCache = config.cache.enabled
    ? new DataCache({ maxBytes: config.cache.maxBytes, redis: cacheRedisClient, redisPrefix: config.cache.redisPrefix, metrics: telemetry.metrics.cache })
    : undefined;
  const cachePolicies = new Map<string, CachePolicy>([['catalog', CATALOG_CACHE_POLICY]]);
  for (const d of contexts()) if (d.policy?.cache) cachePolicies.set(d.name, d.policy.cache);
  const catalog = new LegacyCatalog(upstreams.legacy, dataCache);
  const onFallback: FallbackListener = (e) => telemetry.metrics.fellBack(e.context, e.code);
  if (config.sticky.secret === undefined) {
    app.log.warn({ event: 'sticky.random_secret' }, 'STICKY_SECRET is unset: sticky cookies and token hashes use a random per-process key (set it on every instance)');
  }
  const resolver = new IdentityResolver({
    cookieName: config.sticky.cookieName,
    secure: config.sticky.secure,
    secret: config.sticky.secret === undefined ? IdentityResolver.randomSecret() : Buffer.from(config.sticky.secret),
    ttlS: config.sticky.ttlS,
  });
  const stickiness = new Stickiness(resolver, bindings, config.sticky.ttlS * 1000, telemetry.metrics, flags, app.log);
  const instance = `${hostname()}:${process.pid}`;
  const events = new EventBus(instance, app.log);
  // AMQP_URL: domain events in, gateway events out (docs/events.md); started after listen-independent setup, never awaited
  const amqp =
    config.amqpUrl === undefined
      ? undefined
      : new AmqpEvents({ url: config.amqpUrl, ...config.events, bus: events, metrics: telemetry.metrics.events, log: app.log });
  const parity = await buildParity(app, config, telemetry, events, opts.upstreamUrls);
  const audit = new RouteAudit(auditTrail, flags, app.log, instance, events);
  const decisions = new RoutingDecisions(flags, app.log);
  const rollouts = createRollouts(config, { flags, audit, events, parity: () => gw.parity, log: app.log, instance: events.source });
  rollouts.overrides.onChange((forced) => decisions.forceLegacy(forced));
  telemetry.metrics.armOutcome = (context, servedBy, status, ms) => rollouts.figures.record(context, servedBy === 'legacy' ? 'legacy' : 'modern', servedBy === 'legacy_fallback', status, ms);
  const gw: Gateway = Object.freeze({
    config,
    upstreams,
    extraSubgraphs,
    relay,
    flags,
    audit,
    decisions,
    sites: new SiteRegistry(upstreams.legacy),
    catalog,
    carts: new LegacyCarts(upstreams.legacy),
    // the shadow runner only wraps the arms of a context with a share above 0
    ports: buildPorts(
      contexts(),
      upstreams,
      catalog,
      config.fallbackContexts,
      onFallback,
      (context, arm, port) => {
        const policy = cachePolicies.get(context);
        return dataCache && policy ? cachedArm(dataCache, context, arm, policy, port) : port;
      },
      contexts().some((d) => parity.percent(d.name) > 0) ? parity : undefined,
    ),
    onFallback,
    idempotencyStore,
    stickiness,
    events,
    ...(amqp === undefined ? {} : { broker: amqp }),
    ...(dataCache ? { rendered: new RenderedProducts(dataCache, (c) => cachePolicies.get(c)?.ttlMs, CATALOG_CACHE_POLICY.ttlMs) } : {}),
    parity,
    rollouts,
  });
  amqp?.start();

  app.decorate('gw', gw);
  if (dataCache) purgeOnEvents(dataCache, new Map([...cachePolicies, [RENDERED_NS, RENDERED_PURGE]]), (listener) => gw.events.onDomain(listener), app.log);
  // The gateway's own routes take JSON only; anything else is a 415, not a string to validate.
  app.removeContentTypeParser('text/plain');
  // Graceful shutdown: once draining, responses say `connection: close`, so keep-alive clients
  // stop reusing a connection the server is about to drop, and /readyz answers 503 so a load
  // balancer stops sending new ones. Idle connections are closed only once quiet, never under a
  // request that is arriving (src/graceful-close.ts).
  const connections = new ConnectionTracker(app.server, { quietMs: DRAIN_QUIET_MS, freshQuietMs: config.headersTimeoutMs });
  app.decorate('connections', connections);
  let draining = false;
  const drain = (): void => {
    draining = true;
    connections.drain();
  };
  app.decorate('drain', drain);
  app.decorate('isDraining', () => draining);
  app.addHook('preClose', async () => drain());
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (draining) reply.header('connection', 'close');
    done(null, payload);
  });
  app.addHook('onClose', async () => {
    await rollouts.close();
    gw.decisions.close();
    await gw.audit.close();
    await amqp?.close(); // after the audit: its last route.changed events go into the outbox first
    await flags.close();
    await idempotencyStore.close();
    await stickiness.close();
    await dataCache?.flush();
    cacheRedisClient?.disconnect();
    await parity.close();
    await Promise.all([...clients.map((u) => u.close()), relay.close()]);
    await telemetry.close(); // exports the spans still buffered
  });

  // First: its onRoute hook gives every route registered after it its metrics.
  await app.register(observability, { telemetry });
  await app.register(errorHandler);
  await app.register(jsonBody);
  await app.register(pathGuard);
  await app.register(loadShedding, { shed: config.shed });
  await app.register(requestScope);
  // after path-guard (a rejected target is not identified); before the routes that decide
  await app.register(stickyIdentity, { stickiness });
  // after request-scope: its onSend sets the routing header that a stored response keeps
  await app.register(idempotency, { store: idempotencyStore, ttlMs: config.idempotencyTtlS * 1000, waitMs: 3000, leaseMs: config.idempotency.leaseMs });
  // after request-scope (the ETag covers x-strangler-route) and sticky-identity (Set-Cookie → private)
  await app.register(httpValidators, { control: config.cache.control });
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Strangler gateway: canonical commerce API', version: '1.0.0', description: 'Canonical REST over legacy OCC and the new pricing, inventory and promotions services.' },
      tags: [
        { name: 'products', description: 'canonical product views' },
        { name: 'carts', description: 'cart evaluation' },
        { name: 'admin', description: 'routing per context and its audit trail (operators; bearer ADMIN_TOKEN)' },
      ],
      components: { securitySchemes: SECURITY_SCHEMES },
    },
    // Only the gateway's own API, whose routes carry tags (src/openapi.ts): not the legacy
    // passthrough prefixes (relayed as the monolith answers), OCC, health or metrics.
    hideUntagged: true,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  await app.register(healthRoutes, { gw });
  await app.register(metricsRoutes);
  await app.register(occRoutes, { gw, prefix: '/occ/v2' });
  await app.register(apiV1Routes, { gw, prefix: '/api/v1' });
  await app.register(graphqlRoutes, { gw });
  // Operator surface: bearer-guarded, disabled (403) without ADMIN_TOKEN.
  await app.register(adminRoutes, { gw, prefix: '/admin', traffic: (context) => telemetry.metrics.recent.read(context), parity });
  // Operator console (docs/console.md): closed (404) without ADMIN_TOKEN, like the admin API.
  await app.register(consoleRoutes, { gw, prefix: '/console', arms: (context) => telemetry.metrics.arms.read(context), windowSeconds: telemetry.metrics.arms.windowSeconds });
  await app.register(passthroughRoutes, { gw });
  return app;
}

/**
 * Shadow traffic and parity (docs/parity.md): each context's share from SHADOW_<CTX>_PERCENT, else
 * its descriptor's policy; counts shared through Redis when REDIS_URL is set. Shadow calls are
 * shed first under load: at half of any load-shedding limit, before clients are shed at the limit.
 */
async function buildParity(
  app: FastifyInstance,
  config: GatewayConfig,
  telemetry: Telemetry,
  events: EventBus,
  upstreamUrls: Readonly<Partial<Record<UpstreamName, string>>>,
): Promise<ShadowParity> {
  const { shed } = config;
  const shares = contexts().map((d) => ({
    name: d.name,
    percent: config.shadow.percent[d.name] ?? d.policy?.shadow?.samplePercent ?? 0,
    policy: withOperatorRules(d.policy?.shadow, config.shadow.rules[d.name]),
  }));
  const shadowed = shares.filter((c) => c.percent > 0).map((c) => c.name);
  const loopDelayMs = shadowLoopDelay(app, config, shadowed.length > 0);
  const underPressure = (): boolean => {
    if (loopDelayMs() > config.shadow.maxEventLoopDelayMs && config.shadow.maxEventLoopDelayMs > 0) return true;
    if (!app.hasDecorator('memoryUsage')) return false;
    const m = app.memoryUsage();
    return (
      (shed.eventLoopDelayMs > 0 && m.eventLoopDelay > shed.eventLoopDelayMs / 2) ||
      (shed.heapBytes > 0 && m.heapUsed > shed.heapBytes / 2) ||
      (shed.rssBytes > 0 && m.rssBytes > shed.rssBytes / 2)
    );
  };
  let store: RedisParityStore | undefined;
  if (config.redisUrl) {
    store = new RedisParityStore(config.redisUrl, config.shadow.redisPrefix, (err) => app.log.warn({ event: 'parity.redis_failed', err }, 'parity: shared counts not written to Redis'));
    await store.connect().catch((err: unknown) => app.log.warn({ event: 'parity.redis_unavailable', err }, 'parity: Redis unreachable at boot; shared counts resume when it is back'));
  }
  // the shadow process (SHADOW_ISOLATION=process): started only when some context is shadowed
  const runner =
    config.shadow.isolation === 'process' && shadowed.length > 0
      ? await ShadowProcess.start({ config, upstreamUrls, contexts: shadowed, budgetMs: config.requestBudgetMs, nice: config.shadow.nice, log: app.log })
      : undefined;
  if (runner) {
    app.log.info({ event: 'parity.shadow_process', pid: runner.pid, nice: runner.nice, contexts: shadowed }, `parity: shadow calls run in process ${runner.pid} at niceness ${runner.nice}`);
    // its upstream calls, breakers, CPU and memory on the gateway's /metrics
    telemetry.metrics.addSource(() => runner.metrics());
  }
  return new ShadowParity({
    contexts: shares,
    maxConcurrent: config.shadow.maxConcurrent,
    maxPerSecond: config.shadow.maxPerSecond,
    samples: config.shadow.samples,
    topFields: config.shadow.topFields,
    alarm: config.shadow.alarm,
    budgetMs: config.requestBudgetMs,
    metrics: telemetry.metrics,
    events,
    underPressure,
    ...(store ? { store } : {}),
    ...(runner ? { runner } : {}),
    log: app.log,
  });
}

/**
 * The event-loop delay shadows are admitted against (SHADOW_MAX_EVENT_LOOP_DELAY_MS): the worst
 * delay of the last half second. A loop that is late is running client work, or shadow work that
 * delays it; either way new shadow calls wait for a quieter moment (they are shed, and counted).
 * Only sampled by a gateway that shadows some context, by the lateness of one 100 ms timer (ten
 * wake-ups a second; a `monitorEventLoopDelay` histogram at 10 ms would wake the loop a hundred
 * times a second, a cost every unsampled read of a shadowing gateway would share), nothing per request.
 */
function shadowLoopDelay(app: FastifyInstance, config: GatewayConfig, shadows: boolean): () => number {
  if (!shadows || config.shadow.maxEventLoopDelayMs === 0) return () => 0;
  const TICK_MS = 100;
  const late = [0, 0, 0, 0, 0]; // the last five ticks' lateness: half a second
  let i = 0;
  let expected = performance.now() + TICK_MS;
  const timer = setInterval(() => {
    const now = performance.now();
    late[i++ % late.length] = Math.max(0, now - expected);
    expected = now + TICK_MS;
  }, TICK_MS);
  timer.unref();
  app.addHook('onClose', (_app, done) => {
    clearInterval(timer);
    done();
  });
  return () => Math.max(...late);
}

/**
 * `Expect: 100-continue` with a Content-Length over the body limit: answer 413 before the client
 * sends the body, instead of node's automatic `100 Continue` followed by a reset once fastify
 * refuses the body it invited. Any other such request is invited and handled as usual.
 */
function refuseOversizedContinue(app: FastifyInstance, bodyLimit: number): void {
  const server = app.server;
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    const length = Number(req.headers['content-length']);
    if (!(length > bodyLimit)) {
      res.writeContinue();
      server.emit('request', req, res);
      return;
    }
    const err = new GatewayError(413, 'GW_ERR_REQUEST_TOO_LARGE', `request body of ${length} bytes exceeds the limit of ${bodyLimit}`);
    const url = req.url ?? '/';
    const requestId = requestIdFrom(req.headers['x-request-id']);
    const occ = isOccPath(url);
    const body = JSON.stringify(occ ? toOccErrorList(err) : toProblem(err, url.split('?')[0] ?? url, requestId));
    app.log.info({ event: 'request.refused', code: err.code, reqId: requestId, contentLength: length }, err.detail);
    // the body was never read: the connection cannot carry another request
    res.writeHead(413, {
      'content-type': occ ? 'application/json;charset=UTF-8' : 'application/problem+json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      'x-request-id': requestId,
      connection: 'close',
    });
    res.end(body);
  });
}
