/**
 * New arm of pricing: the pricing service's batch endpoint, one call for up to 100 SKUs, shared
 * by the requests that ask at the same time (src/upstream/coalesce.ts).
 */
import type { Money } from '../../../domain/model.js';
import type { SiteInfo } from '../../../occ/legacy-sites.js';
import type { Upstream } from '../../../upstream/http.js';
import type { Scope } from '../../../upstream/scope.js';
import type { Caller } from '../../../upstream/coalesce.js';
import { invalidPayload, unexpectedStatus } from '../../../upstream/invalid.js';
import type { PricingPort } from '../pricing.port.js';
import { checkPriceBatch } from './payload.js';
import { SiteBatches } from '../../batch.js';

export class ModernPricing implements PricingPort {
  private readonly batches = new SiteBatches<Money>((site, skus, caller) => this.fetch(site, skus, caller));

  constructor(private readonly upstream: Upstream) {}

  prices(scope: Scope, site: SiteInfo, skus: readonly string[]): Promise<Map<string, Money>> {
    return this.batches.get(scope, site, skus);
  }

  private async fetch(site: SiteInfo, skus: readonly string[], caller: Caller): Promise<Map<string, Money>> {
    const path = `/v1/sites/${encodeURIComponent(site.uid)}/prices?skus=${skus.map(encodeURIComponent).join(',')}`;
    const r = await this.upstream.getJson(path, { ...caller.outbound, context: 'pricing', backend: 'new' });
    if (r.status === 404) return new Map();
    if (r.status !== 200) throw unexpectedStatus('pricing', 'new', r.status);
    const checked = checkPriceBatch(r.body);
    if (!checked.ok) throw invalidPayload(caller, 'pricing', 'new', 'price batch', checked.errors);
    const out = new Map<string, Money>();
    for (const p of checked.value.prices) {
      if (p.price.currency !== site.currency) {
        throw invalidPayload(caller, 'pricing', 'new', 'price batch', [{ path: `/prices/${p.sku}/price/currency`, message: `expected ${site.currency}` }]);
      }
      out.set(p.sku, p.price);
    }
    return out;
  }
}
