/**
 * Pricing ACL, legacy side: OCC `Price` ⇄ canonical Money. Pure: validates the upstream payload
 * against the OCC DTO schema first, then copies named fields only.
 */
import { failAt, validator, type MapResult } from '../../../domain/map-result.js';
import type { Money } from '../../../domain/model.js';
import { OccPrice } from '../../../occ/dto.js';
import { fromOccPrice, toOccPrice } from '../../../occ/format.js';

const checkOccPrice = validator(OccPrice);

/**
 * An OCC price (`{currencyIso, value: 1301.54, formattedValue, priceType}`) as canonical money
 * (`{amount: 130154, currency}`). Only a `BUY` price is the price of the SKU: OCC's `FROM` is the
 * lowest variant price of a base product. `formattedValue` is presentation and is not read.
 */
export function legacyPriceToMoney(occPrice: unknown): MapResult<Money> {
  const checked = checkOccPrice(occPrice);
  if (!checked.ok) return checked;
  if (checked.value.priceType !== 'BUY') {
    return failAt('/priceType', `Expected "BUY", got ${JSON.stringify(checked.value.priceType)}: not the price of the SKU`);
  }
  return fromOccPrice(checked.value);
}

/** Canonical money as the OCC price the monolith would send (priceType `BUY`, simulator key order). */
export function moneyToOccPrice(money: Money): OccPrice {
  return toOccPrice(money);
}
