/**
 * Stateless cart evaluation: promotions and totals from the routed promotions backend, which
 * asks for unit prices from the routed pricing backend when it needs them (the new engine does;
 * the monolith prices its own carts, so on its arm pricing is not consulted).
 */
import { GatewayError } from '../errors.js';
import type { CartEntryInput, CartEvaluation } from '../domain/model.js';
import type { Gateway } from '../gateway.js';
import type { SiteInfo } from '../occ/legacy-sites.js';
import type { Scope } from '../upstream/scope.js';

export async function evaluateCart(gw: Gateway, scope: Scope, site: SiteInfo, input: readonly CartEntryInput[]): Promise<CartEvaluation> {
  // One line per SKU, in first-seen order: the monolith merges repeated adds the same way.
  const merged = new Map<string, number>();
  for (const e of input) merged.set(e.sku, (merged.get(e.sku) ?? 0) + e.quantity);
  const lines = [...merged].map(([sku, quantity]) => ({ sku, quantity }));
  return gw.ports.promotions(scope).evaluate(scope, site, lines, async (skus) => {
    const prices = await gw.ports.pricing(scope).prices(scope, site, skus);
    const unpriced = skus.filter((s) => !prices.has(s));
    if (unpriced.length) throw new GatewayError(404, 'GW_ERR_PRODUCT_NOT_FOUND', `unknown product(s): ${unpriced.join(', ')}`);
    return prices;
  });
}
