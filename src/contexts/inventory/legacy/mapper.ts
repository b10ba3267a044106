/**
 * Inventory ACL, legacy side: OCC `Stock` ⇄ canonical Availability. Pure: validates the upstream
 * payload against the OCC DTO schema first, then copies named fields only.
 */
import { failAt, ok, validator, type MapResult } from '../../../domain/map-result.js';
import type { Availability } from '../../../domain/model.js';
import { OccStock } from '../../../occ/dto.js';
import { availabilityStatus, stockLevelStatus } from '../../../occ/format.js';

const checkOccStock = validator(OccStock);

/**
 * `{stockLevel, stockLevelStatus: "inStock"|"lowStock"|"outOfStock"}` → `{status, quantity}`.
 * OCC omits `stockLevel` for "force in stock" products; the canonical availability needs a
 * quantity and inventing one would lie to every consumer, so a missing level is an error here.
 */
export function legacyStockToAvailability(occStock: unknown): MapResult<Availability> {
  const checked = checkOccStock(occStock);
  if (!checked.ok) return checked;
  const { stockLevel, stockLevelStatus: status } = checked.value;
  if (stockLevel === undefined) {
    return failAt('/stockLevel', 'Expected required property: the inventory context needs a quantity (OCC omits it for force-in-stock products)');
  }
  return ok({ status: availabilityStatus(status), quantity: stockLevel });
}

/** Canonical availability as the OCC stock the monolith would send (key order as the simulator's). */
export function availabilityToOccStock(a: Availability): OccStock {
  return { stockLevel: a.quantity, stockLevelStatus: stockLevelStatus(a.status) };
}
