/**
 * Both arms of every context, chosen per request by the routing decision, and the fallback
 * policy: when a context's read is routed to the new service and that service fails (5xx,
 * timeout, unreachable, breaker open, invalid payload), the read is served by legacy, and says
 * so (`x-strangler-route: pricing=legacy(fallback)`, a log line). The only place that knows
 * which adapter serves which backend.
 */
import type { ContextName, UpstreamName } from '../config/load.js';
import { GatewayError } from '../errors.js';
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

export interface FallbackListener {
  (event: { context: ContextName; reason: string; code: string }): void;
}

/** A failure of the new arm that legacy can answer instead: upstream trouble, not bad input. */
function fallsBack(err: unknown): err is GatewayError {
  return err instanceof GatewayError && err.status >= 500 && err.backend === 'new';
}

/**
 * Wraps every method of the new arm so a failure is answered by the same method of the legacy
 * arm. Ports are read-only (product data, promotion definitions, stateless evaluation), so
 * every method qualifies; a port that gains a write must not be wrapped.
 */
function withFallback<P extends object>(context: ContextName, arms: Arms<P>, scope: Scope, onFallback: FallbackListener): P {
  return new Proxy(arms.new, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        try {
          return await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        } catch (err) {
          if (!fallsBack(err)) throw err;
          scope.fallbacks.add(context);
          scope.log.warn({ event: 'fallback', context, code: err.code, reason: err.detail }, `${context}: new service failed, served by legacy`);
          onFallback({ context, reason: err.detail, code: err.code });
          const legacy = Reflect.get(arms.legacy, prop) as (...a: unknown[]) => Promise<unknown>;
          return legacy.apply(arms.legacy, args);
        }
      };
    },
  });
}

export function buildPorts(
  upstreams: Readonly<Record<UpstreamName, Upstream>>,
  catalog: LegacyCatalog,
  fallbackContexts: ReadonlySet<ContextName> = new Set(),
  onFallback: FallbackListener = () => undefined,
): Ports {
  const pricing: Arms<PricingPort> = { legacy: new LegacyPricing(catalog), new: new ModernPricing(upstreams.pricing) };
  const inventory: Arms<InventoryPort> = { legacy: new LegacyInventory(catalog, upstreams.legacy), new: new ModernInventory(upstreams.inventory) };
  const promotions: Arms<PromotionsPort> = {
    legacy: new LegacyPromotions(catalog, upstreams.legacy),
    new: new ModernPromotions(upstreams.promotions),
  };
  const pick = <P extends object>(context: ContextName, arms: Arms<P>, scope: Scope): P => {
    const arm = scope.use(context);
    if (arm === 'legacy') return arms.legacy;
    return fallbackContexts.has(context) ? withFallback(context, arms, scope, onFallback) : arms.new;
  };
  return {
    pricing: (scope) => pick('pricing', pricing, scope),
    inventory: (scope) => pick('inventory', inventory, scope),
    promotions: (scope) => pick('promotions', promotions, scope),
  };
}
