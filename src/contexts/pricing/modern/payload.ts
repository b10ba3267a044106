/**
 * Pricing ACL, new side: the pricing service's payloads (CONTRACTS "New services"), validated
 * before use. The service speaks the canonical model already, so "mapping" is validation plus a
 * copy of the named fields (extra fields a newer release adds are dropped, not passed on).
 */
import { Type, type Static } from '@sinclair/typebox';
import { fail, ok, validator, type MapError, type MapResult } from '../../../domain/map-result.js';
import { Money, SiteId, Sku } from '../../../domain/model.js';

export const SkuPrice = Type.Object({ sku: Sku, price: Money });
export type SkuPrice = Static<typeof SkuPrice>;

/** `GET /v1/sites/{site}/prices?skus=a,b` */
export const PriceBatchResponse = Type.Object({
  site: SiteId,
  prices: Type.Array(SkuPrice),
  missing: Type.Array(Sku),
});
export type PriceBatchResponse = Static<typeof PriceBatchResponse>;

/** `GET /v1/sites/{site}/prices/{sku}` */
export const PriceResponse = SkuPrice;
export type PriceResponse = SkuPrice;

const checkBatchSchema = validator(PriceBatchResponse);
const checkSingleSchema = validator(PriceResponse);

const copy = (p: SkuPrice): SkuPrice => ({ sku: p.sku, price: { amount: p.price.amount, currency: p.price.currency } });

/** A SKU listed twice, or both priced and missing, makes the answer ambiguous. */
function duplicates(prices: readonly SkuPrice[], missing: readonly string[]): MapError[] {
  const errors: MapError[] = [];
  const seen = new Set<string>();
  prices.forEach((p, i) => {
    if (seen.has(p.sku)) errors.push({ path: `/prices/${i}/sku`, message: `SKU ${p.sku} is listed twice` });
    seen.add(p.sku);
  });
  missing.forEach((sku, i) => {
    if (seen.has(sku)) errors.push({ path: `/missing/${i}`, message: `SKU ${sku} is both priced and missing` });
    seen.add(sku);
  });
  return errors;
}

export function checkPriceBatch(payload: unknown): MapResult<PriceBatchResponse> {
  const checked = checkBatchSchema(payload);
  if (!checked.ok) return checked;
  const { site, prices, missing } = checked.value;
  const errors = duplicates(prices, missing);
  if (errors.length > 0) return fail(errors);
  return ok({ site, prices: prices.map(copy), missing: [...missing] });
}

export function checkPrice(payload: unknown): MapResult<PriceResponse> {
  const checked = checkSingleSchema(payload);
  return checked.ok ? ok(copy(checked.value)) : checked;
}
