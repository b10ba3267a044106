/** What the new services' batch endpoints share: their limit, and what separates two batches. */
import type { SiteInfo } from '../occ/legacy-sites.js';
import type { Scope } from '../upstream/scope.js';

/** The most SKUs one batch call of a new service takes (their `skus` parameter: 1..100). */
export const MAX_BATCH_SKUS = 100;

/**
 * Requests share a batch call only when the call would be the same for each: the same site and
 * the same `accept-language` (propagated upstream, it may change the answer's texts).
 */
export function batchGroup(scope: Scope, site: SiteInfo): string {
  const lang = scope.outbound.headers['accept-language'];
  return lang === undefined ? site.uid : `${site.uid}|${lang}`;
}
