/**
 * Resolves who each request to the gateway's own surfaces (OCC, canonical REST, GraphQL)
 * belongs to, before its handler runs: the identity and its bound key (a lookup in the binding
 * store, only for users, tokens and carts), and the sticky cookie for a client with no identity.
 * `scopeOf` (src/request-scope.ts) routes by it. The raw passthrough is left alone: it makes no
 * routing decision.
 */
import type { FastifyInstance, onRequestHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import { occPathIds, type Identity } from './routing/identity.js';
import type { Stickiness } from './routing/stickiness.js';
import { withRouteHook } from './route-hooks.js';

declare module 'fastify' {
  interface FastifyRequest {
    gwIdentity: Identity | null;
  }
  interface FastifyContextConfig {
    /** the route relays to legacy as is (src/http/routes/passthrough.ts): no identity is resolved */
    passthrough?: boolean;
  }
}

const ROUTED = ['/occ/', '/api/', '/graphql'];

async function stickyIdentityPlugin(app: FastifyInstance, opts: { stickiness: Stickiness }): Promise<void> {
  const { stickiness } = opts;
  app.decorateRequest('gwIdentity', null);
  // callback style: no promise per request unless a binding has to be looked up
  const resolveIdentity: onRequestHookHandler = (request, reply, done) => {
    const url = request.url;
    if (!ROUTED.some((p) => url.startsWith(p))) return done();
    let id: Identity;
    try {
      id = stickiness.resolver.resolve({ headers: request.headers, remoteAddress: request.ip, ...occPathIds(url) });
    } catch (err) {
      return done(err as Error);
    }
    request.gwIdentity = id;
    if (id.setCookie !== undefined) reply.header('set-cookie', id.setCookie);
    if (id.bindingKey === undefined) return done();
    stickiness.applyBinding(id).then(() => done(), done);
  };
  // A route-level hook on every route but the passthrough's, given as each route is added: the
  // passthrough does not pay for a hook that would only look up its route config to skip it
  // (fastify builds a new routeOptions object for every such lookup). Requests no route matched
  // are identified as before, by the global hook below.
  app.addHook('onRoute', (route) => {
    if (route.config?.passthrough === true) return;
    route.onRequest = withRouteHook(route.onRequest, resolveIdentity);
  });
  app.addHook('onRequest', (request, reply, done) => (request.is404 ? resolveIdentity.call(app, request, reply, done) : done()));
}

export default fp(stickyIdentityPlugin, { name: 'sticky-identity', fastify: '5.x', dependencies: ['error-handler'] });
