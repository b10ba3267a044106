/**
 * The ACL against the legacy simulator itself: every seeded product's price and stock, every
 * promotion, and many carts go OCC → canonical (equal to the seed and the shared engine) and
 * canonical → OCC (byte-identical to what the simulator writes). The simulator is the authority
 * on OCC key order and formats; this test fails the moment either side drifts.
 */
import t from 'tap';
import { getProduct, listProductCodes, promotionsFor, SITES } from '../../backends/kit/seed.js';
import { evaluateCart } from '../../backends/kit/promotion-engine.js';
import { occProduct, occPromotion } from '../../backends/legacy-commerce/occ-format.js';
import { occCart } from '../../backends/legacy-commerce/carts.js';
import { legacyPriceToMoney, moneyToOccPrice } from '../../src/contexts/pricing/legacy/mapper.js';
import { availabilityToOccStock, legacyStockToAvailability } from '../../src/contexts/inventory/legacy/mapper.js';
import {
  checkLegacyPromotion,
  legacyCartToEvaluation,
  legacyPotentialPromotionToOcc,
  legacyPromotionToOcc,
  promotionToOccPotentialPromotion,
  promotionToOccPromotion,
} from '../../src/contexts/promotions/legacy/mapper.js';
import { evaluationToOccCartTotals } from '../../src/occ/carts.js';
import { checkCartEvaluation } from '../../src/contexts/promotions/modern/payload.js';

const wire = <T>(x: T): unknown => JSON.parse(JSON.stringify(x));

for (const site of SITES) {
  t.test(`${site.id}: products`, async (t) => {
    const defs = new Map(promotionsFor(site.id).map((p) => [p.code, p]));
    let checked = 0;
    for (const code of listProductCodes(site.id)) {
      const seed = getProduct(site.id, code);
      if (!seed) continue;
      const occ = occProduct(site, seed);
      const price = legacyPriceToMoney(wire(occ.price));
      if (!price.ok || price.value.amount !== seed.priceMinor || price.value.currency !== site.currency) t.fail(`price of ${code}`, { occ: occ.price, price });
      else if (JSON.stringify(moneyToOccPrice(price.value)) !== JSON.stringify(occ.price)) t.fail(`OCC price of ${code}`);
      const stock = legacyStockToAvailability(wire(occ.stock));
      if (!stock.ok || stock.value.quantity !== seed.stockQuantity) t.fail(`stock of ${code}`, { occ: occ.stock, stock });
      else if (JSON.stringify(availabilityToOccStock(stock.value)) !== JSON.stringify(occ.stock)) t.fail(`OCC stock of ${code}`);
      for (const pp of occ.potentialPromotions) {
        const def = defs.get(pp.code);
        if (!def || JSON.stringify(promotionToOccPotentialPromotion(def)) !== JSON.stringify(pp)) t.fail(`potential promotion ${pp.code} of ${code}`);
        if (JSON.stringify(legacyPotentialPromotionToOcc(pp)) !== JSON.stringify(pp)) t.fail(`legacy potential promotion ${pp.code} of ${code}`);
      }
      checked++;
    }
    t.equal(checked, site.productCount, 'every product: price, stock, potential promotions');
  });

  t.test(`${site.id}: promotions`, async (t) => {
    for (const def of promotionsFor(site.id)) {
      const occ = occPromotion(site, def);
      t.equal(JSON.stringify(promotionToOccPromotion(def, site.id)), JSON.stringify(occ), `${def.code}: canonical → OCC`);
      const legacy = checkLegacyPromotion(wire(occ));
      t.ok(legacy.ok && JSON.stringify(legacyPromotionToOcc(legacy.value)) === JSON.stringify(occ), `${def.code}: legacy → OCC`);
    }
  });

  t.test(`${site.id}: carts`, async (t) => {
    const codes = listProductCodes(site.id);
    let seed = site.id.length * 7919;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    const defs = new Map(promotionsFor(site.id).map((p) => [p.code, p]));
    const kinds = new Set<string>();
    for (let i = 0; i < 600; i++) {
      const picked = new Set<string>();
      const size = 1 + Math.floor(random() * 6);
      while (picked.size < size) picked.add(codes[Math.floor(random() * codes.length)] as string);
      const entries = [...picked].map((code) => ({ code, quantity: 1 + Math.floor(random() * 4) }));
      const cart = { site: site.id, code: '00000001', guid: 'guid', owner: 'anonymous', uid: 'anonymous', entries, createdAt: 0 };
      const occ = wire(occCart(site, cart)) as { entries: Record<string, unknown>[] } & Record<string, unknown>;
      const engine = evaluateCart(site.id, entries.map((e) => ({ sku: e.code, quantity: e.quantity, unitPrice: getProduct(site.id, e.code)?.priceMinor ?? 0 })));
      const mapped = legacyCartToEvaluation(occ, site.currency);
      if (!mapped.ok) {
        t.fail(`cart ${i} refused`, { errors: mapped.errors });
        continue;
      }
      if (JSON.stringify(mapped.value) !== JSON.stringify(engine)) t.fail(`cart ${i}: legacy → canonical differs from the engine`, { mapped: mapped.value, engine });
      for (const a of engine.appliedPromotions) kinds.add(defs.get(a.code)?.kind ?? a.code);
      if (!checkCartEvaluation(wire(engine)).ok) t.fail(`cart ${i}: the engine's own evaluation is refused`);
      // Overlay the contexts' fields on the legacy cart as the gateway does: the result must be the legacy cart.
      const totals = evaluationToOccCartTotals(engine);
      const overlaid = {
        ...occ,
        ...totals,
        entries: occ.entries.map((e, n) => ({ ...e, ...totals.entries[n], product: e.product })),
      };
      if (JSON.stringify(overlaid) !== JSON.stringify(occ)) t.fail(`cart ${i}: canonical → OCC differs from the simulator`);
    }
    t.same([...kinds].sort(), ['BUY_ONE_GET_ONE', 'CATEGORY_PERCENTAGE', 'GIFT_WITH_PURCHASE', 'ORDER_THRESHOLD'], 'every promotion kind was exercised');
  });
}
