/** Legacy arm of pricing: the price inside the monolith's product payload, through the ACL. */
import type { Money } from '../../../domain/model.js';
import type { LegacyCatalog } from '../../../occ/legacy-catalog.js';
import type { SiteInfo } from '../../../occ/legacy-sites.js';
import type { Scope } from '../../../upstream/scope.js';
import { invalidPayload } from '../../../upstream/invalid.js';
import type { PricingPort } from '../pricing.port.js';
import { legacyPriceToMoney } from './mapper.js';

export class LegacyPricing implements PricingPort {
  constructor(private readonly catalog: LegacyCatalog) {}

  async prices(scope: Scope, site: SiteInfo, skus: readonly string[]): Promise<Map<string, Money>> {
    const products = await this.catalog.products(scope, site.uid, skus);
    const out = new Map<string, Money>();
    for (const [sku, p] of products) {
      if (p.price === undefined) continue; // the monolith has no price for it: not purchasable
      const m = legacyPriceToMoney(p.price);
      if (!m.ok) throw invalidPayload(scope, 'pricing', 'legacy', 'price', m.errors.map((e) => ({ ...e, path: `/products/${sku}/price${e.path}` })));
      out.set(sku, m.value);
    }
    return out;
  }
}
