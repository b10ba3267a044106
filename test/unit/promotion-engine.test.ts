import t from 'tap';
import { evaluateCart, UnknownProductError, UnknownSiteError } from '../../backends/kit/promotion-engine.js';
import { allProducts, productPromotions, promotionsFor } from '../../backends/kit/seed.js';

const E = 'electronics-spa';
const A = 'apparel-uk';

/** First product whose only category of type `category` and whose potential promotions are exactly `promos`. */
function skuIn(site: string, category: string, promos: string[]): string {
  for (const p of allProducts(site)) {
    if (p.categories[0]?.code !== category) continue;
    const codes = productPromotions(site, p.code).map((x) => x.code.slice(site.length + 1));
    if (codes.join() === promos.join()) return p.code;
  }
  throw new Error(`no product in ${category} with ${promos.join()}`);
}

const camera = skuIn(E, '575', ['category-pct']); // 10 % off
const card = skuIn(E, '902', ['bogo']); // BOGO only
const compact = skuIn(E, '584', ['bogo', 'category-pct']); // BOGO, else 10 %
const camcorder = skuIn(E, '827', ['gift']);
const lens = skuIn(E, '588', []); // no product promotion
const giftSku = promotionsFor(E).find((p) => p.kind === 'GIFT_WITH_PURCHASE')?.giftSku ?? '';

const amounts = (r: ReturnType<typeof evaluateCart>) => ({
  subTotal: r.subTotal.amount,
  productDiscounts: r.productDiscounts.amount,
  orderDiscounts: r.orderDiscounts.amount,
  totalDiscounts: r.totalDiscounts.amount,
  total: r.total.amount,
  tax: r.tax.amount,
  totalWithTax: r.totalWithTax.amount,
});

t.test('no promotion: plain totals and 7 % tax', async (t) => {
  const r = evaluateCart(E, [{ sku: lens, quantity: 2, unitPrice: 4_999 }]);
  t.equal(r.currency, 'USD');
  t.same(amounts(r), { subTotal: 9_998, productDiscounts: 0, orderDiscounts: 0, totalDiscounts: 0, total: 9_998, tax: 700, totalWithTax: 10_698 });
  t.same(r.entries, [{
    entryNumber: 0, sku: lens, quantity: 2, giveaway: false,
    unitPrice: { amount: 4_999, currency: 'USD' }, basePrice: { amount: 9_998, currency: 'USD' },
    discount: { amount: 0, currency: 'USD' }, total: { amount: 9_998, currency: 'USD' },
  }]);
  t.same(r.appliedPromotions, []);
});

t.test('CATEGORY_PERCENTAGE floors the discount', async (t) => {
  const r = evaluateCart(E, [{ sku: camera, quantity: 2, unitPrice: 4_999 }]);
  // 9998 × 10 / 100 = 999.8 → 999; 8999 × 0.07 = 629.93 → 630
  t.same(amounts(r), { subTotal: 9_998, productDiscounts: 999, orderDiscounts: 0, totalDiscounts: 999, total: 8_999, tax: 630, totalWithTax: 9_629 });
  const pct = promotionsFor(E).find((p) => p.kind === 'CATEGORY_PERCENTAGE');
  t.same(r.appliedPromotions, [{
    code: 'electronics-spa-category-pct', title: pct?.title, description: pct?.description,
    scope: 'PRODUCT', discount: { amount: 999, currency: 'USD' }, entryNumbers: [0],
  }]);
});

t.test('BUY_ONE_GET_ONE with quantity 1, 2, 3', async (t) => {
  const q1 = evaluateCart(E, [{ sku: card, quantity: 1, unitPrice: 1_000 }]);
  t.equal(q1.productDiscounts.amount, 0);
  t.same(q1.appliedPromotions, []);
  const q2 = evaluateCart(E, [{ sku: card, quantity: 2, unitPrice: 1_000 }]);
  t.same([q2.subTotal.amount, q2.productDiscounts.amount, q2.total.amount, q2.tax.amount], [2_000, 1_000, 1_000, 70]);
  t.equal(q2.appliedPromotions[0]?.code, 'electronics-spa-bogo');
  const q3 = evaluateCart(E, [{ sku: card, quantity: 3, unitPrice: 1_000 }]);
  t.same([q3.subTotal.amount, q3.productDiscounts.amount, q3.total.amount, q3.tax.amount], [3_000, 1_000, 2_000, 140]);
});

