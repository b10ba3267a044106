import t from 'tap';
import * as seed from '../../backends/kit/seed.js';
import { availabilityStatus, getProduct, listProductCodes, promotionsFor, productPromotions, SITES } from '../../backends/kit/seed.js';

type SeedModule = typeof seed;

/** A second, independent instance of the module (fresh caches) to prove generation is deterministic. */
async function freshSeed(): Promise<SeedModule> {
  const spec = new URL(`../../backends/kit/seed.ts?fresh=${Date.now()}`, import.meta.url).href;
  return (await import(spec)) as SeedModule;
}

t.test('sites', async (t) => {
  t.same(SITES.map((s) => [s.id, s.currency, s.locale, s.catalogId, s.taxRate, s.productCount]), [
    ['electronics-spa', 'USD', 'en-US', 'electronicsProductCatalog', 0.07, 10_000],
    ['apparel-uk', 'GBP', 'en-GB', 'apparelProductCatalog', 0.2, 10_000],
  ]);
  t.equal(seed.getSite('apparel-uk')?.currency, 'GBP');
  t.equal(seed.getSite('nope'), undefined);
});

// Generation speed is not asserted here (timings belong in load-tests/, not unit tests).
t.test('generation is deterministic and complete', async (t) => {
  const fresh = await freshSeed();
  const generated = SITES.map((s) => [...fresh.allProducts(s.id)]);
  t.same(generated.map((g) => g.length), [10_000, 10_000]);
  for (const [i, site] of SITES.entries()) {
    const mine = [...seed.allProducts(site.id)];
    t.same(mine, generated[i], `${site.id}: same products from an independent module instance`);
  }
  t.same(fresh.promotionsFor('electronics-spa'), promotionsFor('electronics-spa'));
  // random access equals sequential generation (product i is computable on its own)
  const fresh2 = await freshSeed();
  t.same(fresh2.getProduct('apparel-uk', '3004321'), generated[1]?.[4321]);
});

t.test('codes and O(1) lookup', async (t) => {
  const e = listProductCodes('electronics-spa');
  const a = listProductCodes('apparel-uk');
  t.equal(e.length, 10_000);
  t.equal(e[0], '1000000');
  t.equal(e[9999], '1009999');
  t.equal(a[0], '3000000');
  t.equal(a[9999], '3009999');
  t.same(listProductCodes('nope'), []);
  t.equal(getProduct('electronics-spa', '1004242')?.code, '1004242');
  t.equal(getProduct('electronics-spa', '1010000'), undefined, 'out of range');
  t.equal(getProduct('electronics-spa', '3000000'), undefined, 'other site prefix');
  t.equal(getProduct('electronics-spa', '100000'), undefined, 'too short');
  t.equal(getProduct('electronics-spa', '10000a0'), undefined, 'not numeric');
  t.equal(getProduct('electronics-spa', '1-00001'), undefined, 'sign inside');
  t.equal(getProduct('nope', '1000000'), undefined, 'unknown site');
  t.equal(getProduct('electronics-spa', '1000007'), getProduct('electronics-spa', '1000007'), 'cached');
});

t.test('product fields are realistic and in range', async (t) => {
  for (const site of SITES) {
    const bad: string[] = [];
    const categories = new Set<string>();
    for (const p of seed.allProducts(site.id)) {
      const ok =
        p.name.length > 0 && p.summary.length > 0 && p.description.length > 0 && p.manufacturer.length > 0 &&
        Number.isInteger(p.priceMinor) && p.priceMinor >= 99 && p.priceMinor <= 250_000 &&
        Number.isInteger(p.stockQuantity) && p.stockQuantity >= 0 && p.stockQuantity <= 500 &&
        p.categories.length >= 1 && p.categories.length <= 2;
      if (!ok) bad.push(p.code);
      for (const c of p.categories) categories.add(c.code);
    }
    t.same(bad, [], `${site.id}: every product valid`);
    t.ok(categories.size >= 8, `${site.id}: ${categories.size} categories in use`);
    const known = new Set(seed.categoriesFor(site.id).map((c) => c.code));
    t.ok([...categories].every((c) => known.has(c)), 'only the fixed category list');
  }
  t.match(getProduct('electronics-spa', '1000000'), { name: /^(Canon|Sony|Nikon|Samsung|Kingston|Panasonic) / });
});

