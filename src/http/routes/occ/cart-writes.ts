/**
 * OCC cart writes. The monolith keeps carts, so these are forwarded to it, but through the
 * gateway's own upstream client rather than the raw proxy: that is what lets a write carry an
 * Idempotency-Key (run once, replayed after), be bounded by the request budget and the legacy
 * breaker, and never be retried unless that is safe.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import { SITE_PATTERN } from '../../../domain/model.js';
import { validator } from '../../../domain/map-result.js';
import { OccErrorList } from '../../../occ/dto.js';
import type { Gateway } from '../../../gateway.js';

const OCC_JSON = 'application/json;charset=UTF-8';
const FORM = 'application/x-www-form-urlencoded';
const checkErrorList = validator(OccErrorList);

const CartsParams = Type.Object({ site: Type.String({ pattern: SITE_PATTERN }), userId: Type.String({ pattern: '^[A-Za-z0-9@._+-]{1,128}$' }) });
const CartParams = Type.Composite([CartsParams, Type.Object({ cartId: Type.String({ pattern: '^[A-Za-z0-9-]{1,64}$' }) })]);
const EntryParams = Type.Composite([CartParams, Type.Object({ entryNumber: Type.Integer({ minimum: 0 }) })]);

// traceparent is the request's server span (set on arrival); tracestate the valid part of the client's
const FORWARDED = ['authorization', 'accept-language', 'idempotency-key', 'traceparent', 'tracestate'] as const;

const CARTS_COLLECTION = /^\/occ\/v2\/[^/?]+\/users\/[^/?]+\/carts\/?(\?|$)/;
const isCartsCollection = (url: string): boolean => CARTS_COLLECTION.test(url);

function guidOf(body: unknown): string | undefined {
  const guid = body !== null && typeof body === 'object' ? (body as { guid?: unknown }).guid : undefined;
  return typeof guid === 'string' && guid.length > 0 && guid.length <= 64 ? guid : undefined;
}

function oldCartIdOf(query: unknown): string | undefined {
  const v = query !== null && typeof query === 'object' ? (query as { oldCartId?: unknown }).oldCartId : undefined;
  return typeof v === 'string' && v.length > 0 && v.length <= 64 ? v : undefined;
}

export default async function cartWriteRoutes(app: FastifyInstance, opts: { gw: Gateway }): Promise<void> {
  const { gw } = opts;
  // OCC clients also post forms (`code=...&qty=...`); they are forwarded as received.
  app.addContentTypeParser(FORM, { parseAs: 'string' }, (_req, body, done) => done(null, body));

  async function forward(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const headers: Record<string, string> = { 'x-request-id': String(request.id) };
    for (const h of FORWARDED) {
      const v = request.headers[h];
      if (typeof v === 'string') headers[h] = v;
    }
    const contentType = String(request.headers['content-type'] ?? '');
    const form = contentType.startsWith(FORM);
    const r = await gw.upstreams.legacy.call(request.url.slice('/occ/v2'.length), {
      method: request.method as 'POST' | 'PUT' | 'PATCH' | 'DELETE',
      headers,
      deadline: Date.now() + gw.config.requestBudgetMs,
      ...(form ? { rawBody: { contentType, text: String(request.body ?? '') } } : request.body === undefined ? {} : { body: request.body }),
      context: 'carts',
      backend: 'legacy',
    });
    reply.code(r.status).type(OCC_JSON);
    if (r.status < 300 && request.method === 'POST' && request.gwIdentity && isCartsCollection(request.url)) {
      // A cart was created (or, with oldCartId, merged at login): keep the shopper on its arms.
      await gw.stickiness.cartCreated(request.gwIdentity, { guid: guidOf(r.body), oldCartId: oldCartIdOf(request.query) });
    }
    if (r.status >= 400) {
      // The monolith's refusal, re-issued field by field: OCC clients parse its type and message.
      const list = checkErrorList(r.body);
      const errors = list.ok
        ? list.value.errors.map(({ type, reason, message, subject, subjectType }) => ({ type, reason, message, subject, subjectType }))
        : [{ type: 'UnknownError', message: `the monolith refused the request (${r.status})` }];
      return reply.send({ errors });
    }
    return reply.send(r.body === undefined ? '' : r.body);
  }

  const config = { idempotent: true };
  const hide = true;
  app.post('/:site/users/:userId/carts', { config, schema: { params: CartsParams, hide } }, forward);
  app.delete('/:site/users/:userId/carts/:cartId', { config, schema: { params: CartParams, hide } }, forward);
  app.post('/:site/users/:userId/carts/:cartId/entries', { config, schema: { params: CartParams, hide } }, forward);
  for (const method of ['PATCH', 'PUT', 'DELETE'] as const) {
    app.route({ method, url: '/:site/users/:userId/carts/:cartId/entries/:entryNumber', config, schema: { params: EntryParams, hide }, handler: forward });
  }
}
