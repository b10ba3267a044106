import type { CartEvaluation, Money } from '../../domain/model.js';
import type { SiteInfo } from '../../occ/legacy-sites.js';
import type { Scope } from '../../upstream/scope.js';
import type { OccPromotion } from '../../occ/dto.js';

export interface PricedEntry {
  sku: string;
  quantity: number;
  unitPrice: Money;
}

export type PromotionListType = 'all' | 'product' | 'order';

export interface PromotionsPort {
  /** Product promotions that may apply to each SKU (OCC `potentialPromotions` shape). */
  productPromotions(scope: Scope, site: SiteInfo, skus: readonly string[]): Promise<Map<string, OccPromotion[]>>;
  /** Promotion definitions in OCC's shape (the OCC surface is their only consumer). */
  list(scope: Scope, site: SiteInfo, type: PromotionListType): Promise<OccPromotion[]>;
  get(scope: Scope, site: SiteInfo, code: string): Promise<OccPromotion | undefined>;
  /**
   * Evaluates a cart. The new service uses the given unit prices (from the pricing backend the
   * request is routed to); the monolith calculates a cart with its own prices, as it always has.
   */
  evaluate(scope: Scope, site: SiteInfo, entries: readonly PricedEntry[]): Promise<CartEvaluation>;
}
