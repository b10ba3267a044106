import type { CartEvaluation, Money, PromotionInfo } from '../../domain/model.js';
import type { SiteInfo } from '../../occ/legacy-sites.js';
import type { Scope } from '../../upstream/scope.js';

export interface PricedEntry {
  sku: string;
  quantity: number;
  unitPrice: Money;
}

export type PromotionListType = 'all' | 'product' | 'order';

export interface PromotionsPort {
  /** Product promotions that may apply to each SKU (a SKU the backend does not know is absent). */
  productPromotions(scope: Scope, site: SiteInfo, skus: readonly string[]): Promise<Map<string, PromotionInfo[]>>;
  /** Promotion definitions of a site. */
  list(scope: Scope, site: SiteInfo, type: PromotionListType): Promise<PromotionInfo[]>;
  get(scope: Scope, site: SiteInfo, code: string): Promise<PromotionInfo | undefined>;
  /**
   * Evaluates a cart. The new service uses the given unit prices (from the pricing backend the
   * request is routed to); the monolith calculates a cart with its own prices, as it always has.
   */
  evaluate(scope: Scope, site: SiteInfo, entries: readonly PricedEntry[]): Promise<CartEvaluation>;
}
