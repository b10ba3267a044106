/**
 * GraphQL over HTTP (the GraphQL Foundation's draft spec, as graphql-http audits it): media type
 * negotiation and status codes.
 *   - A client that prefers `application/graphql-response+json` gets it, and a 4xx when its
 *     request fails before execution (parse, validation, variable coercion).
 *   - A client that accepts `application/json` (or anything, or says nothing) gets
 *     `application/json` and, for those same document errors, a 200: the spec's rule for the
 *     legacy media type, whose clients read `errors` rather than the status.
 *   - A request the gateway refuses (a limit exceeded, a body that is not a GraphQL request, a
 *     second site) is a 4xx whatever the media type: that is not a GraphQL error but a refusal.
 *   - Once execution started, the answer is a 200 with `data` (partial or null) and `errors`.
 */
import type { ExecutionResult, FormattedExecutionResult, GraphQLError } from 'graphql';
import { toClientErrors, type ErrorLogger } from './errors.js';

export const GRAPHQL_RESPONSE_JSON = 'application/graphql-response+json';

/** True when the Accept header prefers application/graphql-response+json (RFC 9110 §12.5.1 q-values). */
export function prefersGraphqlResponse(accept: string | undefined): boolean {
  if (!accept) return false;
  let gql = 0;
  let json = 0;
  for (const part of accept.split(',')) {
    const [range = '', ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    const qParam = params.find((p) => p.startsWith('q='));
    const q = qParam ? Number(qParam.slice(2)) : 1;
    if (!Number.isFinite(q)) continue;
    if (range === GRAPHQL_RESPONSE_JSON) gql = Math.max(gql, q);
    else if (range === 'application/json' || range === 'application/*' || range === '*/*') json = Math.max(json, q);
  }
  return gql > 0 && gql >= json;
}

export function responseContentType(accept: string | undefined): string {
  return `${prefersGraphqlResponse(accept) ? GRAPHQL_RESPONSE_JSON : 'application/json'}; charset=utf-8`;
}

export interface FormatterContext {
  reply?: { request?: { headers: Record<string, string | string[] | undefined>; log: ErrorLogger & { info?(obj: object, msg?: string): void } } };
}

/** mercurius' `errorFormatter`: our error model and the status rules above. */
export function formatErrors(
  execution: ExecutionResult & { errors: readonly GraphQLError[] },
  context: FormatterContext | undefined,
): { statusCode: number; response: FormattedExecutionResult } {
  const request = context?.reply?.request;
  const log = request?.log ?? { error: () => undefined };
  const errors = toClientErrors(execution.errors, log);
  request?.log.info?.({ event: 'graphql.errors', codes: errors.map((e) => e.wire.extensions.code) }, 'GraphQL answered with errors');
  if ('data' in execution) {
    return { statusCode: 200, response: { data: execution.data ?? null, errors: errors.map((e) => e.wire) } };
  }
  const accept = request?.headers.accept;
  const refused = errors.find((e) => e.kind !== 'document');
  const statusCode = refused ? refused.status : prefersGraphqlResponse(Array.isArray(accept) ? accept.join(',') : accept) ? 400 : 200;
  return { statusCode, response: { errors: errors.map((e) => e.wire) } };
}