t.test('stock status distribution', async (t) => {
  for (const site of SITES) {
    const counts = { IN_STOCK: 0, LOW_STOCK: 0, OUT_OF_STOCK: 0 };
    for (const p of seed.allProducts(site.id)) counts[availabilityStatus(p.stockQuantity)]++;
    t.ok(counts.OUT_OF_STOCK > 600 && counts.OUT_OF_STOCK < 1000, `${site.id}: ~8 % out (${counts.OUT_OF_STOCK})`);
    t.ok(counts.LOW_STOCK > 1000 && counts.LOW_STOCK < 1400, `${site.id}: ~12 % low (${counts.LOW_STOCK})`);
    t.ok(counts.IN_STOCK > 7600, `${site.id}: the rest in stock (${counts.IN_STOCK})`);
  }
});

t.test('availabilityStatus thresholds', async (t) => {
  t.equal(availabilityStatus(0), 'OUT_OF_STOCK');
  t.equal(availabilityStatus(1), 'LOW_STOCK');
  t.equal(availabilityStatus(9), 'LOW_STOCK');
  t.equal(availabilityStatus(10), 'IN_STOCK');
  t.equal(availabilityStatus(500), 'IN_STOCK');
});

t.test('promotions: one of each kind, stable codes, qualifying products', async (t) => {
  for (const site of SITES) {
    const promos = promotionsFor(site.id);
    t.same(
      promos.map((p) => p.code).sort(),
      ['bogo', 'category-pct', 'gift', 'order-threshold'].map((k) => `${site.id}-${k}`).sort(),
    );
    t.same(new Set(promos.map((p) => p.kind)).size, 4, 'four kinds');
    const priorities = promos.map((p) => p.priority);
    t.same(priorities, [...priorities].sort((a, b) => b - a), 'priority desc');
    for (const p of promos) {
      t.equal(p.startDate, '2026-01-01T00:00:00Z');
      t.equal(p.endDate, '2027-12-31T23:59:59Z');
      t.ok(p.title.length > 5 && p.description.length > 5, `${p.code} has copy`);
    }
    const threshold = promos.find((p) => p.kind === 'ORDER_THRESHOLD');
    const expected = site.id === 'electronics-spa' ? [20_000, 1_500] : [15_000, 1_000];
    t.same([threshold?.threshold?.amount, threshold?.discount?.amount], expected);
    t.equal(threshold?.threshold?.currency, site.currency);
    t.equal(threshold?.scope, 'ORDER');

    const gift = promos.find((p) => p.kind === 'GIFT_WITH_PURCHASE');
    t.ok(gift?.giftSku && getProduct(site.id, gift.giftSku), 'gift SKU is a real product');
    t.equal(promos.find((p) => p.kind === 'CATEGORY_PERCENTAGE')?.percentage !== undefined, true);

    const qualifying = new Map<string, number>();
    for (const code of listProductCodes(site.id)) {
      for (const pp of productPromotions(site.id, code)) qualifying.set(pp.code, (qualifying.get(pp.code) ?? 0) + 1);
    }
    for (const p of promos.filter((x) => x.scope === 'PRODUCT')) {
      const share = (qualifying.get(p.code) ?? 0) / site.productCount;
      t.ok(share >= 0.1 && share <= 0.3, `${p.code}: ${(share * 100).toFixed(1)} % of products qualify`);
    }
    t.notOk(qualifying.has(`${site.id}-order-threshold`), 'order promotions are not product promotions');
  }
  t.same(promotionsFor('nope'), []);
});

t.test('productPromotions lists potential promotions by priority', async (t) => {
  const promos = promotionsFor('electronics-spa');
  const multi = listProductCodes('electronics-spa').find((c) => productPromotions('electronics-spa', c).length >= 2);
  t.ok(multi, 'a product with overlapping promotions exists (BOGO over percentage)');
  const listed = productPromotions('electronics-spa', multi ?? '');
  const order = listed.map((l) => promos.findIndex((p) => p.code === l.code));
  t.same(order, [...order].sort((a, b) => a - b));
  t.same(Object.keys(listed[0] ?? {}).sort(), ['code', 'title']);
  t.same(productPromotions('electronics-spa', '9999999'), []);
});
