/**
 * The OCC presenter of a cart's calculation: a canonical CartEvaluation (whichever backend
 * calculated it) as the OCC cart fields the pricing and promotions contexts own, in the
 * monolith's key order (`backends/legacy-commerce/carts.ts` occCart), so a cart reads the same
 * bytes whichever arm calculated it. The gateway overlays them on the monolith's cart
 * (src/composition/occ-cart.ts).
 */
import type { AppliedPromotion, CartEvaluation } from '../domain/model.js';
import type { OccCart, OccPromotionResult } from './dto.js';
import { toMajor, toOccPrice } from './format.js';
import { PROMOTION_TYPE } from './promotions.js';

/** The parts of an OCC cart the pricing and promotions contexts own. */
export type OccCartTotals = Required<
  Pick<
    OccCart,
    | 'entries'
    | 'appliedProductPromotions'
    | 'appliedOrderPromotions'
    | 'subTotal'
    | 'productDiscounts'
    | 'orderDiscounts'
    | 'totalDiscounts'
    | 'totalPrice'
    | 'totalTax'
    | 'totalPriceWithTax'
    | 'totalItems'
    | 'totalUnitCount'
    | 'deliveryItemsQuantity'
  >
>;

/**
 * A canonical evaluation as the OCC cart fields the pricing and promotions contexts own, in the
 * simulator's order (`carts.ts` occCart). The gateway overlays them on the legacy cart's other
 * fields: entries match by `entryNumber` (and `product.code`), and an entry's `product` here is
 * only `{code}` — the overlay keeps the legacy product's name, url, images.
 */
export function evaluationToOccCartTotals(e: CartEvaluation): OccCartTotals {
  const byNumber = new Map(e.entries.map((x) => [x.entryNumber, x]));
  const result = (a: AppliedPromotion): OccPromotionResult => ({
    promotion: { code: a.code, title: a.title, promotionType: PROMOTION_TYPE },
    description: a.description,
    consumedEntries: a.entryNumbers.map((n) => {
      const entry = byNumber.get(n);
      const quantity = entry?.quantity ?? 0;
      return {
        orderEntryNumber: n,
        quantity,
        // OCC: the entry's total per unit, rounded half up to a minor unit
        adjustedUnitPrice: toMajor(entry && quantity > 0 ? Math.round(entry.total.amount / quantity) : 0, e.currency),
      };
    }),
  });
  const units = e.entries.reduce((s, x) => s + x.quantity, 0);
  return {
    entries: e.entries.map((x) => ({
      entryNumber: x.entryNumber,
      product: { code: x.sku },
      quantity: x.quantity,
      basePrice: toOccPrice(x.unitPrice),
      totalPrice: toOccPrice(x.total),
      updateable: !x.giveaway,
    })),
    appliedProductPromotions: e.appliedPromotions.filter((a) => a.scope === 'PRODUCT').map(result),
    appliedOrderPromotions: e.appliedPromotions.filter((a) => a.scope === 'ORDER').map(result),
    subTotal: toOccPrice(e.subTotal),
    productDiscounts: toOccPrice(e.productDiscounts),
    orderDiscounts: toOccPrice(e.orderDiscounts),
    totalDiscounts: toOccPrice(e.totalDiscounts),
    totalPrice: toOccPrice(e.total),
    totalTax: toOccPrice(e.tax),
    totalPriceWithTax: toOccPrice(e.totalWithTax),
    totalItems: e.entries.length,
    totalUnitCount: units,
    deliveryItemsQuantity: units,
  };
}
