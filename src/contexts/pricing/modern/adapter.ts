/** New arm of pricing: the pricing service's batch endpoint, one call for up to 100 SKUs. */
import type { Money } from '../../../domain/model.js';
import type { SiteInfo } from '../../../occ/legacy-sites.js';
import type { Upstream } from '../../../upstream/http.js';
import type { Scope } from '../../../upstream/scope.js';
import { invalidPayload, unexpectedStatus } from '../../../upstream/invalid.js';
import type { PricingPort } from '../pricing.port.js';
import { checkPriceBatch } from './payload.js';

export class ModernPricing implements PricingPort {
  constructor(private readonly upstream: Upstream) {}

  async prices(scope: Scope, site: SiteInfo, skus: readonly string[]): Promise<Map<string, Money>> {
    const path = `/v1/sites/${encodeURIComponent(site.uid)}/prices?skus=${skus.map(encodeURIComponent).join(',')}`;
    const r = await this.upstream.getJson(path, { ...scope.outbound, context: 'pricing', backend: 'new' });
    if (r.status === 404) return new Map();
    if (r.status !== 200) throw unexpectedStatus('pricing', 'new', r.status);
    const checked = checkPriceBatch(r.body);
    if (!checked.ok) throw invalidPayload(scope, 'pricing', 'new', 'price batch', checked.errors);
    const out = new Map<string, Money>();
    for (const p of checked.value.prices) {
      if (p.price.currency !== site.currency) {
        throw invalidPayload(scope, 'pricing', 'new', 'price batch', [{ path: `/prices/${p.sku}/price/currency`, message: `expected ${site.currency}` }]);
      }
      out.set(p.sku, p.price);
    }
    return out;
  }
}
