/**
 * What a context (or the catalog) says about caching its reads: which port methods, how long a
 * copy is fresh, how long past that it may still answer when the upstream fails, and which
 * domain events purge it. Set per context in its descriptor (`policy.cache`,
 * src/contexts/<ctx>/index.ts) and for the catalog in src/occ/legacy-catalog.ts.
 * docs/caching.md explains the choices.
 */
import type { DomainEventType } from '../events/bus.js';

export interface CachePolicy {
  /**
   * Port methods of the form `(scope, site, skus) => Promise<Map<sku, V>>` whose answers are
   * cached per SKU (a SKU the backend did not answer is cached as absent too).
   */
  readonly methods: readonly string[];
  /** how long a copy is served without asking the upstream */
  readonly ttlMs: number;
  /** past ttlMs, how much longer a copy may answer when the upstream fails (marked stale); 0: never */
  readonly staleIfErrorMs: number;
  /**
   * Domain events that purge it: an event with `{site, sku}` purges that SKU, one with only a
   * `site` (or a promotion `code`) the site's entries, one with neither everything.
   */
  readonly purgedBy: readonly DomainEventType[];
}
