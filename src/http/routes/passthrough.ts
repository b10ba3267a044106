/**
 * The strangler default: whatever the contexts do not own goes to legacy unchanged (method,
 * body, query, status, headers minus hop-by-hop, streaming both ways). The upstream host comes
 * from configuration only; only the configured prefixes are forwarded, so the monolith's
 * non-public paths (and the simulators' /__faults) are not reachable through the gateway.
 *
 * @fastify/http-proxy owns the routes: prefix matching, the prefix rewrite and its refusal of
 * destinations that escape the prefix. The bytes are relayed by the gateway's own engine
 * (src/upstream/forward.ts, through http-proxy's `handler` option) instead of reply-from: see
 * that file for why.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import httpProxy from '@fastify/http-proxy';
import { GatewayError } from '../../errors.js';
import type { Gateway } from '../../gateway.js';
import { ClientGoneError, InvalidUpstreamHeaderError, forward, forwardedRequestHeaders } from '../../upstream/forward.js';
import { isTimeout, type ObservedCall } from '../../upstream/http.js';

/** Methods whose requests carry no body (fastify gives them none). */
const BODYLESS = new Set(['GET', 'HEAD', 'OPTIONS', 'DELETE']);

export default async function passthroughRoutes(app: FastifyInstance, opts: { gw: Gateway }): Promise<void> {
  const { gw } = opts;
  const legacy = gw.upstreams.legacy;
  const bodyLimit = gw.config.bodyLimit;
  // The relay's own pool to the monolith and the legacy observer (metrics under context
  // "passthrough", a client span whose traceparent replaces the one forwarded), built by the
  // composition root (src/upstream/clients.ts).
  const { pool, observer, timeoutMs } = gw.relay;
  // Bodies are relayed as the client streams them, whatever their type: the gateway's own
  // parsers (JSON, OCC forms) stay out of this plugin's routes.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, payload, done) => done(null, payload));

  const relay = (request: FastifyRequest, reply: FastifyReply, dest: string, mount: string, upstreamMount: string): void => {
    const q = request.url.indexOf('?');
    const headers = forwardedRequestHeaders(request.headers);
    headers['x-request-id'] = String(request.id);
    // `traceparent` here is the request's server span (set on arrival); the client span started
    // now becomes the legacy's parent.
    const call: ObservedCall = observer.start(request.method as 'GET', { context: 'passthrough', backend: 'legacy' }, headers as Record<string, string>);
    let body: AsyncIterable<Buffer> | null = null;
    if (!BODYLESS.has(request.method) && request.body) {
      // the request stream itself (the parser above); a declared length was checked in
      // preHandler, a chunked body is counted as it streams
      const stream = request.body as AsyncIterable<Buffer>;
      body = request.headers['content-length'] === undefined ? limited(stream, bodyLimit) : stream;
    }
    forward(
      pool,
      {
        method: request.method,
        path: q === -1 ? dest : dest + request.url.slice(q),
        headers,
        body,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      },
      {
        res: reply.raw,
        rewriteLocation: upstreamMount === mount ? undefined : { from: upstreamMount, to: mount },
        extraHeaders: (): Record<string, string> => (app.isDraining() ? { 'x-request-id': String(request.id), connection: 'close' } : { 'x-request-id': String(request.id) }),
        // From here the response is written by the relay, not by fastify (onResponse hooks still run).
        onStart: () => reply.hijack(),
        onEnd: (status, err) => {
          if (err === undefined) return call.end(status! >= 500 ? '5xx' : status! >= 400 ? '4xx' : 'ok', status);
          if (err instanceof ClientGoneError) return call.end('cancelled', status);
          call.end(isTimeout(err) ? 'timeout' : 'unavailable', status);
          request.log.warn({ err, upstream: 'legacy' }, 'passthrough to legacy failed');
        },
        onFailure: (err) => void reply.send(failure(err)),
      },
    );
  };

  for (const prefix of gw.config.passthroughPrefixes) {
    const mount = prefix.replace(/\/$/, '');
    const upstreamMount = legacy.basePath.replace(/\/occ\/v2$/, '') + mount;
    await app.register(httpProxy, {
      upstream: legacy.origin,
      prefix: mount,
      rewritePrefix: upstreamMount,
      // the parsers above already hand every body over as a stream
      proxyPayloads: false,
      // no routing decision here: src/sticky-identity.ts leaves these routes alone
      config: { passthrough: true },
      // callback style: no promise per request on the hot path
      preHandler: (request, _reply, done) => {
        // The legacy breaker (fed by the gateway's own legacy calls) also guards the raw proxy:
        // while it is open, storefronts get a fast 503 instead of waiting on a dead monolith.
        if (legacy.breakerState === 'open') {
          return done(
            new GatewayError(503, 'GW_ERR_UPSTREAM_UNAVAILABLE', 'legacy is unavailable (circuit breaker open)', {
              backend: 'legacy',
              retryAfterSeconds: Math.max(1, Math.ceil(gw.config.breaker.resetMs / 1000)),
            }),
          );
        }
        const len = request.headers['content-length'];
        if (len !== undefined && Number(len) > bodyLimit) return done(new GatewayError(413, 'GW_ERR_REQUEST_TOO_LARGE', `request body exceeds ${bodyLimit} bytes`));
        done();
      },
      handler: (request, reply, dest) => relay(request, reply, dest, mount, upstreamMount),
    });
  }
}

function failure(err: Error): GatewayError {
  if (err instanceof GatewayError) return err;
  if (isTimeout(err)) return new GatewayError(504, 'GW_ERR_UPSTREAM_TIMEOUT', 'legacy did not answer in time', { backend: 'legacy' });
  if (err instanceof InvalidUpstreamHeaderError) return new GatewayError(502, 'GW_ERR_UPSTREAM_FAILED', 'legacy answered with an invalid header', { backend: 'legacy' });
  return new GatewayError(503, 'GW_ERR_UPSTREAM_UNAVAILABLE', 'legacy is unreachable', { backend: 'legacy', retryAfterSeconds: 1 });
}

/** A chunked request body, cut off (413) once it exceeds the gateway's body limit. */
async function* limited(source: AsyncIterable<Buffer>, limit: number): AsyncIterable<Buffer> {
  let seen = 0;
  for await (const chunk of source) {
    seen += chunk.length;
    if (seen > limit) throw new GatewayError(413, 'GW_ERR_REQUEST_TOO_LARGE', `request body exceeds ${limit} bytes`);
    yield chunk;
  }
}
