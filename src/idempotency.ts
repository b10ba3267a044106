/**
 * Idempotency-Key for writes (draft-ietf-httpapi-idempotency-key-header): a request that carries
 * a key runs once; a replay gets the stored response (`idempotency-replayed: true`); a duplicate
 * that arrives while the first is running waits for it (up to `waitMs`) or gets 409; the same key
 * with a different method, path or body gets 422. Routes opt in with `config: { idempotent: true }`
 * (`'stateless'` for a route with no side effects, e.g. a cart evaluation).
 *
 * A key never runs twice when it may have taken effect. How the first attempt ended decides:
 * - an answer below 500: stored and replayed;
 * - a failure that certainly had no effect (the upstream refused it with a 5xx, the breaker was
 *   open, the connection was refused): released, so a retry runs;
 * - anything else (a timeout or a broken connection after the write was sent, an error after it):
 *   the outcome is unknown. The key is kept and every retry gets `409
 *   GW_ERR_IDEMPOTENCY_OUTCOME_UNKNOWN`: read the resource, and send a new key if the change is
 *   missing. A stateless route releases instead (running it again is harmless).
 * The claim is a lease renewed while the request runs, so a gateway that dies mid-write leaves a
 * key whose outcome is unknown after `leaseMs`, not one "in flight" for the TTL. When the store
 * (Redis) cannot be reached, a keyed request gets `503 GW_ERR_IDEMPOTENCY_STORE_UNAVAILABLE` with
 * `Retry-After` before anything runs; if it fails after the write ran, the client still gets the
 * write's own answer and the key, unrecorded, turns "unknown" when its lease lapses.
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { GatewayError } from './errors.js';
import { withRouteHook } from './route-hooks.js';
import type { IdempotencyStore, StoredResponse, UnknownReason } from './upstream/idempotency-store.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** this route honours Idempotency-Key; 'stateless': it has no side effects */
    idempotent?: boolean | 'stateless';
  }
  interface FastifyRequest {
    idempotency: Claim | null;
  }
}

interface Claim {
  key: string;
  fingerprint: string;
  token: string;
  stateless: boolean;
  renewal: NodeJS.Timeout | undefined;
  /** the error the request failed with, if it did */
  error: unknown;
}

const KEY = /^[\x21-\x7e]{1,255}$/;
const POLL_MS = 25;
const STORE_RETRY_AFTER_S = 2;

export interface IdempotencyOptions {
  store: IdempotencyStore;
  ttlMs: number;
  waitMs: number;
  /** lease of an in-flight key, renewed every third of it while the request runs */
  leaseMs?: number;
}

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

/** Keys are per caller: one user can never replay another's response. */
export function scopedIdempotencyKey(key: string, authorization: string | undefined): string {
  return sha256(`${key}\n${authorization ?? ''}`);
}

/** What a key is bound to: method, path and query, body. */
export function idempotencyFingerprint(method: string, url: string, body: unknown): string {
  return sha256(`${method} ${url}\n${body === undefined ? '' : JSON.stringify(body)}`);
}

const UNKNOWN_DETAIL: Record<UnknownReason, string> = {
  interrupted:
    'the first request with this Idempotency-Key was sent upstream but did not complete (it timed out or its connection broke), so whether it took effect is not known; it will not run again: read the resource, and send a new key if the change is missing',
  abandoned:
    'the gateway running the first request with this Idempotency-Key stopped before recording its outcome, so whether it took effect is not known; it will not run again: read the resource, and send a new key if the change is missing',
};

function replay(reply: FastifyReply, r: StoredResponse): FastifyReply {
  reply.code(r.status).header('idempotency-replayed', 'true');
  if (r.contentType) reply.header('content-type', r.contentType);
  if (r.route) reply.header('x-strangler-route', r.route);
  return reply.send(r.body);
}

