import type { Money } from '../../domain/model.js';
import type { SiteInfo } from '../../occ/legacy-sites.js';
import type { Scope } from '../../upstream/scope.js';

/** Prices of many SKUs in one call per backend; a SKU the backend does not price is absent. */
export interface PricingPort {
  prices(scope: Scope, site: SiteInfo, skus: readonly string[]): Promise<Map<string, Money>>;
}
