/**
 * The one cart-evaluation engine both simulators use (CONTRACTS.md "Cart evaluation"), so the
 * legacy OCC cart and the new promotions service can only disagree through the ACL or injected
 * drift. All arithmetic is in integer minor units.
 */
import type { FiredPromotion as AppliedPromotion, Evaluation as CartEvaluation, EvaluatedLine as EvaluatedEntry, Money, Promotion } from '../contract/model.js';
import { getProduct, getSite, promotionQualifies, promotionsFor, type SeedProduct, type SiteDef } from './seed.js';

export interface EngineEntry {
  sku: string;
  /** positive integer */
  quantity: number;
  /** minor units */
  unitPrice: number;
}

export class UnknownProductError extends Error {
  readonly code = 'UNKNOWN_PRODUCT';
  constructor(
    readonly site: string,
    readonly sku: string,
  ) {
    super(`Product '${sku}' not found for site '${site}'`);
    this.name = 'UnknownProductError';
  }
}

export class UnknownSiteError extends Error {
  readonly code = 'UNKNOWN_SITE';
  constructor(readonly site: string) {
    super(`Base site '${site}' not found`);
    this.name = 'UnknownSiteError';
  }
}

/** Mutable accumulator of one applied promotion while entries are walked. */
interface Applied {
  promo: Promotion;
  discount: number;
  entryNumbers: number[];
}

/** Discount of a percentage/BOGO promotion for one entry, or undefined when it does not apply. */
function entryDiscount(promo: Promotion, entry: EngineEntry, basePrice: number): number | undefined {
  if (promo.kind === 'CATEGORY_PERCENTAGE') return Math.floor((basePrice * (promo.percentage ?? 0)) / 100);
  if (promo.kind === 'BUY_ONE_GET_ONE') {
    // quantity < 2 gets nothing, so the next promotion by priority may still apply
    return entry.quantity < 2 ? undefined : Math.floor(entry.quantity / 2) * entry.unitPrice;
  }
  return undefined;
}

/** Half-up rounding of total × rate, done in basis points so 0.07 never becomes 0.0699999. */
function taxOf(total: number, taxRate: number): number {
  const bps = Math.round(taxRate * 10_000);
  const scaled = total * bps;
  const tax = Math.floor(scaled / 10_000);
  return scaled - tax * 10_000 >= 5_000 ? tax + 1 : tax;
}

function lookup(site: SiteDef, sku: string): SeedProduct {
  const product = getProduct(site.id, sku);
  if (!product) throw new UnknownProductError(site.id, sku);
  return product;
}

export function evaluateCart(siteId: string, entries: readonly EngineEntry[]): CartEvaluation {
  const site = getSite(siteId);
  if (!site) throw new UnknownSiteError(siteId);
  const money = (amount: number): Money => ({ amount, currency: site.currency });
  const promos = promotionsFor(site.id);
  const productPromos = promos.filter((p) => p.scope === 'PRODUCT');
  // insertion order of this map = order of first use, which is the contract's listing order
  const applied = new Map<string, Applied>();
  const use = (promo: Promotion, entryNumber: number, discount: number) => {
    let a = applied.get(promo.code);
    if (!a) {
      a = { promo, discount: 0, entryNumbers: [] };
      applied.set(promo.code, a);
    }
    a.discount += discount;
    a.entryNumbers.push(entryNumber);
  };

  const evaluated: EvaluatedEntry[] = entries.map((entry, entryNumber) => {
    const product = lookup(site, entry.sku);
    const basePrice = entry.unitPrice * entry.quantity;
    let discount = 0;
    let discounted = false;
    for (const promo of productPromos) {
      if (!promotionQualifies(promo, product)) continue;
      if (promo.kind === 'GIFT_WITH_PURCHASE') {
        use(promo, entryNumber, 0); // gifts do not take the entry's one discount slot
        continue;
      }
      if (discounted) continue;
      const d = entryDiscount(promo, entry, basePrice);
      if (d === undefined) continue;
      discount = d;
      discounted = true;
      use(promo, entryNumber, d);
    }
    return {
      entryNumber,
      sku: entry.sku,
      quantity: entry.quantity,
      unitPrice: money(entry.unitPrice),
      basePrice: money(basePrice),
      discount: money(discount),
      total: money(basePrice - discount),
      giveaway: false,
    };
  });

  // one gift entry per fired gift promotion, appended after the paid entries
  for (const a of applied.values()) {
    if (a.promo.kind !== 'GIFT_WITH_PURCHASE' || !a.promo.giftSku) continue;
    lookup(site, a.promo.giftSku);
    evaluated.push({
      entryNumber: evaluated.length,
      sku: a.promo.giftSku,
      quantity: 1,
      unitPrice: money(0),
      basePrice: money(0),
      discount: money(0),
      total: money(0),
      giveaway: true,
    });
  }

  const subTotal = evaluated.reduce((s, e) => s + e.basePrice.amount, 0);
  const productDiscounts = evaluated.reduce((s, e) => s + e.discount.amount, 0);
  let orderDiscounts = 0;
  const orderApplied: Applied[] = [];
  for (const promo of promos) {
    if (promo.kind !== 'ORDER_THRESHOLD' || !promo.threshold || !promo.discount) continue;
    const remaining = subTotal - productDiscounts - orderDiscounts;
    if (subTotal - productDiscounts < promo.threshold.amount) continue;
    const d = Math.min(promo.discount.amount, remaining);
    orderDiscounts += d;
    orderApplied.push({ promo, discount: d, entryNumbers: [] });
  }

  const totalDiscounts = productDiscounts + orderDiscounts;
  const total = subTotal - totalDiscounts;
  const tax = taxOf(total, site.taxRate);
  const toApplied = (a: Applied): AppliedPromotion => ({
    code: a.promo.code,
    title: a.promo.title,
    description: a.promo.description,
    scope: a.promo.scope,
    discount: money(a.discount),
    entryNumbers: a.entryNumbers,
  });

  return {
    currency: site.currency,
    entries: evaluated,
    appliedPromotions: [...applied.values(), ...orderApplied].map(toApplied),
    subTotal: money(subTotal),
    productDiscounts: money(productDiscounts),
    orderDiscounts: money(orderDiscounts),
    totalDiscounts: money(totalDiscounts),
    total: money(total),
    tax: money(tax),
    totalWithTax: money(total + tax),
  };
}
