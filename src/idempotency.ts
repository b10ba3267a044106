/**
 * Idempotency-Key for writes (draft-ietf-httpapi-idempotency-key-header): a request that carries
 * a key runs once; a replay gets the stored response (`idempotency-replayed: true`); a duplicate
 * that arrives while the first is running waits for it (up to `waitMs`) or gets 409; the same key
 * with a different method, path or body gets 422. A first attempt that failed upstream (5xx) is
 * not stored, so the client may retry it. Routes opt in with `config: { idempotent: true }`.
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { GatewayError } from './errors.js';
import { withRouteHook } from './route-hooks.js';
import type { IdempotencyStore, StoredResponse } from './upstream/idempotency-store.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** this route honours Idempotency-Key */
    idempotent?: boolean;
  }
  interface FastifyRequest {
    idempotency: { key: string; fingerprint: string } | null;
  }
}

const KEY = /^[\x21-\x7e]{1,255}$/;
const POLL_MS = 25;

export interface IdempotencyOptions {
  store: IdempotencyStore;
  ttlMs: number;
  waitMs: number;
}

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

function replay(reply: FastifyReply, r: StoredResponse): FastifyReply {
  reply.code(r.status).header('idempotency-replayed', 'true');
  if (r.contentType) reply.header('content-type', r.contentType);
  if (r.route) reply.header('x-strangler-route', r.route);
  return reply.send(r.body);
}

async function idempotencyPlugin(app: FastifyInstance, opts: IdempotencyOptions): Promise<void> {
  const { store, ttlMs, waitMs } = opts;
  app.decorateRequest('idempotency', null);

  const preHandler = async (request: FastifyRequest, reply: FastifyReply) => {
    const raw = request.headers['idempotency-key'];
    if (raw === undefined) return;
    const key = Array.isArray(raw) ? raw[0] : raw;
    if (!key || !KEY.test(key)) {
      throw new GatewayError(400, 'GW_ERR_IDEMPOTENCY_KEY_INVALID', 'Idempotency-Key must be 1 to 255 visible ASCII characters');
    }
    // Keys are per caller: one user can never replay another's response.
    const scopedKey = sha256(`${key}\n${request.headers.authorization ?? ''}`);
    const fingerprint = sha256(`${request.method} ${request.url}\n${request.body === undefined ? '' : JSON.stringify(request.body)}`);
    const deadline = Date.now() + waitMs;
    for (;;) {
      const claim = await store.claim(scopedKey, fingerprint, ttlMs);
      if (claim.state === 'claimed') {
        request.idempotency = { key: scopedKey, fingerprint };
        return;
      }
      if (claim.state === 'done') return replay(reply, claim.response);
      if (claim.state === 'mismatch') {
        throw new GatewayError(422, 'GW_ERR_IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used for a different request (method, path or body)');
      }
      if (Date.now() >= deadline) {
        throw new GatewayError(409, 'GW_ERR_IDEMPOTENCY_IN_FLIGHT', 'a request with this Idempotency-Key is still being processed', { retryAfterSeconds: 1 });
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  };

  const onSend = async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    const idem = request.idempotency;
    if (!idem) return payload;
    request.idempotency = null;
    if (reply.statusCode >= 500 || (typeof payload !== 'string' && !Buffer.isBuffer(payload))) {
      await store.release(idem.key);
      return payload;
    }
    const route = reply.getHeader('x-strangler-route');
    const contentType = reply.getHeader('content-type');
    await store.complete(
      idem.key,
      idem.fingerprint,
      {
        status: reply.statusCode,
        contentType: contentType === undefined ? undefined : String(contentType),
        route: route === undefined ? undefined : String(route),
        body: payload.toString(),
      },
      ttlMs,
    );
    return payload;
  };

  // Only the routes that opt in carry the hooks (after the instance's own hooks, so the stored
  // response has every header they set); every other request pays nothing for idempotency.
  app.addHook('onRoute', (route) => {
    if (!route.config?.idempotent) return;
    route.preHandler = withRouteHook(route.preHandler, preHandler);
    route.onSend = withRouteHook(route.onSend, onSend);
  });
}

export default fp(idempotencyPlugin, { name: 'idempotency', fastify: '5.x' });
