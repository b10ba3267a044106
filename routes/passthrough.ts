/**
 * The strangler default: whatever the contexts do not own goes to legacy unchanged (method,
 * body, query, status, headers minus hop-by-hop, streaming both ways). The upstream host comes
 * from configuration only; only the configured prefixes are forwarded, so the monolith's
 * non-public paths (and the simulators' /__faults) are not reachable through the gateway.
 */
import type { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import httpProxy from '@fastify/http-proxy';
import type { ObservedCall } from '../src/upstream/http.js';
import { GatewayError } from '../src/errors.js';
import type { Gateway } from '../src/gateway.js';

export default async function passthroughRoutes(app: FastifyInstance, opts: { gw: Gateway }): Promise<void> {
  const { gw } = opts;
  const legacy = gw.upstreams.legacy;
  // The proxy's calls are observed like the gateway's own legacy calls (metrics under context
  // "passthrough", a client span whose traceparent replaces the one forwarded).
  const observer = app.telemetry.upstream('legacy', legacy.origin);
  const calls = new WeakMap<object, ObservedCall>();
  for (const prefix of gw.config.passthroughPrefixes) {
    const mount = prefix.replace(/\/$/, '');
    await app.register(httpProxy, {
      upstream: legacy.origin,
      prefix: mount,
      rewritePrefix: legacy.basePath.replace(/\/occ\/v2$/, '') + mount,
      // Keep the OCC content-type parsers of the gateway out of the proxied stream.
      proxyPayloads: false,
      // reply-from's own 'fetching from remote server' / 'response received' info lines: the
      // access line (request-scope.ts) says it once
      disableRequestLogging: true,
      preHandler: async (request) => {
        // The legacy breaker (fed by the gateway's own legacy calls) also guards the raw proxy:
        // while it is open, storefronts get a fast 503 instead of waiting on a dead monolith.
        if (legacy.breakerState === 'open') {
          throw new GatewayError(503, 'GW_ERR_UPSTREAM_UNAVAILABLE', 'legacy is unavailable (circuit breaker open)', {
            backend: 'legacy',
            retryAfterSeconds: Math.max(1, Math.ceil(gw.config.breaker.resetMs / 1000)),
          });
        }
        const len = Number(request.headers['content-length'] ?? 0);
        if (len > gw.config.bodyLimit) throw new GatewayError(413, 'GW_ERR_REQUEST_TOO_LARGE', `request body exceeds ${gw.config.bodyLimit} bytes`);
      },
      replyOptions: {
        rewriteRequestHeaders: (request, headers) => {
          // The upstream sees the monolith's own host, never the client's Host header.
          const out: Record<string, string | string[] | undefined> = { ...headers, 'x-request-id': String(request.id) };
          delete out.host;
          // `traceparent` here is the request's server span (set on arrival); the client span
          // started now becomes the legacy's parent. Called once per proxied request.
          calls.set(request, observer.start(request.method, { context: 'passthrough', backend: 'legacy' }, out));
          return out as typeof headers;
        },
        onResponse: (request, reply, res) => {
          const status = res.statusCode;
          calls.get(request)?.end(status >= 500 ? '5xx' : status >= 400 ? '4xx' : 'ok', status);
          calls.delete(request);
          // what reply-from does without an onResponse option: stream the legacy's answer on
          void reply.send((res as unknown as { stream: Readable }).stream);
        },
        onError: (reply, { error }) => {
          const code = (error as { code?: string }).code ?? '';
          const timeout = /TIMEOUT/i.test(code);
          const err = timeout
            ? new GatewayError(504, 'GW_ERR_UPSTREAM_TIMEOUT', 'legacy did not answer in time', { backend: 'legacy' })
            : new GatewayError(503, 'GW_ERR_UPSTREAM_UNAVAILABLE', 'legacy is unreachable', { backend: 'legacy', retryAfterSeconds: 1 });
          calls.get(reply.request)?.end(timeout ? 'timeout' : 'unavailable', undefined);
          calls.delete(reply.request);
          reply.request.log.warn({ err: error, code: err.code }, 'passthrough to legacy failed');
          void reply.send(err);
        },
      },
      undici: { connections: gw.config.upstreamConnections, pipelining: 1, keepAliveTimeout: 30_000, headersTimeout: gw.config.upstreamTimeoutMs, bodyTimeout: gw.config.upstreamTimeoutMs },
    });
  }
}
