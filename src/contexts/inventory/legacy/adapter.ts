/** Legacy arm of inventory: the stock inside the monolith's product payload, through the ACL. */
import type { Availability } from '../../../domain/model.js';
import type { LegacyCatalog } from '../../../occ/legacy-catalog.js';
import type { SiteInfo } from '../../../occ/legacy-sites.js';
import type { Upstream } from '../../../upstream/http.js';
import type { Scope } from '../../../upstream/scope.js';
import { invalidPayload } from '../../../upstream/invalid.js';
import type { InventoryPort } from '../inventory.port.js';
import { legacyStockToAvailability } from './mapper.js';

export class LegacyInventory implements InventoryPort {
  constructor(
    private readonly catalog: LegacyCatalog,
    private readonly legacy: Upstream,
  ) {}

  async availability(scope: Scope, site: SiteInfo, skus: readonly string[]): Promise<Map<string, Availability>> {
    const out = new Map<string, Availability>();
    if (skus.length === 1 && !scope.touched.has('pricing') && !scope.touched.has('promotions')) {
      // Stock alone: OCC's dedicated stock endpoint is the monolith's cheapest answer.
      const sku = skus[0] as string;
      const r = await this.legacy.getJson(`/${encodeURIComponent(site.uid)}/products/${encodeURIComponent(sku)}/stock`, {
        ...scope.outbound,
        context: 'inventory',
        backend: 'legacy',
      });
      if (r.status === 404) return out;
      const a = legacyStockToAvailability(r.body);
      if (!a.ok) throw invalidPayload(scope, 'inventory', 'legacy', 'stock', a.errors);
      out.set(sku, a.value);
      return out;
    }
    const products = await this.catalog.products(scope, site.uid, skus);
    for (const [sku, p] of products) {
      if (p.stock === undefined) continue;
      const a = legacyStockToAvailability(p.stock);
      if (!a.ok) throw invalidPayload(scope, 'inventory', 'legacy', 'stock', a.errors.map((e) => ({ ...e, path: `/products/${sku}/stock${e.path}` })));
      out.set(sku, a.value);
    }
    return out;
  }
}
