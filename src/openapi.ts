/**
 * The OpenAPI document at /docs/json (@fastify/swagger) says what the gateway really sends:
 * errors as `application/problem+json` (src/error-handler.ts) with the statuses a route can
 * produce, and who may call an operation. Routes take their error responses from here rather
 * than listing them one by one, so the document and the error handler cannot drift apart.
 * test/integration/openapi.test.ts validates live responses against the document and lints it.
 */
import { Problem } from './domain/model.js';

export const PROBLEM_MEDIA_TYPE = 'application/problem+json';

/** The admin API's bearer token (ADMIN_TOKEN), as an OpenAPI security scheme. */
export const ADMIN_SECURITY_SCHEME = 'adminBearer';
export const SECURITY_SCHEMES = {
  [ADMIN_SECURITY_SCHEME]: { type: 'http', scheme: 'bearer', description: 'the gateway\'s ADMIN_TOKEN (Authorization: Bearer …)' },
} as const;
/** `security` of an operation anyone may call (the storefront API): explicitly none. */
export const PUBLIC: readonly Record<string, string[]>[] = [];
/** `security` of an admin operation. */
export const ADMIN_ONLY: readonly Record<string, string[]>[] = [{ [ADMIN_SECURITY_SCHEME]: [] }];

const DESCRIPTIONS = {
  400: 'invalid request (path, query, body or header)',
  401: 'missing or invalid bearer token',
  403: 'the admin API is disabled (no ADMIN_TOKEN)',
  404: 'unknown site, product or resource',
  409: 'conflict (an in-flight idempotent request, a flag write that failed)',
  413: 'request body too large',
  415: 'unsupported content-type (send application/json)',
  422: 'Idempotency-Key reused with a different request',
  500: 'internal error (quote the request id)',
  502: 'an upstream answered an error or an invalid payload',
  503: 'overloaded (Retry-After), or an upstream is unavailable',
  504: 'an upstream timed out',
} as const;
export type ErrorStatus = keyof typeof DESCRIPTIONS;

/** Any route: bad input, no such resource, internal error, shed under load. */
export const COMMON_ERRORS: readonly ErrorStatus[] = [400, 404, 500, 503];
/** A route that calls upstreams. */
export const UPSTREAM_ERRORS: readonly ErrorStatus[] = [...COMMON_ERRORS, 502, 504];
/** A route that takes a JSON body. */
export const BODY_ERRORS: readonly ErrorStatus[] = [413, 415];
/** A route that honours Idempotency-Key (src/idempotency.ts). */
export const IDEMPOTENCY_ERRORS: readonly ErrorStatus[] = [409, 422];

interface ProblemResponse {
  description: string;
  content: { [PROBLEM_MEDIA_TYPE]: { schema: typeof Problem } };
}

/**
 * Response schemas for the given error statuses, as fastify's `schema.response` takes them:
 * described, and declared as problem+json (fastify then serializes a problem+json reply of
 * that status with the Problem schema).
 */
export function problemResponses(...groups: readonly (readonly ErrorStatus[])[]): Partial<Record<ErrorStatus, ProblemResponse>> {
  const out: Partial<Record<ErrorStatus, ProblemResponse>> = {};
  for (const status of [...new Set(groups.flat())].sort((a, b) => a - b)) {
    out[status] = { description: DESCRIPTIONS[status], content: { [PROBLEM_MEDIA_TYPE]: { schema: Problem } } };
  }
  return out;
}
