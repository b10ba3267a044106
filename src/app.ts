/**
 * The composition root: builds the gateway from a validated config and resolved upstream URLs.
 * It owns the plugin order (fastify checks plugin dependencies, it does not load them).
 */
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { DestinationStream } from 'pino';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { GatewayConfig, UpstreamName } from './config/load.js';
import { loggerOptions, requestIdFrom } from './observability/logger.js';
import { Telemetry } from './observability/telemetry.js';
import observability from './observability/plugin.js';
import type { FlagProvider } from './routing/flag-provider.js';
import { createFlagProvider } from './routing/flags.js';
import { RoutingDecisions } from './routing/decision-memo.js';
import { Upstream } from './upstream/http.js';
import { SiteRegistry } from './occ/legacy-sites.js';
import { LegacyCatalog } from './occ/legacy-catalog.js';
import { buildPorts, type FallbackListener } from './composition/ports.js';
import errorHandler from './error-handler.js';
import requestScope from './request-scope.js';
import pathGuard from './path-guard.js';
import healthRoutes from '../routes/health.js';
import metricsRoutes from '../routes/metrics.js';
import occRoutes from '../routes/occ/index.js';
import apiV1Routes from '../routes/api/v1/index.js';
import passthroughRoutes from '../routes/passthrough.js';
import adminRoutes from '../routes/admin/index.js';
import graphqlRoutes from '../routes/graphql.js';
import type { Gateway } from './gateway.js';
import idempotency from './idempotency.js';
import loadShedding from './load-shedding.js';
import { createIdempotencyStore, type IdempotencyStore } from './upstream/idempotency-store.js';

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
  /** every upstream's base URL (the entry resolves them: src/server.ts requires all, src/embedded.ts starts simulators) */
  upstreamUrls: Readonly<Record<UpstreamName, string>>;
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
    genReqId: (req) => requestIdFrom(req.headers['x-request-id']),
    trustProxy: false,
    // Graceful shutdown (src/serve.ts) drains before closing; requests that reach the gateway while
    // it closes are still served (with `connection: close`), never answered 503 or reset.
    forceCloseConnections: false,
    return503OnClosing: false,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
    ajv: { customOptions: { coerceTypes: 'array', removeAdditional: false, allErrors: true } },
    // A response schema with a union (`anyOf`) makes fast-json-stringify pick the branch with an
    // ajv validator, compiled by default on the first response that reaches it: 40-50 ms of a
    // blocked event loop on the first `PUT /admin/routes/:ctx`, in the middle of a flip under
    // load. Compile them with the routes, at startup.
    serializerOpts: { compileValidators: true },
  });

  const upstreams = makeUpstreams(config, opts.upstreamUrls, telemetry);
  for (const u of Object.values(upstreams)) {
    telemetry.metrics.breakerChanged(u.name, u.breakerState, false);
    u.onBreakerChange((state) => {
      telemetry.metrics.breakerChanged(u.name, state);
      app.log.warn({ event: 'breaker', upstream: u.name, state }, `circuit breaker of ${u.name} is ${state}`);
    });
  }
  let flags: FlagProvider;
  let idempotencyStore: IdempotencyStore;
  try {
    flags = await createFlagProvider(config.flags, app.log, { workers: config.workers, instances: config.instances });
    idempotencyStore = await createIdempotencyStore(config.redisUrl);
  } catch (err) {
    await Promise.all(Object.values(upstreams).map((u) => u.close()));
    await telemetry.close();
    throw err;
  }
  const catalog = new LegacyCatalog(upstreams.legacy);
  const onFallback: FallbackListener = (e) => telemetry.metrics.fellBack(e.context, e.code);
  const gw: Gateway = Object.freeze({
    config,
    upstreams,
    flags,
    decisions: new RoutingDecisions(flags, app.log),
    sites: new SiteRegistry(upstreams.legacy),
    catalog,
    ports: buildPorts(upstreams, catalog, config.fallbackContexts, onFallback),
    onFallback,
    idempotencyStore,
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
    gw.decisions.close();
    await flags.close();
    await idempotencyStore.close();
    await Promise.all(Object.values(upstreams).map((u) => u.close()));
    await telemetry.close(); // exports the spans still buffered
  });

  // First: its onRoute hook gives every route registered after it its metrics.
  await app.register(observability, { telemetry });
  await app.register(errorHandler);
  await app.register(pathGuard);
  await app.register(loadShedding, { shed: config.shed });
  await app.register(requestScope);
  // after request-scope: its onSend sets the routing header that a stored response keeps
  await app.register(idempotency, { store: idempotencyStore, ttlMs: config.idempotencyTtlS * 1000, waitMs: 3000 });
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Strangler gateway: canonical commerce API', version: '1.0.0', description: 'Canonical REST over legacy OCC and the new pricing, inventory and promotions services.' },
    },
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

function makeUpstreams(config: GatewayConfig, urls: Readonly<Record<UpstreamName, string>>, telemetry: Telemetry): Record<UpstreamName, Upstream> {
  const mk = (name: UpstreamName, baseUrl: string) =>
    new Upstream({
      name,
      baseUrl,
      observer: telemetry.upstream(name, baseUrl),
      timeoutMs: config.timeouts[name],
      connections: config.upstreamConnections,
      breaker: config.breaker,
      retry: config.retry,
    });
  return {
    // The OCC client speaks to the monolith's /occ/v2 root; the passthrough keeps full paths.
    legacy: mk('legacy', `${urls.legacy}/occ/v2`),
    pricing: mk('pricing', urls.pricing),
    inventory: mk('inventory', urls.inventory),
    promotions: mk('promotions', urls.promotions),
  };
}
