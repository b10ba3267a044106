import type { Availability } from '../../domain/model.js';
import type { SiteInfo } from '../../occ/legacy-sites.js';
import type { Scope } from '../../upstream/scope.js';

/** Availability of many SKUs in one call per backend; a SKU the backend does not stock is absent. */
export interface InventoryPort {
  availability(scope: Scope, site: SiteInfo, skus: readonly string[]): Promise<Map<string, Availability>>;
}
