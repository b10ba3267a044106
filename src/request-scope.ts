/**
 * Per-request plumbing shared by every surface: the request id, the scope (decision computed
 * once, lazily, on the first context-owned call, and counted) and the `x-strangler-route` header.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import fp from 'fastify-plugin';
import { buildFlagContext, type Channel } from './routing/context.js';
import { routeHeader } from './routing/decide.js';
import { Scope } from './upstream/scope.js';
import type { Gateway } from './gateway.js';
import { serverSpanOf } from './observability/telemetry.js';
import { redactUrl } from './observability/logger.js';
import { logAccess } from './observability/request-logger.js';

declare module 'fastify' {
  interface FastifyRequest {
    gwScope: Scope | null;
  }
}

export interface ScopeInput {
  site: string;
  currency?: string | undefined;
  channel: Channel;
  occUserId?: string | undefined;
  cartGuid?: string | undefined;
  /** the request changes nothing, whatever its method (a GraphQL query over POST); default: GET or HEAD */
  readOnly?: boolean;
}

export function scopeOf(gw: Gateway, request: FastifyRequest, input: ScopeInput): Scope {
  if (request.gwScope) return request.gwScope;
  // the identity resolved on arrival (src/sticky-identity.ts): one key on every surface
  const id = request.gwIdentity;
  const ctx = buildFlagContext({
    headers: request.headers,
    remoteAddress: request.ip,
    site: input.site,
    currency: input.currency,
    occUserId: input.occUserId,
    cartGuid: input.cartGuid,
    channel: input.channel,
    identity: id ? { key: id.effective, user: id.user, session: id.session } : undefined,
  });
  const decision = gw.decisions.decide(ctx);
  request.server.telemetry.metrics.decided(decision);
  if (id) gw.stickiness.decided(id, `${input.site}\0${input.currency ?? ''}\0${input.channel}`, decision);
  const propagate: Record<string, string> = { 'x-request-id': String(request.id) };
  // The request's server span is the parent of every upstream call (each call's client span
  // takes its place in the header it sends); tracestate travels with it unchanged (W3C §3.3).
  const span = serverSpanOf(request);
  if (span) propagate.traceparent = span.traceparent;
  const ts = request.headers.tracestate;
  if (typeof ts === 'string') propagate.tracestate = ts;
  const al = request.headers['accept-language'];
  if (typeof al === 'string') propagate['accept-language'] = al;
  const readOnly = input.readOnly ?? (request.method === 'GET' || request.method === 'HEAD');
  const scope = new Scope(decision, propagate, request.log, Date.now() + gw.config.requestBudgetMs, readOnly);
  scope.boundToResponse = true; // the onResponse / onRequestAbort hooks below release its deferred work
  request.gwScope = scope;
  return scope;
}

async function requestScopePlugin(app: FastifyInstance): Promise<void> {
  app.decorateRequest('gwScope', null);
  // Hooks on every request are callback-style: no promise per hook on the hot path.
  app.addHook('onSend', (request, reply, payload, done) => {
    reply.header('x-request-id', request.id);
    const scope = request.gwScope;
    if (scope && scope.touched.size > 0) {
      reply.header('x-strangler-route', routeHeader(scope.decision, scope.touched, scope.fallbacks));
    }
    // stale-if-error (src/cache/): which parts of the answer are copies past their TTL
    if (scope && scope.stale.size > 0) reply.header('x-strangler-stale', [...scope.stale].join(', '));
    done(null, payload);
  });
  // The access log: one line per request, written when the response has been sent, with the
  // backend of every context the request touched (`route`, absent when none was: passthrough,
  // health, admin).
  app.addHook('onResponse', (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
    const scope = request.gwScope;
    let route: Record<string, string> | undefined;
    if (scope && scope.touched.size > 0) {
      route = {};
      for (const c of scope.touched) route[c] = scope.fallbacks.has(c) ? 'legacy(fallback)' : scope.decision[c]!;
    }
    logAccess(
      request.log,
      { method: request.method, url: redactUrl(request.url), statusCode: reply.statusCode, responseTime: Math.round(reply.elapsedTime * 10) / 10, route },
      'request completed',
    );
    scope?.responded();
    done();
  });
  // A client that leaves before the answer gets no access line from onResponse: say so.
  app.addHook('onRequestAbort', (request: FastifyRequest, done: HookHandlerDoneFunction) => {
    request.log.info({ method: request.method, url: redactUrl(request.url) }, 'request aborted by the client');
    request.gwScope?.responded();
    done();
  });
}

export default fp(requestScopePlugin, { name: 'request-scope', fastify: '5.x' });
