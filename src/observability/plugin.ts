/**
 * Per-request metrics and the end of the server span. Registered before any route: its
 * `onRoute` hook gives each route its own series (and an `onResponse` hook that closes over
 * them), so observing a request costs no label hashing and no lookup by URL; requests no route
 * matched (404s) are observed by one global hook.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction, onResponseHookHandler, RouteOptions } from 'fastify';
import fp from 'fastify-plugin';
import { SpanStatusCode } from '@opentelemetry/api';
import { ATTR_HTTP_RESPONSE_STATUS_CODE, ATTR_HTTP_ROUTE } from '@opentelemetry/semantic-conventions';
import { GatewayError } from '../errors.js';
import { withRouteHook } from '../route-hooks.js';
import { UNMATCHED_ROUTE, methodLabel, type RouteStats } from './metrics.js';
import { ATTR, serverSpanOf, type Telemetry } from './telemetry.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** the gateway's metrics and tracing */
    telemetry: Telemetry;
  }
  interface FastifyRequest {
    /** the GW_ERR_* code of an error response, read from its body (every error path writes one) */
    gwErrorCode: string | null;
  }
}

/**
 * Routes whose failures are failed cart evaluations (the canonical evaluation, and the OCC cart
 * read, which prices and promotes the cart through the routed arms). GraphQL's `evaluateCart`
 * shares `/graphql` with every other query; its resolver reports through
 * `telemetry.metrics.cartEvaluationsFailed` itself.
 */
const CART_EVALUATION_ROUTES: Readonly<Record<string, 'api' | 'occ'>> = {
  'POST /api/v1/sites/:site/carts/evaluate': 'api',
  'GET /occ/v2/:site/users/:userId/carts/:cartId': 'occ',
};

/** Both error envelopes carry the code: problem+json in `code`, OCC's ErrorList in `reason`. */
const ERROR_CODE = /"(?:code|reason)":"(GW_ERR_[A-Z_]+)"/;

async function observabilityPlugin(app: FastifyInstance, opts: { telemetry: Telemetry }): Promise<void> {
  const { telemetry } = opts;
  const { metrics } = telemetry;
  app.decorate('telemetry', telemetry);
  app.decorateRequest('gwErrorCode', null);

  function observe(request: FastifyRequest, reply: FastifyReply, stats: RouteStats): void {
    const status = reply.statusCode;
    const seconds = reply.elapsedTime / 1000;
    stats.observe(status, seconds);
    const scope = request.gwScope;
    if (scope !== null && scope.touched.size > 0) {
      for (const c of scope.touched) {
        const servedBy = scope.fallbacks.has(c) ? 'legacy_fallback' : scope.decision[c]!;
        stats.observeContext(status, c, servedBy, seconds);
        metrics.armOutcome?.(c, servedBy, status, reply.elapsedTime);
      }
    }
    if (status >= 400) {
      const code = request.gwErrorCode;
      // A cart that does not exist or is malformed was never evaluated: only 5xx count.
      if (stats.cartSurface && status >= 500) metrics.cartEvaluationsFailed.child(stats.cartSurface, code ?? 'UNKNOWN').inc();
      // An error on the OCC surface without a gateway code is the monolith's own, relayed.
      if (request.url.startsWith('/occ/')) metrics.occErrors.child(String(status), code ?? 'LEGACY').inc();
    }
    const span = serverSpanOf(request)?.span;
    if (span) {
      span.updateName(stats.route === UNMATCHED_ROUTE ? stats.method : `${stats.method} ${stats.route}`);
      if (stats.route !== UNMATCHED_ROUTE) span.setAttribute(ATTR_HTTP_ROUTE, stats.route);
      span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
      span.setAttribute(ATTR.requestId, String(request.id));
      const routed = reply.getHeader('x-strangler-route');
      if (typeof routed === 'string') span.setAttribute(ATTR.route, routed);
      // OpenTelemetry HTTP semconv: a server span is an error on 5xx only (4xx is the client's).
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    }
  }

  app.addHook('onRoute', (route: RouteOptions) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const byMethod = new Map(methods.map((m) => [m, metrics.route(m, route.url, CART_EVALUATION_ROUTES[`${m} ${route.url}`])]));
    const only = methods.length === 1 ? byMethod.get(methods[0]!)! : undefined;
    const hook: onResponseHookHandler = function observeRoute(request, reply, done: HookHandlerDoneFunction) {
      const stats = only ?? byMethod.get(request.method);
      if (stats) observe(request, reply, stats);
      done();
    };
    route.onResponse = withRouteHook(route.onResponse, hook);
  });

  const unmatched = new Map<string, RouteStats>();
  app.addHook('onResponse', (request, reply, done) => {
    if (request.is404) {
      const method = methodLabel(request.method);
      let stats = unmatched.get(method);
      if (!stats) {
        stats = metrics.route(method, UNMATCHED_ROUTE);
        unmatched.set(method, stats);
      }
      observe(request, reply, stats);
    }
    done();
  });

  app.addHook('onSend', (request, reply, payload, done) => {
    if (reply.statusCode >= 400 && typeof payload === 'string') request.gwErrorCode = ERROR_CODE.exec(payload)?.[1] ?? null;
    done(null, payload);
  });

  // Business signals that need the failing context, which only the error itself knows.
  app.addHook('onError', (_request, _reply, err, done) => {
    if (err instanceof GatewayError) {
      if (err.context === 'pricing') metrics.priceLookupsFailed.child(err.backend ?? 'unknown', err.code).inc();
      if (err.code === 'GW_ERR_UPSTREAM_INVALID_PAYLOAD' && err.context) metrics.invalidPayloads.child(err.context, err.backend ?? 'unknown').inc();
    }
    done();
  });
}

export default fp(observabilityPlugin, { name: 'observability', fastify: '5.x' });
