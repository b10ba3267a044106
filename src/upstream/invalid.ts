/**
 * The one way an adapter reports an upstream payload that failed its schema: a 502 naming the
 * context and backend, and an error log with the validation errors (which never reach the client
 * beyond their paths and messages).
 */
import { GatewayError } from '../errors.js';
import type { MapError } from '../domain/map-result.js';
import type { ScopeLogger } from './scope.js';

export function invalidPayload(scope: { readonly log: ScopeLogger }, context: string, backend: 'legacy' | 'new', what: string, errors: readonly MapError[]): GatewayError {
  scope.log.error({ event: 'upstream.invalid_payload', context, backend, what, errors }, `${context} upstream (${backend}) returned an invalid ${what}`);
  return new GatewayError(502, 'GW_ERR_UPSTREAM_INVALID_PAYLOAD', `${context} upstream (${backend}) returned an invalid ${what} payload`, {
    context,
    backend,
    errors: errors.map((e) => ({ path: e.path, message: e.message })),
  });
}

export function unexpectedStatus(context: string, backend: 'legacy' | 'new', status: number): GatewayError {
  return new GatewayError(502, 'GW_ERR_UPSTREAM_FAILED', `${context} upstream (${backend}) answered with status ${status}`, { context, backend });
}
