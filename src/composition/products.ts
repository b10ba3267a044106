/**
 * Product reads composed from the legacy catalog (names, existence: not migrated) and the
 * pricing, inventory and promotions contexts, each from the backend the request is routed to.
 * One upstream call per context per backend, whatever the number of SKUs.
 */
import type { Availability, Money, ProductView, PromotionInfo } from '../domain/model.js';
import type { Gateway } from '../gateway.js';
import type { SiteInfo } from '../occ/legacy-sites.js';
import type { OccCatalogProduct } from '../occ/dto.js';
import { occPotentialPromotion } from '../occ/promotions.js';
import type { Scope } from '../upstream/scope.js';
import { moneyToOccPrice } from '../contexts/pricing/legacy/mapper.js';
import { availabilityToOccStock } from '../contexts/inventory/legacy/mapper.js';

export interface Need {
  price: boolean;
  availability: boolean;
  promotions: boolean;
}

export const NEED_ALL: Need = Object.freeze({ price: true, availability: true, promotions: true });

export interface ProductParts {
  catalog: Map<string, OccCatalogProduct>;
  prices: Map<string, Money>;
  availability: Map<string, Availability>;
  promotions: Map<string, PromotionInfo[]>;
}

const EMPTY = new Map<never, never>();

export async function loadProducts(gw: Gateway, scope: Scope, site: SiteInfo, skus: readonly string[], need: Need = NEED_ALL): Promise<ProductParts> {
  const [catalog, prices, availability, promotions] = await Promise.all([
    gw.catalog.products(scope, site.uid, skus),
    need.price ? gw.ports.pricing(scope).prices(scope, site, skus) : EMPTY,
    need.availability ? gw.ports.inventory(scope).availability(scope, site, skus) : EMPTY,
    need.promotions ? gw.ports.promotions(scope).productPromotions(scope, site, skus) : EMPTY,
  ]);
  return { catalog, prices, availability, promotions };
}

/** A SKU the inventory backend does not know cannot be sold: out of stock, not an error. */
const UNKNOWN_STOCK: Availability = Object.freeze({ status: 'OUT_OF_STOCK', quantity: 0 });

export function productView(parts: ProductParts, sku: string): ProductView | undefined {
  const p = parts.catalog.get(sku);
  if (!p) return undefined;
  return {
    sku,
    name: p.name,
    price: parts.prices.get(sku) ?? null,
    availability: parts.availability.get(sku) ?? UNKNOWN_STOCK,
    promotions: (parts.promotions.get(sku) ?? []).map((x) => ({ code: x.code, title: x.title })),
  };
}

/**
 * The OCC product as the monolith would have sent it, with the parts the contexts own replaced
 * by what their routed backend says, in the same key position, so an OCC client cannot tell
 * which backend served it.
 */
export function occProduct(parts: ProductParts, sku: string, need: Need): Record<string, unknown> | undefined {
  const p = parts.catalog.get(sku);
  if (!p) return undefined;
  const out: Record<string, unknown> = {};
  const src = p as Record<string, unknown>;
  const price = parts.prices.get(sku);
  const avail = parts.availability.get(sku);
  const promos = parts.promotions.get(sku);
  for (const key in src) {
    if (key === 'price' && need.price) {
      if (price) out.price = moneyToOccPrice(price);
    } else if (key === 'stock' && need.availability) {
      out.stock = availabilityToOccStock(avail ?? UNKNOWN_STOCK);
    } else if (key === 'potentialPromotions' && need.promotions) {
      out.potentialPromotions = (promos ?? []).map(occPotentialPromotion);
    } else {
      out[key] = src[key];
    }
  }
  // A context answered for a product whose legacy payload lacked that part: append it.
  if (need.price && !('price' in src) && price) out.price = moneyToOccPrice(price);
  if (need.availability && !('stock' in src) && avail) out.stock = availabilityToOccStock(avail);
  if (need.promotions && !('potentialPromotions' in src) && promos?.length) out.potentialPromotions = promos.map(occPotentialPromotion);
  return out;
}
