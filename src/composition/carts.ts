/**
 * Stateless cart evaluation: unit prices from the pricing backend the request is routed to,
 * promotions and totals from the routed promotions backend. The monolith prices its own carts,
 * so on the legacy promotions arm the pricing context is not consulted.
 */
import { GatewayError } from '../errors.js';
import type { CartEntryInput, CartEvaluation } from '../domain/model.js';
import type { Gateway } from '../gateway.js';
import type { SiteInfo } from '../occ/legacy-sites.js';
import type { Scope } from '../upstream/scope.js';
import type { PricedEntry } from '../contexts/promotions/promotions.port.js';

export async function evaluateCart(gw: Gateway, scope: Scope, site: SiteInfo, input: readonly CartEntryInput[]): Promise<CartEvaluation> {
  // One line per SKU, in first-seen order: the monolith merges repeated adds the same way.
  const merged = new Map<string, number>();
  for (const e of input) merged.set(e.sku, (merged.get(e.sku) ?? 0) + e.quantity);
  const skus = [...merged.keys()];
  const promotions = gw.ports.promotions(scope);
  let entries: PricedEntry[];
  if (scope.decision.promotions === 'legacy') {
    entries = skus.map((sku) => ({ sku, quantity: merged.get(sku) as number, unitPrice: { amount: 0, currency: site.currency } }));
  } else {
    const prices = await gw.ports.pricing(scope).prices(scope, site, skus);
    const unpriced = skus.filter((s) => !prices.has(s));
    if (unpriced.length) throw new GatewayError(404, 'GW_ERR_PRODUCT_NOT_FOUND', `unknown product(s): ${unpriced.join(', ')}`);
    entries = skus.map((sku) => ({ sku, quantity: merged.get(sku) as number, unitPrice: prices.get(sku)! }));
  }
  return promotions.evaluate(scope, site, entries);
}
