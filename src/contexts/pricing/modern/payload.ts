/**
 * Pricing ACL, new side: the pricing service's payloads (CONTRACTS "New services"), validated
 * before use. The service speaks the canonical model already, so "mapping" is validation plus a
 * copy of the named fields (extra fields a newer release adds are dropped, not passed on).
 */
import { Type, type Static } from '@sinclair/typebox';
import { batchSkuErrors, fail, ok, validator, type MapResult } from '../../../domain/map-result.js';
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

export function checkPriceBatch(payload: unknown): MapResult<PriceBatchResponse> {
  const checked = checkBatchSchema(payload);
  if (!checked.ok) return checked;
  const { site, prices, missing } = checked.value;
  const errors = batchSkuErrors('prices', prices, missing);
  if (errors.length > 0) return fail(errors);
  return ok({ site, prices: prices.map(copy), missing: [...missing] });
}

export function checkPrice(payload: unknown): MapResult<PriceResponse> {
  const checked = checkSingleSchema(payload);
  return checked.ok ? ok(copy(checked.value)) : checked;
}
