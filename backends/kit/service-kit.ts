/**
 * What the three new services share: the fastify instance setup, RFC 9457 problem responses with
 * a stable `code`, site and SKU-list parsing, `/healthz` and fault injection. Kept in one place so
 * the services differ only in their routes.
 */
import { STATUS_CODES } from 'node:http';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { SITE_REGEX, SKU_REGEX } from '../contract/model.js';
import { getSite, type SiteDef } from './seed.js';
import { installFaults } from './faults.js';

export interface ServiceOptions {
  logger?: boolean;
  /** AMQP broker the change endpoints (`PUT /__changes/...`) announce on; unset: changes are not announced */
  amqpUrl?: string;
}

/** What a change endpoint answers: the event it made and whether the broker confirmed it. */
export const ChangeReply = Type.Object({
  event: Type.Object({
    id: Type.String(),
    type: Type.String(),
    at: Type.String(),
    context: Type.String(),
    data: Type.Record(Type.String(), Type.String()),
  }),
  published: Type.Boolean(),
  error: Type.Optional(Type.String()),
});

export const MAX_BATCH = 100;

/** An error that becomes an `application/problem+json` response. */
export class ServiceError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    detail: string,
  ) {
    super(detail);
    this.name = 'ServiceError';
  }
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export function problemJson(service: string, status: number, code: string, detail: string): string {
  return JSON.stringify({
    type: `urn:${service}:problem:${code.toLowerCase().replace(/_/g, '-')}`,
    title: STATUS_CODES[status] ?? 'Error',
    status,
    detail,
    code,
  });
}

/**
 * A copy of a schema without `$id`s: a response schema that nests the same `$id` twice is
 * rejected by fastify's serializer build. The contract schemas (backends/contract/model.ts)
 * carry none today; route schemas go through this so adding one stays safe.
 */
export function withoutIds<T extends object>(schema: T): T {
  return JSON.parse(JSON.stringify(schema, (key, value: unknown) => (key === '$id' ? undefined : value))) as T;
}

/** Route params shared by every site-scoped route. */
export const SiteParams = Type.Object({ site: Type.String({ pattern: SITE_REGEX }) });
export const SkusQuery = Type.Object({ skus: Type.String({ minLength: 1 }) });
export const MissingList = Type.Array(Type.String());

const skuRe = new RegExp(SKU_REGEX);

/** Comma-separated SKUs: trimmed, de-duplicated in order, 1..100 of them, each well-formed. */
export function parseSkus(raw: string): string[] {
  const skus = [...new Set(raw.split(',').map((s) => s.trim()).filter((s) => s.length > 0))];
  if (skus.length === 0) throw new ServiceError(400, 'BAD_REQUEST', 'skus must list at least one SKU');
  if (skus.length > MAX_BATCH) throw new ServiceError(400, 'BAD_REQUEST', `at most ${MAX_BATCH} SKUs per request`);
  const bad = skus.find((s) => !skuRe.test(s));
  if (bad !== undefined) throw new ServiceError(400, 'BAD_REQUEST', `malformed SKU '${bad.slice(0, 80)}'`);
  return skus;
}

export function requireSite(prefix: string, site: string): SiteDef {
  const def = getSite(site);
  if (!def) throw new ServiceError(404, `${prefix}_SITE_NOT_FOUND`, `Base site '${site}' not found`);
  return def;
}

/**
 * A fastify instance with the problem+json error and not-found handlers, `/healthz` and faults.
 * `prefix` namespaces the error codes (PRICING_, INVENTORY_, PROMOTIONS_).
 */
export function createService(service: string, prefix: string, opts: ServiceOptions = {}): FastifyInstance {
  const app = Fastify({ logger: opts.logger ?? false });
  const send = (status: number, code: string, detail: string) => ({
    contentType: PROBLEM_CONTENT_TYPE,
    body: problemJson(service, status, code, detail),
  });

  app.setErrorHandler((error: FastifyError | ServiceError, request, reply) => {
    const p = toProblem(prefix, error);
    if (p.status >= 500) request.log.error({ err: error }, 'request failed');
    const e = send(p.status, p.code, p.detail);
    return reply.code(p.status).type(e.contentType).send(e.body);
  });
  app.setNotFoundHandler((request, reply) => {
    const e = send(404, 'NOT_FOUND', `No route for ${request.method} ${request.url.split('?', 1)[0]}`);
    return reply.code(404).type(e.contentType).send(e.body);
  });
  app.get('/healthz', async () => ({ status: 'ok', service }));
  installFaults(app, {
    errorBody: (status, detail) =>
      send(status, status >= 500 ? `${prefix}_INTERNAL_ERROR` : 'BAD_REQUEST', detail ?? STATUS_CODES[status] ?? 'Error'),
  });
  return app;
}

function toProblem(prefix: string, error: FastifyError | ServiceError): { status: number; code: string; detail: string } {
  if (error instanceof ServiceError) return { status: error.statusCode, code: error.code, detail: error.message };
  if ('validation' in error && error.validation) return { status: 400, code: 'BAD_REQUEST', detail: error.message };
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) return { status, code: status === 400 ? 'BAD_REQUEST' : `${prefix}_CLIENT_ERROR`, detail: error.message };
  return { status: 500, code: `${prefix}_INTERNAL_ERROR`, detail: 'Internal server error' };
}