t.test('an entry gets one product promotion; BOGO with quantity 1 falls through', async (t) => {
  const one = evaluateCart(E, [{ sku: compact, quantity: 1, unitPrice: 5_000 }]);
  t.equal(one.entries[0]?.discount.amount, 500, 'the 10 % applies instead');
  t.same(one.appliedPromotions.map((p) => p.code), ['electronics-spa-category-pct']);
  const two = evaluateCart(E, [{ sku: compact, quantity: 2, unitPrice: 5_000 }]);
  t.equal(two.entries[0]?.discount.amount, 5_000, 'BOGO (higher priority) only, not both');
  t.same(two.appliedPromotions.map((p) => p.code), ['electronics-spa-bogo']);
});

t.test('GIFT_WITH_PURCHASE appends one gift entry', async (t) => {
  const r = evaluateCart(E, [
    { sku: camcorder, quantity: 1, unitPrice: 30_000 },
    { sku: lens, quantity: 1, unitPrice: 1_000 },
    { sku: camcorder, quantity: 2, unitPrice: 30_000 },
  ]);
  t.equal(r.entries.length, 4);
  t.same(r.entries[3], {
    entryNumber: 3, sku: giftSku, quantity: 1, giveaway: true,
    unitPrice: { amount: 0, currency: 'USD' }, basePrice: { amount: 0, currency: 'USD' },
    discount: { amount: 0, currency: 'USD' }, total: { amount: 0, currency: 'USD' },
  });
  t.equal(r.entries.filter((e) => e.giveaway).length, 1, 'never more than one gift');
  const gift = r.appliedPromotions.find((p) => p.code === 'electronics-spa-gift');
  t.same([gift?.discount.amount, gift?.entryNumbers], [0, [0, 2]]);
  // 91000 ≥ 20000 → 1500 off; 89500 × 0.07 = 6265
  t.same(amounts(r), { subTotal: 91_000, productDiscounts: 0, orderDiscounts: 1_500, totalDiscounts: 1_500, total: 89_500, tax: 6_265, totalWithTax: 95_765 });
  t.same(r.appliedPromotions.map((p) => p.code), ['electronics-spa-gift', 'electronics-spa-order-threshold']);

  const none = evaluateCart(E, [{ sku: lens, quantity: 1, unitPrice: 1_000 }]);
  t.equal(none.entries.length, 1, 'no qualifying entry, no gift');
});

t.test('ORDER_THRESHOLD edge, after product discounts', async (t) => {
  const at = evaluateCart(E, [{ sku: lens, quantity: 1, unitPrice: 20_000 }]);
  // 18500 × 0.07 = 1295
  t.same(amounts(at), { subTotal: 20_000, productDiscounts: 0, orderDiscounts: 1_500, totalDiscounts: 1_500, total: 18_500, tax: 1_295, totalWithTax: 19_795 });
  const threshold = promotionsFor(E).find((p) => p.kind === 'ORDER_THRESHOLD');
  t.same(at.appliedPromotions, [{
    code: 'electronics-spa-order-threshold', title: threshold?.title, description: threshold?.description,
    scope: 'ORDER', discount: { amount: 1_500, currency: 'USD' }, entryNumbers: [],
  }]);
  const below = evaluateCart(E, [{ sku: lens, quantity: 1, unitPrice: 19_999 }]);
  t.equal(below.orderDiscounts.amount, 0);
  t.same(below.appliedPromotions, []);
  // 22000 − 2200 = 19800 < 20000: the product discount takes the order below the threshold
  const after = evaluateCart(E, [{ sku: camera, quantity: 1, unitPrice: 22_000 }]);
  t.same([after.productDiscounts.amount, after.orderDiscounts.amount, after.total.amount], [2_200, 0, 19_800]);
  // apparel: £150 threshold, £10 off, 20 % tax
  const uk = evaluateCart(A, [{ sku: skuIn(A, '250100', []), quantity: 3, unitPrice: 5_000 }]);
  t.same(amounts(uk), { subTotal: 15_000, productDiscounts: 0, orderDiscounts: 1_000, totalDiscounts: 1_000, total: 14_000, tax: 2_800, totalWithTax: 16_800 });
  t.equal(uk.currency, 'GBP');
  t.equal(uk.tax.currency, 'GBP');
});