async function idempotencyPlugin(app: FastifyInstance, opts: IdempotencyOptions): Promise<void> {
  const { store, ttlMs, waitMs } = opts;
  const leaseMs = opts.leaseMs ?? 5000;
  const storeErrors = app.telemetry.metrics.idempotencyStoreErrors;
  app.decorateRequest('idempotency', null);

  /** Runs a store operation after the request's own work; a failure is logged and counted, not thrown. */
  const bestEffort = async (request: FastifyRequest, operation: string, run: () => Promise<unknown>) => {
    try {
      await run();
    } catch (err) {
      storeErrors.child(operation).inc();
      request.log.warn({ err, event: 'idempotency.store_failed', operation }, `idempotency store ${operation} failed; the key's lease will lapse to "outcome unknown"`);
    }
  };

  const preHandler = async (request: FastifyRequest, reply: FastifyReply) => {
    const raw = request.headers['idempotency-key'];
    if (raw === undefined) return;
    const key = Array.isArray(raw) ? raw[0] : raw;
    if (!key || !KEY.test(key)) {
      throw new GatewayError(400, 'GW_ERR_IDEMPOTENCY_KEY_INVALID', 'Idempotency-Key must be 1 to 255 visible ASCII characters');
    }
    const scopedKey = scopedIdempotencyKey(key, request.headers.authorization);
    const fingerprint = idempotencyFingerprint(request.method, request.url, request.body);
    const deadline = Date.now() + waitMs;
    for (;;) {
      let claim;
      try {
        claim = await store.claim(scopedKey, fingerprint, ttlMs, leaseMs);
      } catch (err) {
        storeErrors.child('claim').inc();
        throw new GatewayError(503, 'GW_ERR_IDEMPOTENCY_STORE_UNAVAILABLE', 'the Idempotency-Key store is unreachable, so this keyed request cannot be run safely; retry shortly (nothing was run)', {
          retryAfterSeconds: STORE_RETRY_AFTER_S,
          cause: err,
        });
      }
      if (claim.state === 'claimed') {
        const c: Claim = { key: scopedKey, fingerprint, token: claim.token, stateless: request.routeOptions.config.idempotent === 'stateless', renewal: undefined, error: undefined };
        c.renewal = setInterval(() => {
          store.renew(scopedKey, claim.token, leaseMs).catch(() => storeErrors.child('renew').inc());
        }, Math.max(50, Math.floor(leaseMs / 3)));
        c.renewal.unref();
        request.idempotency = c;
        return;
      }
      if (claim.state === 'done') return replay(reply, claim.response);
      if (claim.state === 'mismatch') {
        throw new GatewayError(422, 'GW_ERR_IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used for a different request (method, path or body)');
      }
      if (claim.state === 'unknown') throw new GatewayError(409, 'GW_ERR_IDEMPOTENCY_OUTCOME_UNKNOWN', UNKNOWN_DETAIL[claim.reason]);
      if (Date.now() >= deadline) {
        throw new GatewayError(409, 'GW_ERR_IDEMPOTENCY_IN_FLIGHT', 'a request with this Idempotency-Key is still being processed', { retryAfterSeconds: 1 });
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  };

  const onError = async (request: FastifyRequest, _reply: FastifyReply, error: unknown) => {
    if (request.idempotency) request.idempotency.error = error;
  };

  const onSend = async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    const idem = request.idempotency;
    if (!idem) return payload;
    request.idempotency = null;
    clearInterval(idem.renewal);
    const text = typeof payload === 'string' || Buffer.isBuffer(payload);
    if (reply.statusCode < 500 && text) {
      const route = reply.getHeader('x-strangler-route');
      const contentType = reply.getHeader('content-type');
      const response: StoredResponse = {
        status: reply.statusCode,
        contentType: contentType === undefined ? undefined : String(contentType),
        route: route === undefined ? undefined : String(route),
        body: payload.toString(),
      };
      await bestEffort(request, 'complete', () => store.complete(idem.key, idem.fingerprint, response, ttlMs));
    } else if (idem.stateless || (idem.error instanceof GatewayError && idem.error.notApplied)) {
      await bestEffort(request, 'release', () => store.release(idem.key));
    } else {
      await bestEffort(request, 'mark_unknown', () => store.markUnknown(idem.key, idem.fingerprint, 'interrupted', ttlMs));
    }
    return payload;
  };

  // A request that ends without a response being sent (the client left before onSend) must not
  // keep renewing its lease.
  const onResponse = async (request: FastifyRequest) => {
    if (request.idempotency) clearInterval(request.idempotency.renewal);
  };

  // Only the routes that opt in carry the hooks (after the instance's own hooks, so the stored
  // response has every header they set); every other request pays nothing for idempotency.
  app.addHook('onRoute', (route) => {
    if (!route.config?.idempotent) return;
    route.preHandler = withRouteHook(route.preHandler, preHandler);
    route.onError = withRouteHook(route.onError, onError);
    route.onSend = withRouteHook(route.onSend, onSend);
    route.onResponse = withRouteHook(route.onResponse, onResponse);
  });
}

export default fp(idempotencyPlugin, { name: 'idempotency', fastify: '5.x' });
