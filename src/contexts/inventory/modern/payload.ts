/**
 * Inventory ACL, new side: the inventory service's payloads (CONTRACTS "New services"),
 * validated before use, named fields copied (extra fields of a newer release are dropped).
 */
import { Type, type Static } from '@sinclair/typebox';
import { batchSkuErrors, fail, ok, validator, type MapResult } from '../../../domain/map-result.js';
import { Availability, SiteId, Sku } from '../../../domain/model.js';

export const SkuAvailability = Type.Object({ sku: Sku, availability: Availability });
export type SkuAvailability = Static<typeof SkuAvailability>;

/** `GET /v1/sites/{site}/availability?skus=a,b` */
export const AvailabilityBatchResponse = Type.Object({
  site: SiteId,
  items: Type.Array(SkuAvailability),
  missing: Type.Array(Sku),
});
export type AvailabilityBatchResponse = Static<typeof AvailabilityBatchResponse>;

/** `GET /v1/sites/{site}/availability/{sku}` */
export const AvailabilityResponse = SkuAvailability;
export type AvailabilityResponse = SkuAvailability;

const checkBatchSchema = validator(AvailabilityBatchResponse);
const checkSingleSchema = validator(AvailabilityResponse);

const copy = (i: SkuAvailability): SkuAvailability => ({
  sku: i.sku,
  availability: { status: i.availability.status, quantity: i.availability.quantity },
});

export function checkAvailabilityBatch(payload: unknown): MapResult<AvailabilityBatchResponse> {
  const checked = checkBatchSchema(payload);
  if (!checked.ok) return checked;
  const { site, items, missing } = checked.value;
  const errors = batchSkuErrors('items', items, missing);
  if (errors.length > 0) return fail(errors);
  return ok({ site, items: items.map(copy), missing: [...missing] });
}

export function checkAvailability(payload: unknown): MapResult<AvailabilityResponse> {
  const checked = checkSingleSchema(payload);
  return checked.ok ? ok(copy(checked.value)) : checked;
}
