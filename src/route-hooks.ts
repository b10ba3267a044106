/**
 * Route-level hooks added from an `onRoute` hook, so that only the routes that need them pay
 * for them (per-route metrics, Idempotency-Key on the routes that opt in).
 */

/**
 * `existing` plus `hook`, as a new array, never a push: fastify has already copied a route's
 * options for its HEAD twin, and the two must not share one array.
 */
export function withRouteHook<H>(existing: H | H[] | undefined, hook: H): H[] {
  return existing === undefined ? [hook] : Array.isArray(existing) ? [...existing, hook] : [existing, hook];
}
