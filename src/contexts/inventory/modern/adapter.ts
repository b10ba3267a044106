/**
 * New arm of inventory: the inventory service's batch endpoint, one call for up to 100 SKUs,
 * shared by the requests that ask at the same time (src/upstream/coalesce.ts).
 */
import type { Availability } from '../../../domain/model.js';
import type { SiteInfo } from '../../../occ/legacy-sites.js';
import type { Upstream } from '../../../upstream/http.js';
import type { Scope } from '../../../upstream/scope.js';
import type { Caller } from '../../../upstream/coalesce.js';
import { invalidPayload, unexpectedStatus } from '../../../upstream/invalid.js';
import type { InventoryPort } from '../inventory.port.js';
import { checkAvailabilityBatch } from './payload.js';
import { SiteBatches } from '../../batch.js';

export class ModernInventory implements InventoryPort {
  private readonly batches = new SiteBatches<Availability>((site, skus, caller) => this.fetch(site, skus, caller));

  constructor(private readonly upstream: Upstream) {}

  availability(scope: Scope, site: SiteInfo, skus: readonly string[]): Promise<Map<string, Availability>> {
    return this.batches.get(scope, site, skus);
  }

  private async fetch(site: SiteInfo, skus: readonly string[], caller: Caller): Promise<Map<string, Availability>> {
    const path = `/v1/sites/${encodeURIComponent(site.uid)}/availability?skus=${skus.map(encodeURIComponent).join(',')}`;
    const r = await this.upstream.getJson(path, { ...caller.outbound, context: 'inventory', backend: 'new' });
    if (r.status === 404) return new Map();
    if (r.status !== 200) throw unexpectedStatus('inventory', 'new', r.status);
    const checked = checkAvailabilityBatch(r.body);
    if (!checked.ok) throw invalidPayload(caller, 'inventory', 'new', 'availability batch', checked.errors);
    return new Map(checked.value.items.map((i) => [i.sku, i.availability]));
  }
}
