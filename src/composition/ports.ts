/**
 * Both arms of every context, chosen per request by the routing decision. The only place that
 * knows which adapter serves which backend.
 */
import type { UpstreamName } from '../config/load.js';
import type { Upstream } from '../upstream/http.js';
import type { Scope } from '../upstream/scope.js';
import type { LegacyCatalog } from '../occ/legacy-catalog.js';
import type { PricingPort } from '../contexts/pricing/pricing.port.js';
import type { InventoryPort } from '../contexts/inventory/inventory.port.js';
import type { PromotionsPort } from '../contexts/promotions/promotions.port.js';
import { LegacyPricing } from '../contexts/pricing/legacy/adapter.js';
import { ModernPricing } from '../contexts/pricing/modern/adapter.js';
import { LegacyInventory } from '../contexts/inventory/legacy/adapter.js';
import { ModernInventory } from '../contexts/inventory/modern/adapter.js';
import { LegacyPromotions } from '../contexts/promotions/legacy/adapter.js';
import { ModernPromotions } from '../contexts/promotions/modern/adapter.js';

interface Arms<P> {
  legacy: P;
  new: P;
}

export interface Ports {
  pricing(scope: Scope): PricingPort;
  inventory(scope: Scope): InventoryPort;
  promotions(scope: Scope): PromotionsPort;
}

export function buildPorts(upstreams: Readonly<Record<UpstreamName, Upstream>>, catalog: LegacyCatalog): Ports {
  const pricing: Arms<PricingPort> = { legacy: new LegacyPricing(catalog), new: new ModernPricing(upstreams.pricing) };
  const inventory: Arms<InventoryPort> = { legacy: new LegacyInventory(catalog, upstreams.legacy), new: new ModernInventory(upstreams.inventory) };
  const promotions: Arms<PromotionsPort> = {
    legacy: new LegacyPromotions(catalog, upstreams.legacy),
    new: new ModernPromotions(upstreams.promotions),
  };
  return {
    pricing: (scope) => pricing[scope.use('pricing')],
    inventory: (scope) => inventory[scope.use('inventory')],
    promotions: (scope) => promotions[scope.use('promotions')],
  };
}
