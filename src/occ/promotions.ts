/**
 * The OCC presenter of promotions: a domain PromotionInfo (whichever backend stated it) as OCC's
 * Promotion, keys in the monolith's order (`backends/legacy-commerce/occ-format.ts`), so an OCC
 * client gets the same bytes from either arm. The one place that renders promotions for OCC.
 */
import type { PromotionInfo } from '../domain/model.js';
import type { OccPromotion } from './dto.js';
import { formatOccDate } from './format.js';

/** OCC's `promotionType` for every promotion of SAP's rule engine. */
export const PROMOTION_TYPE = 'Rule Based Promotion';

/** A promotion definition (`/promotions`, `/promotions/{code}`): every field it has. */
export function occPromotion(p: PromotionInfo): OccPromotion {
  const out: OccPromotion = { code: p.code, title: p.title };
  if (p.description !== undefined) out.description = p.description;
  if (p.type !== undefined) out.promotionType = p.type;
  if (p.enabled !== undefined) out.enabled = p.enabled;
  if (p.startDate !== undefined) out.startDate = formatOccDate(p.startDate);
  if (p.endDate !== undefined) out.endDate = formatOccDate(p.endDate);
  if (p.priority !== undefined) out.priority = p.priority;
  if (p.group !== undefined) out.promotionGroup = p.group;
  return out;
}

/**
 * Rendered once per promotion object: the new arm shares one frozen PromotionInfo per definition
 * fetch among every product that carries it, so a product page does not re-render it per SKU.
 */
const potentials = new WeakMap<PromotionInfo, OccPromotion>();

/** An entry of a Product's `potentialPromotions`: `{code, title, description, promotionType, endDate}`. */
export function occPotentialPromotion(p: PromotionInfo): OccPromotion {
  let out = potentials.get(p);
  if (out === undefined) {
    out = { code: p.code, title: p.title };
    if (p.description !== undefined) out.description = p.description;
    if (p.type !== undefined) out.promotionType = p.type;
    if (p.endDate !== undefined) out.endDate = formatOccDate(p.endDate);
    Object.freeze(out);
    potentials.set(p, out);
  }
  return out;
}
