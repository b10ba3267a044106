/**
 * The composition root: builds the gateway from a validated config and resolved upstream URLs.
 * It owns the plugin order (fastify checks plugin dependencies, it does not load them).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { DestinationStream } from 'pino';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { SECURITY_SCHEMES } from './openapi.js';
import type { GatewayConfig } from './config/load.js';
import { contextIdentities, sealContexts, type UpstreamName } from './contexts/names.js';
import { loggerOptions, requestIdFrom } from './observability/logger.js';
import { Telemetry } from './observability/telemetry.js';
import observability from './observability/plugin.js';
import type { FlagProvider } from './routing/flag-provider.js';
import { createFlagProvider } from './routing/flags.js';
import { RouteAudit } from './admin/route-audit.js';
import { RoutingDecisions } from './routing/decision-memo.js';
import { Upstream } from './upstream/http.js';
import { SiteRegistry } from './occ/legacy-sites.js';
import { LegacyCatalog } from './occ/legacy-catalog.js';
import { buildPorts, type FallbackListener } from './composition/ports.js';
import { contexts } from './contexts/registry.js';
import errorHandler, { clientErrorHandler, isOccPath, sendError, toGatewayError } from './error-handler.js';
import { GatewayError, toOccErrorList, toProblem } from './errors.js';
import jsonBody from './json-body.js';
import requestScope from './request-scope.js';
import pathGuard from './path-guard.js';
import healthRoutes from './http/routes/health.js';
import metricsRoutes from './http/routes/metrics.js';
import occRoutes from './http/routes/occ/index.js';
import apiV1Routes from './http/routes/api/v1/index.js';
import passthroughRoutes from './http/routes/passthrough.js';
import adminRoutes from './http/routes/admin/index.js';
import graphqlRoutes from './http/routes/graphql.js';
import type { Gateway } from './gateway.js';
import idempotency from './idempotency.js';
import loadShedding from './load-shedding.js';
import { createIdempotencyStore, type IdempotencyStore } from './upstream/idempotency-store.js';
import { IdentityResolver } from './routing/identity.js';
import { createBindingStore, type BindingStore } from './routing/sticky-bindings.js';
import { Stickiness } from './routing/stickiness.js';
import stickyIdentity from './sticky-identity.js';
import { EventBus } from './events/bus.js';
import { createRollouts } from './rollout/index.js';
import { hostname } from 'node:os';

declare module 'fastify' {
  interface FastifyInstance {
    /** the gateway's services (flags, upstreams, ports), for admin routes and tests */
    gw: Gateway;
    /** start draining before close(): readiness fails, connections are not kept alive */
    drain(): void;
    isDraining(): boolean;
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

  const upstreams = makeUpstreams(config, opts.upstreamUrls, telemetry);
  for (const u of Object.values(upstreams)) {
    telemetry.metrics.breakerChanged(u.name, u.breakerState, false);
    u.onBreakerChange((state) => {
      telemetry.metrics.breakerChanged(u.name, state);
      app.log.warn({ event: 'breaker', upstream: u.name, state }, `circuit breaker of ${u.name} is ${state}`);
    });
  }
  let flags: FlagProvider;
  let idempotencyStore: IdempotencyStore | undefined;
  let bindings: BindingStore;
  try {
    flags = await createFlagProvider(config.flags, app.log, { workers: config.workers, instances: config.instances });
    idempotencyStore = await createIdempotencyStore(config.redisUrl, config.idempotency.redisPrefix);
    bindings = await createBindingStore(config.redisUrl, config.sticky.redisPrefix, config.sticky.maxBindings);
  } catch (err) {
    await idempotencyStore?.close();
    await Promise.all(Object.values(upstreams).map((u) => u.close()));
    await telemetry.close();
    throw err;
  }
  telemetry.metrics.watchFlags(() => ({ source: flags.source, stale: flags.lastError !== undefined }));
  const catalog = new LegacyCatalog(upstreams.legacy);
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
  const audit = new RouteAudit(config.auditLogPath, flags, app.log);
  const decisions = new RoutingDecisions(flags, app.log);
  const events = new EventBus(`${hostname()}:${process.pid}`, app.log);
  const rollouts = createRollouts(config, { flags, audit, events, parity: () => gw.parity, log: app.log, instance: events.source });
  rollouts.overrides.onChange((forced) => decisions.forceLegacy(forced));
  telemetry.metrics.armOutcome = (context, servedBy, status, ms) => rollouts.figures.record(context, servedBy === 'legacy' ? 'legacy' : 'modern', servedBy === 'legacy_fallback', status, ms);
  const gw: Gateway = Object.freeze({
    config,
    upstreams,
    flags,
    audit,
    decisions,
    sites: new SiteRegistry(upstreams.legacy),
    catalog,
    ports: buildPorts(contexts(), upstreams, catalog, config.fallbackContexts, onFallback),
    onFallback,
    idempotencyStore,
    stickiness,
    events,
    rollouts,
  });

  app.decorate('gw', gw);
  // The gateway's own routes take JSON only; anything else is a 415, not a string to validate.
  app.removeContentTypeParser('text/plain');
  // Graceful shutdown: once draining, responses say `connection: close`, so keep-alive clients
  // stop reusing a connection the server is about to drop, and /readyz answers 503 so a load
  // balancer stops sending new ones.
  let draining = false;
  app.decorate('drain', () => {
    draining = true;
  });
  app.decorate('isDraining', () => draining);
  app.addHook('preClose', async () => {
    draining = true;
  });
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (draining) reply.header('connection', 'close');
    done(null, payload);
  });
  app.addHook('onClose', async () => {
    await rollouts.close();
    gw.decisions.close();
    await gw.audit.close();
    await flags.close();
    await idempotencyStore.close();
    await stickiness.close();
    await Promise.all(Object.values(upstreams).map((u) => u.close()));
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
  await app.register(adminRoutes, { gw, prefix: '/admin', traffic: (context) => telemetry.metrics.recent.read(context) });
  await app.register(passthroughRoutes, { gw });
  return app;
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

/** One client per upstream: legacy and every context of the registry, each with metrics, spans and a breaker. */
function makeUpstreams(config: GatewayConfig, urls: Readonly<Partial<Record<UpstreamName, string>>>, telemetry: Telemetry): Record<UpstreamName, Upstream> {
  const mk = (name: UpstreamName, path = '') => {
    const base = urls[name] ?? config.upstreams[name];
    if (base === undefined) throw new Error(`no URL for upstream ${name}: set it in the environment or pass it in upstreamUrls`);
    const baseUrl = `${base}${path}`;
    return new Upstream({
      name,
      baseUrl,
      observer: telemetry.upstream(name, baseUrl),
      timeoutMs: config.timeouts[name] ?? config.upstreamTimeoutMs,
      connections: config.upstreamConnections,
      breaker: config.breaker,
      retry: config.retry,
    });
  };
  // The OCC client speaks to the monolith's /occ/v2 root; the passthrough keeps full paths.
  const upstreams = { legacy: mk('legacy', '/occ/v2') } as Record<UpstreamName, Upstream>;
  for (const { name } of contextIdentities()) upstreams[name] = mk(name);
  return upstreams;
}
