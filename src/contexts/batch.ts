/**
 * The new services' batch endpoints (pricing, inventory, product promotions), as the adapters
 * call them: the SKUs of concurrent requests coalesced into shared calls (src/upstream/coalesce.ts),
 * within the endpoints' limit and only between requests the call would answer alike.
 */
import type { SiteInfo } from '../occ/legacy-sites.js';
import type { Scope } from '../upstream/scope.js';
import { Coalescer, type BatchFetch } from '../upstream/coalesce.js';

/** The most SKUs one batch call of a new service takes (their `skus` parameter: 1..100). */
export const MAX_BATCH_SKUS = 100;

export class SiteBatches<V> {
  private readonly coalescer: Coalescer<SiteInfo, V>;

  /** @param fetch one call of the endpoint for a site's SKUs (at most MAX_BATCH_SKUS) */
  constructor(fetch: BatchFetch<SiteInfo, V>) {
    this.coalescer = new Coalescer(fetch, MAX_BATCH_SKUS);
  }

  get(scope: Scope, site: SiteInfo, skus: readonly string[]): Promise<Map<string, V>> {
    // Shared only by requests for the same site with the same `accept-language` (propagated
    // upstream, it may change the answer's texts).
    const lang = scope.outbound.headers['accept-language'];
    return this.coalescer.get(lang === undefined ? site.uid : `${site.uid}|${lang}`, site, skus, scope);
  }
}