t.test('tax rounds half up in exact integer arithmetic', async (t) => {
  // 7 % of 50 = 3.5 → 4; of 150 = 10.5 → 11; of 250 = 17.5 → 18; of 49 = 3.43 → 3
  for (const [total, tax] of [[50, 4], [150, 11], [250, 18], [49, 3], [1_050, 74]] as const) {
    const r = evaluateCart(E, [{ sku: lens, quantity: 1, unitPrice: total }]);
    t.equal(r.tax.amount, tax, `tax on ${total}`);
    t.equal(r.totalWithTax.amount, total + tax);
  }
  const uk = evaluateCart(A, [{ sku: skuIn(A, '250100', []), quantity: 1, unitPrice: 1_003 }]);
  t.equal(uk.tax.amount, 201, '20 % of 1003 = 200.6 → 201');
});

t.test('applied promotions list in entry order of first use, then order promotions', async (t) => {
  const r = evaluateCart(E, [
    { sku: camera, quantity: 1, unitPrice: 10_000 },
    { sku: card, quantity: 2, unitPrice: 5_000 },
    { sku: camera, quantity: 1, unitPrice: 15_000 },
    { sku: camcorder, quantity: 1, unitPrice: 10_000 },
  ]);
  t.same(r.appliedPromotions.map((p) => [p.code, p.discount.amount, p.entryNumbers]), [
    ['electronics-spa-category-pct', 2_500, [0, 2]],
    ['electronics-spa-bogo', 5_000, [1]],
    ['electronics-spa-gift', 0, [3]],
    ['electronics-spa-order-threshold', 1_500, []],
  ]);
  // 45000 − 7500 = 37500 ≥ 20000 → −1500 = 36000; tax 2520
  t.same(amounts(r), { subTotal: 45_000, productDiscounts: 7_500, orderDiscounts: 1_500, totalDiscounts: 9_000, total: 36_000, tax: 2_520, totalWithTax: 38_520 });
  t.equal(r.entries.length, 5);
  for (const e of r.entries) t.equal(e.total.amount, e.basePrice.amount - e.discount.amount);
  t.equal(r.appliedPromotions.reduce((s, p) => s + p.discount.amount, 0), r.totalDiscounts.amount, 'discounts reconcile');
});

t.test('errors', async (t) => {
  t.throws(() => evaluateCart(E, [{ sku: '1999999', quantity: 1, unitPrice: 1 }]), UnknownProductError);
  try {
    evaluateCart(E, [{ sku: lens, quantity: 1, unitPrice: 1 }, { sku: '3000000', quantity: 1, unitPrice: 1 }]);
    t.fail('should throw');
  } catch (err) {
    t.ok(err instanceof UnknownProductError);
    t.match(err, { sku: '3000000', site: E, code: 'UNKNOWN_PRODUCT' });
  }
  t.throws(() => evaluateCart('nope', []), UnknownSiteError);
  t.same(amounts(evaluateCart(E, [])), { subTotal: 0, productDiscounts: 0, orderDiscounts: 0, totalDiscounts: 0, total: 0, tax: 0, totalWithTax: 0 });
});
