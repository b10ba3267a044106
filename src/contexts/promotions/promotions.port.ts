import type { CartEvaluation, Money, PromotionInfo } from '../../domain/model.js';
import type { SiteInfo } from '../../occ/legacy-sites.js';
import type { Scope } from '../../upstream/scope.js';

/** A line of a cart: a SKU and how many. */
export interface CartLine {
  sku: string;
  quantity: number;
}

export interface PricedEntry extends CartLine {
  unitPrice: Money;
}

/**
 * Unit prices of SKUs, from the pricing backend the request is routed to. Resolves with a price
 * for every SKU asked, or rejects (the caller decides what an unpriced SKU means: an unknown
 * product in a cart to evaluate, an upstream failure for a stored cart).
 */
export type UnitPrices = (skus: readonly string[]) => Promise<Map<string, Money>>;

/** A cart the monolith keeps, as read from it. */
export interface StoredCart {
  /** the lines a shopper added (not the gifts a promotion added) */
  lines: readonly CartLine[];
  /** the monolith's own calculation of the cart (mapped on demand: an arm that recalculates needs none of it) */
  monolith(): CartEvaluation;
}

export type PromotionListType = 'all' | 'product' | 'order';

export interface PromotionsPort {
  /** Product promotions that may apply to each SKU (a SKU the backend does not know is absent). */
  productPromotions(scope: Scope, site: SiteInfo, skus: readonly string[]): Promise<Map<string, PromotionInfo[]>>;
  /** Promotion definitions of a site. */
  list(scope: Scope, site: SiteInfo, type: PromotionListType): Promise<PromotionInfo[]>;
  get(scope: Scope, site: SiteInfo, code: string): Promise<PromotionInfo | undefined>;
  /**
   * Evaluates a cart. The new service asks `prices` for its unit prices (the pricing backend the
   * request is routed to); the monolith calculates a cart with its own prices, as it always has.
   */
  evaluate(scope: Scope, site: SiteInfo, lines: readonly CartLine[], prices: UnitPrices): Promise<CartEvaluation>;
  /**
   * The calculation of a cart the monolith keeps: the monolith's own on the legacy arm; on the
   * new arm the engine's over the cart's lines (its gifts are the engine's to add), or the
   * monolith's when there is nothing to calculate.
   */
  calculate(scope: Scope, site: SiteInfo, cart: StoredCart, prices: UnitPrices): Promise<CartEvaluation>;
}
