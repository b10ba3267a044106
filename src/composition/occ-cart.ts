/**
 * An OCC cart read through the gateway. The monolith keeps the cart (entries, quantities,
 * owner; read by the legacy carts adapter, src/occ/legacy-carts.ts); the promotions context owns
 * its calculation (entry prices, applied promotions, totals), with unit prices from the pricing
 * backend the request is routed to. Both arms go through the same anti-corruption mapping and
 * the same overlay, so an OCC client sees one shape whichever backend calculated its cart.
 */
import { GatewayError } from '../errors.js';
import type { OccCatalogProduct, OccStock } from '../occ/dto.js';
import type { Gateway } from '../gateway.js';
import type { SiteInfo } from '../occ/legacy-sites.js';
import type { Scope } from '../upstream/scope.js';
import type { CartAddress } from '../occ/legacy-carts.js';
import { evaluationToOccCartTotals } from '../occ/carts.js';
import { availabilityToOccStock } from '../contexts/inventory/legacy/mapper.js';

export type { CartAddress };

export async function readOccCart(
  gw: Gateway,
  scope: Scope,
  site: SiteInfo,
  addr: CartAddress,
  opts: { entryStock: boolean },
): Promise<Record<string, unknown>> {
  const cart = await gw.carts.read(scope, site, addr);
  const evaluation = await gw.ports.promotions(scope).calculate(scope, site, cart, async (skus) => {
    const prices = await gw.ports.pricing(scope).prices(scope, site, skus);
    const unpriced = skus.filter((s) => !prices.has(s));
    if (unpriced.length) {
      const backend = scope.fallbacks.has('pricing') ? 'legacy' : scope.use('pricing');
      throw new GatewayError(502, 'GW_ERR_UPSTREAM_FAILED', `pricing upstream (${backend}) has no price for ${unpriced.join(', ')}`, { context: 'pricing', backend });
    }
    return prices;
  });

  const legacyCart = cart.occ;
  const totals = evaluationToOccCartTotals(evaluation) as unknown as Record<string, unknown>;
  const rawEntries = (legacyCart.entries ?? []) as { product: Record<string, unknown> & { code: string } }[];
  const legacyProducts = new Map(rawEntries.map((e) => [e.product.code, e.product]));
  const missing = evaluation.entries.map((e) => e.sku).filter((s) => !legacyProducts.has(s));
  const catalog = missing.length ? await gw.catalog.products(scope, site.uid, missing) : new Map<string, OccCatalogProduct>();
  // The monolith's entries carry its stock; only a new inventory service has any to replace.
  const inventory = opts.entryStock && evaluation.entries.length > 0 ? gw.ports.overlay('inventory', scope) : undefined;
  let stock: Map<string, OccStock> | undefined;
  if (inventory) {
    const avail = await inventory.availability(scope, site, [...new Set(evaluation.entries.map((e) => e.sku))]);
    stock = new Map([...avail].map(([k, v]) => [k, availabilityToOccStock(v)]));
  }
  const productOf = (code: string): Record<string, unknown> => {
    const base = legacyProducts.get(code) ?? summary(catalog.get(code), code);
    const s = stock?.get(code);
    return s && 'stock' in base ? { ...base, stock: s } : base;
  };
  totals.entries = (totals.entries as { product: { code: string } }[]).map((e) => ({ ...e, product: productOf(e.product.code) }));

  // The legacy cart's key order and its other fields (owner, guid, delivery...), the
  // contexts' fields replaced in place; OCC omits an empty entry list.
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(legacyCart)) out[k] = k in totals ? totals[k] : v;
  for (const [k, v] of Object.entries(totals)) if (!(k in out)) out[k] = v;
  if (Array.isArray(out.entries) && out.entries.length === 0) delete out.entries;
  return out;
}

/** A gift the monolith did not add (the new engine did): its OCC entry product from the catalog. */
function summary(p: { code: string; name: string; url?: string | undefined } | undefined, code: string): Record<string, unknown> {
  return p ? { code: p.code, name: p.name, url: p.url ?? `/p/${p.code}` } : { code };
}
