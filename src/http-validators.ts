/**
 * HTTP validators and caching directives on the gateway's own GET answers: OCC (`/occ/v2`),
 * canonical REST (`/api/v1`) and GraphQL over GET (docs/caching.md#http-validators).
 *
 * - A **strong ETag** over the bytes the client gets (after the OCC `fields` mask, as
 *   serialized) and the `x-strangler-route` value, so the same bytes served by another arm (a
 *   flip, a fallback) get another ETag and a shared cache or a browser cannot mix arms.
 * - `If-None-Match` matching it → `304 Not Modified`, no body.
 * - `Cache-Control` per surface (CACHE_CONTROL_OCC / _API / _GRAPHQL); `private, no-cache` when
 *   the answer sets a cookie (the sticky cookie must not be stored by a shared cache).
 * - `Vary` on every request header that may change the answer: `Accept-Language` (propagated
 *   upstream) and the stickiness inputs that routing reads (`X-User-Id`, `X-Session-Id`,
 *   `Authorization`, `Cookie`: src/routing/identity.ts), plus `Accept` on GraphQL (it picks the
 *   media type).
 *
 * A handler that serves stored bytes may set their `ETag` itself (the same `entityTag`, computed
 * when they were stored); the directives and the 304 then apply to it as to a computed one.
 *
 * Answers relayed to legacy (passthrough: hijacked, legacy's own headers), errors, non-GET and
 * streamed payloads are left alone.
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';

export type CacheSurface = 'occ' | 'api' | 'graphql';

/** Request headers that may change an answer: what upstreams see, and what routing's stickiness reads. */
export const VARY_HEADERS = ['Accept-Language', 'X-User-Id', 'X-Session-Id', 'Authorization', 'Cookie'] as const;
const VARY = VARY_HEADERS.join(', ');
const VARY_GRAPHQL = `Accept, ${VARY}`;

export function surfaceOf(url: string): CacheSurface | undefined {
  if (url.startsWith('/occ/v2/')) return 'occ';
  if (url.startsWith('/api/v1/')) return 'api';
  if (url === '/graphql' || url.startsWith('/graphql?')) return 'graphql';
  return undefined;
}

/** A strong entity tag over what identifies the representation: the routing header, the media type choice, the bytes. */
export function entityTag(route: string, accept: string, body: string | Buffer): string {
  return `"${createHash('sha1').update(route).update('\n').update(accept).update('\n').update(body).digest('base64url')}"`;
}

/** RFC 9110 §13.1.2: If-None-Match uses the weak comparison; `*` matches any current representation. */
export function noneMatch(header: string, etag: string): boolean {
  if (header.trim() === '*') return true;
  const opaque = etag.startsWith('W/') ? etag.slice(2) : etag;
  for (const raw of header.split(',')) {
    const t = raw.trim();
    if ((t.startsWith('W/') ? t.slice(2) : t) === opaque) return true;
  }
  return false;
}

export interface ValidatorOptions {
  control: Readonly<Record<CacheSurface, string>>;
}

async function validatorsPlugin(app: FastifyInstance, opts: ValidatorOptions): Promise<void> {
  app.addHook('onSend', (request: FastifyRequest, reply: FastifyReply, payload: unknown, done: (err: null, payload: unknown) => void) => {
    const method = request.method;
    if ((method !== 'GET' && method !== 'HEAD') || reply.statusCode !== 200 || (typeof payload !== 'string' && !Buffer.isBuffer(payload))) {
      done(null, payload);
      return;
    }
    const surface = surfaceOf(request.url);
    if (surface === undefined) {
      done(null, payload);
      return;
    }
    // a handler serving stored bytes may have set their ETag already (src/cache/rendered.ts: the
    // same entityTag, computed once when they were stored)
    const preset = reply.getHeader('etag');
    let etag: string;
    if (typeof preset === 'string') etag = preset;
    else {
      const route = reply.getHeader('x-strangler-route');
      const accept = surface === 'graphql' ? (request.headers.accept ?? '') : '';
      etag = entityTag(typeof route === 'string' ? route : '', accept, payload);
      reply.header('etag', etag);
    }
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', reply.hasHeader('set-cookie') ? 'private, no-cache' : opts.control[surface]);
    const vary = reply.getHeader('vary');
    const ours = surface === 'graphql' ? VARY_GRAPHQL : VARY;
    reply.header('vary', typeof vary === 'string' && vary.length > 0 ? `${vary}, ${ours}` : ours);
    const inm = request.headers['if-none-match'];
    if (typeof inm === 'string' && noneMatch(inm, etag)) {
      reply.code(304);
      reply.removeHeader('content-type');
      reply.removeHeader('content-length');
      done(null, null);
      return;
    }
    done(null, payload);
  });
}

export default fp(validatorsPlugin, { name: 'http-validators', fastify: '5.x' });
