import t from 'tap';
import { buildLegacyCommerce, type LegacyCommerceApp } from '../../backends/legacy-commerce/server.js';
import { formatMoney, occDate } from '../../backends/legacy-commerce/occ-format.js';
import { allProducts, getProduct, promotionsFor, type SeedProduct } from '../../backends/kit/seed.js';

const SITE = 'electronics-spa';
const B = `/occ/v2/${SITE}`;
const JSON_CT = 'application/json;charset=UTF-8';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let app: LegacyCommerceApp;
t.before(async () => {
  app = await buildLegacyCommerce();
});
t.teardown(async () => {
  await app.close();
});

async function call(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, payload?: object, headers?: Record<string, string>) {
  const res = await app.inject({ method, url, ...(payload ? { payload } : {}), ...(headers ? { headers } : {}) });
  return { status: res.statusCode, headers: res.headers, body: res.body ? (JSON.parse(res.body) as Json) : undefined };
}

function find(pred: (p: SeedProduct) => boolean, site = SITE): SeedProduct {
  for (const p of allProducts(site)) if (pred(p)) return p;
  throw new Error('no such product in seed');
}
const inCat = (p: SeedProduct, code: string) => p.categories.some((c) => c.code === code);
const only = (p: SeedProduct, code: string) => inCat(p, code) && p.categories.every((c) => c.code === code || c.code.startsWith('brand_'));

t.test('occ formatting', async (t) => {
  t.equal(formatMoney(130154, 'USD'), '$1,301.54');
  t.equal(formatMoney(130154, 'GBP'), '£1,301.54');
  t.equal(formatMoney(99, 'USD'), '$0.99');
  t.equal(formatMoney(123456789, 'USD'), '$1,234,567.89');
  t.equal(formatMoney(0, 'GBP'), '£0.00');
  t.equal(occDate('2026-01-01T00:00:00Z'), '2026-01-01T00:00:00+0000');
});

t.test('basesites and catalogs', async (t) => {
  const r = await call('GET', '/occ/v2/basesites');
  t.equal(r.status, 200);
  t.equal(r.headers['content-type'], JSON_CT);
  t.same(r.body?.baseSites.map((s: Json) => s.uid), ['electronics-spa', 'apparel-uk']);
  t.equal(r.body?.baseSites[1].stores[0].defaultCurrency.isocode, 'GBP');
  t.equal(r.body?.baseSites[0].defaultLanguage.isocode, 'en');
  const c = await call('GET', `${B}/catalogs`);
  t.equal(c.status, 200);
  t.equal(c.body?.catalogs[0].id, 'electronicsProductCatalog');
  t.equal(c.body?.catalogs[0].catalogVersions[0].id, 'Online');
  t.ok(c.body?.catalogs[0].catalogVersions[0].categories.some((x: Json) => x.id === '575'));
});

t.test('product DTO and fields levels', async (t) => {
  const seed = getProduct(SITE, '1000042') as SeedProduct;
  const r = await call('GET', `${B}/products/1000042`);
  t.equal(r.status, 200);
  t.equal(r.headers['content-type'], JSON_CT);
  const p = r.body as Json;
  t.equal(p.code, '1000042');
  t.equal(p.name, seed.name);
  t.equal(p.url, '/p/1000042');
  t.equal(p.summary, seed.summary);
  t.equal(p.manufacturer, seed.manufacturer);
  t.same(p.price, {
    currencyIso: 'USD',
    value: seed.priceMinor / 100,
    formattedValue: formatMoney(seed.priceMinor, 'USD'),
    priceType: 'BUY',
  });
  t.same(p.categories.map((c: Json) => c.code), seed.categories.map((c) => c.code));
  t.type(p.averageRating, 'number');
  t.ok(p.averageRating >= 1 && p.averageRating <= 5);
  t.equal((await call('GET', `${B}/products/1000042`)).body?.averageRating, p.averageRating, 'deterministic rating');
  t.ok(Array.isArray(p.images) && p.images.length > 0);

  const basic = (await call('GET', `${B}/products/1000042?fields=BASIC`)).body as Json;
  t.notOk('description' in basic);
  t.notOk('formattedValue' in basic.price);
  const masked = (await call('GET', `${B}/products/1000042?fields=code,price(formattedValue),stock(DEFAULT)`)).body;
  t.same(masked, { code: '1000042', price: { formattedValue: formatMoney(seed.priceMinor, 'USD') }, stock: p.stock });
  const full = (await call('GET', `${B}/products/1000042?fields=FULL`)).body as Json;
  t.equal(full.volumePricesFlag, false, 'FULL has everything');
  t.same((await call('GET', `${B}/products/1000042?fields=FULL`)).body, full, 'cached FULL is stable');

  const bad = await call('GET', `${B}/products/1000042?fields=price(value`);
  t.equal(bad.status, 400);
  t.equal(bad.body?.errors[0].type, 'ValidationError');
  t.equal(bad.body?.errors[0].subject, 'fields');
});

t.test('potential promotions', async (t) => {
  const camcorder = find((p) => only(p, '827'));
  const p = (await call('GET', `${B}/products/${camcorder.code}`)).body as Json;
  t.same(
    p.potentialPromotions.map((x: Json) => x.code),
    [`${SITE}-gift`],
  );
  t.same(Object.keys(p.potentialPromotions[0]), ['code', 'title', 'description', 'promotionType', 'endDate']);
  t.equal(p.potentialPromotions[0].promotionType, 'Rule Based Promotion');
  t.match(p.potentialPromotions[0].endDate, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0000$/);
  const compact = find((p) => only(p, '584'));
  const c = (await call('GET', `${B}/products/${compact.code}`)).body as Json;
  t.same(c.potentialPromotions.map((x: Json) => x.code), [`${SITE}-bogo`, `${SITE}-category-pct`], 'priority order');
});

t.test('stock statuses', async (t) => {
  const cases: [SeedProduct, string][] = [
    [find((p) => p.stockQuantity === 0), 'outOfStock'],
    [find((p) => p.stockQuantity > 0 && p.stockQuantity < 10), 'lowStock'],
    [find((p) => p.stockQuantity === 9), 'lowStock'],
    [find((p) => p.stockQuantity === 10), 'inStock'],
    [find((p) => p.stockQuantity > 100), 'inStock'],
  ];
  for (const [p, status] of cases) {
    const r = await call('GET', `${B}/products/${p.code}/stock`);
    t.equal(r.status, 200);
    t.same(r.body, { stockLevel: p.stockQuantity, stockLevelStatus: status }, `${p.stockQuantity} → ${status}`);
  }
  const missing = await call('GET', `${B}/products/1999999/stock`);
  t.equal(missing.status, 404);
  t.equal(missing.body?.errors[0].type, 'UnknownIdentifierError');
});

t.test('search: pagination, sorts, query', async (t) => {
  const r = await call('GET', `${B}/products/search`);
  t.equal(r.status, 200);
  const page = r.body as Json;
  t.same(page.pagination, { currentPage: 0, pageSize: 20, sort: 'relevance', totalPages: 500, totalResults: 10000 });
  t.equal(page.products.length, 20);
  t.equal(page.products[0].code, '1000000');
  t.ok(page.products[0].price.formattedValue && page.products[0].stock.stockLevelStatus, 'products carry price and stock');
  t.same(page.sorts.find((s: Json) => s.selected).code, 'relevance');
  t.equal(page.sorts.length, 6);

  const p2 = (await call('GET', `${B}/products/search?currentPage=2&pageSize=7`)).body as Json;
  t.same(p2.pagination, { currentPage: 2, pageSize: 7, sort: 'relevance', totalPages: 1429, totalResults: 10000 });
  t.equal(p2.products[0].code, '1000014');

  const capped = (await call('GET', `${B}/products/search?pageSize=500&fields=pagination`)).body as Json;
  t.equal(capped.pagination.pageSize, 100, 'pageSize max 100');

  const beyond = (await call('GET', `${B}/products/search?currentPage=9999`)).body as Json;
  t.same(beyond.products, []);

  const asc = (await call('GET', `${B}/products/search?sort=price-asc&pageSize=50&fields=products(code,price(value))`)).body as Json;
  const values = asc.products.map((p: Json) => p.price.value);
  t.same(values, [...values].sort((a: number, b: number) => a - b), 'price-asc');
  const desc = (await call('GET', `${B}/products/search?sort=price-desc&pageSize=50&fields=products(price(value))`)).body as Json;
  const dv = desc.products.map((p: Json) => p.price.value);
  t.same(dv, [...dv].sort((a: number, b: number) => b - a), 'price-desc');
  t.ok(dv[0] >= values[values.length - 1]);
  const names = (await call('GET', `${B}/products/search?sort=name-asc&pageSize=50&fields=products(name)`)).body as Json;
  const nv = names.products.map((p: Json) => p.name);
  t.same(nv, [...nv].sort(), 'name-asc');
  const rated = (await call('GET', `${B}/products/search?sort=topRated&pageSize=30&fields=products(averageRating)`)).body as Json;
  const rv = rated.products.map((p: Json) => p.averageRating);
  t.same(rv, [...rv].sort((a: number, b: number) => b - a), 'topRated');

  const q = (await call('GET', `${B}/products/search?query=CANON&pageSize=100&fields=products(name,manufacturer),pagination,freeTextSearch`)).body as Json;
  t.equal(q.freeTextSearch, 'CANON');
  t.ok(q.pagination.totalResults > 0 && q.pagination.totalResults < 10000);
  t.ok(q.products.every((p: Json) => /canon/i.test(`${p.name} ${p.manufacturer}`)), 'case-insensitive match');
  const expected = [...allProducts(SITE)].filter((p) => `${p.name}\n${p.code}\n${p.manufacturer}`.toLowerCase().includes('canon')).length;
  t.equal(q.pagination.totalResults, expected);

  const byCode = (await call('GET', `${B}/products/search?query=1000042&fields=products(code),pagination`)).body as Json;
  t.same(byCode.products, [{ code: '1000042' }]);

  const facet = (await call('GET', `${B}/products/search?query=:price-asc:category:827&pageSize=100&fields=products(categories(code),price(value)),pagination(DEFAULT)`)).body as Json;
  t.equal(facet.pagination.sort, 'price-asc');
  t.ok(facet.products.every((p: Json) => p.categories.some((c: Json) => c.code === '827')));

  const bad = await call('GET', `${B}/products/search?pageSize=abc`);
  t.equal(bad.status, 400);
  t.same(bad.body?.errors[0].type, 'ValidationError');
  t.equal(bad.body?.errors[0].subject, 'pageSize');
  t.equal((await call('GET', `${B}/products/search?currentPage=-1`)).status, 400);
  t.equal((await call('GET', `${B}/products/search?pageSize=0`)).status, 400);
});

t.test('promotions', async (t) => {
  const all = (await call('GET', `${B}/promotions?type=all`)).body as Json;
  t.equal(all.promotions.length, 4);
  t.same(
    all.promotions.map((p: Json) => p.code),
    promotionsFor(SITE).map((p) => p.code),
  );
  const first = all.promotions[0];
  t.equal(first.promotionType, 'Rule Based Promotion');
  t.equal(first.enabled, true);
  t.equal(first.promotionGroup, `${SITE}PromoGrp`);
  t.equal(first.startDate, '2026-01-01T00:00:00+0000');
  const product = (await call('GET', `${B}/promotions?type=product`)).body as Json;
  t.same(product.promotions.map((p: Json) => p.code).sort(), [`${SITE}-bogo`, `${SITE}-category-pct`, `${SITE}-gift`]);
  const order = (await call('GET', `${B}/promotions?type=order`)).body as Json;
  t.same(order.promotions.map((p: Json) => p.code), [`${SITE}-order-threshold`]);
  t.equal((await call('GET', `${B}/promotions`)).body?.promotions.length, 4, 'type defaults to all');
  const basic = (await call('GET', `${B}/promotions?type=all&fields=BASIC`)).body as Json;
  t.same(Object.keys(basic.promotions[0]), ['code', 'title', 'promotionType']);
  const bad = await call('GET', `${B}/promotions?type=weird`);
  t.equal(bad.status, 400);
  t.equal(bad.body?.errors[0].type, 'ValidationError');

  const one = await call('GET', `${B}/promotions/${SITE}-gift`);
  t.equal(one.status, 200);
  t.equal(one.body?.code, `${SITE}-gift`);
  const missing = await call('GET', `${B}/promotions/nope`);
  t.equal(missing.status, 404);
  t.equal(missing.body?.errors[0].type, 'UnknownIdentifierError');
});

t.test('error envelopes', async (t) => {
  const site = await call('GET', '/occ/v2/no-such-site/products/1000000');
  t.equal(site.status, 404);
  t.equal(site.headers['content-type'], JSON_CT);
  t.same(site.body, { errors: [{ type: 'UnknownIdentifierError', message: "Base site no-such-site doesn't exist", subject: 'no-such-site', subjectType: 'baseSite' }] });
  const prod = await call('GET', `${B}/products/4242`);
  t.equal(prod.status, 404);
  t.equal(prod.body?.errors[0].message, "Product with code '4242' not found!");
  const route = await call('GET', '/occ/v2/electronics-spa/nothing/here');
  t.equal(route.status, 404);
  t.equal(route.body?.errors[0].type, 'UnknownResourceError');
  const cart = await call('GET', `${B}/users/anonymous/carts/does-not-exist`);
  t.equal(cart.status, 404);
  t.same(cart.body?.errors[0].type, 'CartError');
  t.same(cart.body?.errors[0].message, 'Cart not found.');
  const noAuth = await call('POST', `${B}/users/current/carts`);
  t.equal(noAuth.status, 401);
  t.equal(noAuth.body?.errors[0].type, 'InvalidTokenError');
});

t.test('fault injection: errorRate 1 → 500 ErrorList', async (t) => {
  const put = await call('PUT', '/__faults', { errorRate: 1 });
  t.equal(put.status, 200);
  const r = await call('GET', `${B}/products/1000000`);
  t.equal(r.status, 500);
  t.equal(r.headers['content-type'], JSON_CT);
  t.equal(r.body?.errors[0].type, 'InternalServerError');
  t.equal((await call('GET', '/healthz')).status, 200, 'healthz exempt');
  await call('DELETE', '/__faults');
  t.equal((await call('GET', `${B}/products/1000000`)).status, 200);
  const bad = await call('PUT', '/__faults', { nope: 1 });
  t.equal(bad.status, 400);
  t.equal(bad.body?.errors[0].type, 'ValidationError');
});

// --------------------------------------------------------------------------------------------
// Cart flow, totals computed by hand from seed prices (CONTRACTS "Cart evaluation").

const major = (minor: number) => minor / 100;
const tax7 = (total: number) => Math.floor((total * 7 + 50) / 100); // round half up of 7 %

t.test('anonymous cart flow with every promotion kind', async (t) => {
  const promos = promotionsFor(SITE);
  const gift = promos.find((p) => p.kind === 'GIFT_WITH_PURCHASE');
  const threshold = promos.find((p) => p.kind === 'ORDER_THRESHOLD');
  const giftSku = gift?.giftSku as string;
  const thresholdMinor = threshold?.threshold?.amount as number;
  const orderOff = threshold?.discount?.amount as number;

  // A: memory card (BOGO only), B: digital camera (10 %), C: camcorder (gift)
  const A = find((p) => only(p, '902') && p.stockQuantity >= 10);
  const Bp = find((p) => only(p, '575') && p.stockQuantity >= 10 && p.priceMinor > 30_000);
  const C = find((p) => only(p, '827') && p.stockQuantity >= 10);

  const created = await call('POST', `${B}/users/anonymous/carts`);
  t.equal(created.status, 201);
  const guid = created.body?.guid as string;
  t.match(created.body, { code: /^\d{8}$/, guid: /^[0-9a-f-]{36}$/, totalItems: 0, net: true, calculated: true });
  t.equal(created.body?.user.uid, 'anonymous');
  const cartUrl = `${B}/users/anonymous/carts/${guid}`;
  t.equal((await call('GET', `${B}/users/anonymous/carts/${created.body?.code}`)).status, 404, 'anonymous carts are addressed by guid');

  const addA = await call('POST', `${cartUrl}/entries`, { product: { code: A.code }, quantity: 2 });
  t.equal(addA.status, 200);
  t.match(addA.body, { statusCode: 'success', quantityAdded: 2, quantity: 2, entry: { entryNumber: 0, quantity: 2 } });
  t.equal(addA.body?.entry.totalPrice.value, major(A.priceMinor), 'BOGO: 2 for the price of 1');

  const addB = await call('POST', `${cartUrl}/entries?code=${Bp.code}&qty=1`); // OCC query-param form
  t.equal(addB.status, 200);
  t.equal(addB.body?.entry.entryNumber, 1);
  const addC = await call('POST', `${cartUrl}/entries`, { product: { code: C.code }, quantity: 1 });
  t.equal(addC.body?.entry.entryNumber, 2);

  const cart = (await call('GET', cartUrl)).body as Json;
  const discA = A.priceMinor;
  const discB = Math.floor((Bp.priceMinor * 10) / 100);
  const subTotal = 2 * A.priceMinor + Bp.priceMinor + C.priceMinor;
  const productDiscounts = discA + discB;
  t.ok(subTotal - productDiscounts >= thresholdMinor, 'threshold reached');
  const orderDiscounts = orderOff;
  const total = subTotal - productDiscounts - orderDiscounts;
  const tax = tax7(total);

  t.equal(cart.entries.length, 4, '3 paid entries + gift');
  t.same(
    cart.entries.map((e: Json) => [e.entryNumber, e.product.code, e.quantity, e.basePrice.value, e.totalPrice.value, e.updateable]),
    [
      [0, A.code, 2, major(A.priceMinor), major(A.priceMinor), true],
      [1, Bp.code, 1, major(Bp.priceMinor), major(Bp.priceMinor - discB), true],
      [2, C.code, 1, major(C.priceMinor), major(C.priceMinor), true],
      [3, giftSku, 1, 0, 0, false],
    ],
  );
  t.same(cart.subTotal, { currencyIso: 'USD', value: major(subTotal), formattedValue: formatMoney(subTotal, 'USD'), priceType: 'BUY' });
  t.equal(cart.productDiscounts.value, major(productDiscounts));
  t.equal(cart.orderDiscounts.value, major(orderDiscounts));
  t.equal(cart.totalDiscounts.value, major(productDiscounts + orderDiscounts));
  t.equal(cart.totalPrice.value, major(total));
  t.equal(cart.totalTax.value, major(tax));
  t.equal(cart.totalPriceWithTax.value, major(total + tax));
  t.equal(cart.totalPriceWithTax.formattedValue, formatMoney(total + tax, 'USD'));
  t.equal(cart.totalItems, 4);
  t.equal(cart.totalUnitCount, 5);

  t.same(
    cart.appliedProductPromotions.map((p: Json) => [p.promotion.code, p.consumedEntries]),
    [
      [`${SITE}-bogo`, [{ orderEntryNumber: 0, quantity: 2, adjustedUnitPrice: major(Math.round(A.priceMinor / 2)) }]],
      [`${SITE}-category-pct`, [{ orderEntryNumber: 1, quantity: 1, adjustedUnitPrice: major(Bp.priceMinor - discB) }]],
      [`${SITE}-gift`, [{ orderEntryNumber: 2, quantity: 1, adjustedUnitPrice: major(C.priceMinor) }]],
    ],
  );
  t.equal(cart.appliedProductPromotions[0].description, promos.find((p) => p.kind === 'BUY_ONE_GET_ONE')?.description);
  t.same(cart.appliedProductPromotions[0].promotion, { code: `${SITE}-bogo`, title: promos.find((p) => p.kind === 'BUY_ONE_GET_ONE')?.title, promotionType: 'Rule Based Promotion' });
  t.same(cart.appliedOrderPromotions.map((p: Json) => [p.promotion.code, p.consumedEntries]), [[`${SITE}-order-threshold`, []]]);

  // gift entries are not updateable
  const giftPatch = await call('PATCH', `${cartUrl}/entries/3`, { quantity: 2 });
  t.equal(giftPatch.status, 400);
  t.equal(giftPatch.body?.errors[0].type, 'CartEntryError');
  t.equal((await call('PATCH', `${cartUrl}/entries/9`, { quantity: 2 })).body?.errors[0].reason, 'notFound');

  // update A to 3: floor(3/2) = 1 unit free
  const upd = await call('PATCH', `${cartUrl}/entries/0`, { quantity: 3 });
  t.equal(upd.status, 200);
  t.match(upd.body, { statusCode: 'success', quantityAdded: 1, quantity: 3, entry: { entryNumber: 0, quantity: 3 } });
  t.equal(upd.body?.entry.totalPrice.value, major(2 * A.priceMinor));

  // adding A again merges into its entry
  const again = await call('POST', `${cartUrl}/entries`, { product: { code: A.code }, quantity: 1 });
  t.match(again.body, { quantityAdded: 1, quantity: 4, entry: { entryNumber: 0 } });

  // PUT B to 0 removes it; entries renumber
  const rm = await call('PUT', `${cartUrl}/entries/1`, { quantity: 0 });
  t.equal(rm.status, 200);
  t.match(rm.body, { quantity: 0, quantityAdded: -1 });
  const afterRm = (await call('GET', cartUrl)).body as Json;
  t.same(afterRm.entries.map((e: Json) => e.product.code), [A.code, C.code, giftSku]);
  const sub2 = 4 * A.priceMinor + C.priceMinor;
  const pd2 = 2 * A.priceMinor;
  const od2 = sub2 - pd2 >= thresholdMinor ? Math.min(orderOff, sub2 - pd2) : 0;
  const tot2 = sub2 - pd2 - od2;
  t.equal(afterRm.subTotal.value, major(sub2));
  t.equal(afterRm.totalPrice.value, major(tot2));
  t.equal(afterRm.totalTax.value, major(tax7(tot2)));

  // DELETE the camcorder: the gift goes away too
  const del = await call('DELETE', `${cartUrl}/entries/1`);
  t.equal(del.status, 200);
  const afterDel = (await call('GET', `${cartUrl}/entries`)).body as Json;
  t.same(afterDel.orderEntries.map((e: Json) => e.product.code), [A.code]);

  // unknown product, bad quantity
  const unknown = await call('POST', `${cartUrl}/entries`, { product: { code: '1999999' }, quantity: 1 });
  t.equal(unknown.status, 400);
  t.equal(unknown.body?.errors[0].type, 'UnknownIdentifierError');
  const badQty = await call('POST', `${cartUrl}/entries`, { product: { code: A.code }, quantity: 0 });
  t.equal(badQty.status, 400);
  t.equal(badQty.body?.errors[0].type, 'ValidationError');

  // fields on carts
  const basic = (await call('GET', `${cartUrl}?fields=BASIC`)).body as Json;
  t.same(Object.keys(basic), ['code', 'guid', 'totalPrice', 'totalPriceWithTax', 'totalItems', 'totalUnitCount']);

  // delete the cart
  t.equal((await call('DELETE', cartUrl)).status, 200);
  t.equal((await call('GET', cartUrl)).status, 404);
});

t.test('BOGO with quantity 1 falls through to the percentage promotion', async (t) => {
  const compact = find((p) => only(p, '584') && p.stockQuantity >= 10);
  const guid = (await call('POST', `${B}/users/anonymous/carts`)).body?.guid as string;
  const url = `${B}/users/anonymous/carts/${guid}`;
  await call('POST', `${url}/entries`, { product: { code: compact.code }, quantity: 1 });
  const one = (await call('GET', url)).body as Json;
  t.same(one.appliedProductPromotions.map((p: Json) => p.promotion.code), [`${SITE}-category-pct`]);
  t.equal(one.productDiscounts.value, major(Math.floor(compact.priceMinor / 10)));
  await call('PATCH', `${url}/entries/0`, { quantity: 2 });
  const two = (await call('GET', url)).body as Json;
  t.same(two.appliedProductPromotions.map((p: Json) => p.promotion.code), [`${SITE}-bogo`]);
  t.equal(two.productDiscounts.value, major(compact.priceMinor));
});

t.test('stock limits on add', async (t) => {
  const none = find((p) => p.stockQuantity === 0);
  const low = find((p) => p.stockQuantity > 1 && p.stockQuantity < 10);
  const guid = (await call('POST', `${B}/users/anonymous/carts`)).body?.guid as string;
  const url = `${B}/users/anonymous/carts/${guid}`;
  const r0 = await call('POST', `${url}/entries`, { product: { code: none.code }, quantity: 1 });
  t.match(r0.body, { statusCode: 'noStock', quantityAdded: 0 });
  const r1 = await call('POST', `${url}/entries`, { product: { code: low.code }, quantity: 50 });
  t.match(r1.body, { statusCode: 'lowStock', quantityAdded: low.stockQuantity, quantity: low.stockQuantity });
  t.equal((await call('GET', url)).body?.entries.length, 1);
});

t.test('user carts need a bearer token and are per user', async (t) => {
  const auth = { authorization: 'Bearer token-a' };
  const c = await call('POST', `${B}/users/current/carts`, undefined, auth);
  t.equal(c.status, 201);
  const code = c.body?.code as string;
  t.equal((await call('GET', `${B}/users/current/carts/${code}`, undefined, auth)).status, 200);
  t.equal((await call('GET', `${B}/users/current/carts/current`, undefined, auth)).body?.code, code, 'current cart alias');
  t.equal((await call('GET', `${B}/users/current/carts/${code}`, undefined, { authorization: 'Bearer token-b' })).status, 404, 'other user');
  t.equal((await call('GET', `${B}/users/current/carts/${code}`)).status, 401);
  t.equal((await call('GET', `${B}/users/anonymous/carts/${code}`)).status, 404, 'not an anonymous cart');
  const list = await call('GET', `${B}/users/current/carts`, undefined, auth);
  t.same(list.body?.carts.map((x: Json) => x.code), [code]);

  const mail = await call('POST', `${B}/users/jane@example.com/carts`, undefined, auth);
  t.equal(mail.body?.user.uid, 'jane@example.com');
  t.equal((await call('GET', `${B}/users/jane@example.com/carts/${mail.body?.code}`, undefined, auth)).status, 200);
  t.equal((await call('GET', `${B}/users/john@example.com/carts/${mail.body?.code}`, undefined, auth)).status, 404);
  t.equal((await call('GET', `${B}/users/current/carts/${mail.body?.code}`, undefined, auth)).status, 404);
});

t.test('apparel-uk prices in GBP', async (t) => {
  const p = (await call('GET', '/occ/v2/apparel-uk/products/3000000')).body as Json;
  t.equal(p.price.currencyIso, 'GBP');
  t.match(p.price.formattedValue, /^£\d{1,3}(,\d{3})*\.\d\d$/);
  t.equal((await call('GET', '/occ/v2/apparel-uk/products/1000000')).status, 404);
});

t.test('login: a password token is its user; the anonymous cart is taken over or merged (OCC oldCartId / toMergeCartGuid)', async (t) => {
  const token = async (body: string) => {
    const r = await app.inject({ method: 'POST', url: '/authorizationserver/oauth/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: body });
    return { status: r.statusCode, body: JSON.parse(r.body) as Json };
  };
  t.equal((await token('grant_type=implicit')).status, 400, 'unsupported grant');
  const client = await token('grant_type=client_credentials&client_id=mobile_android');
  t.equal(client.status, 200);
  t.equal(client.body.token_type, 'bearer');
  const login = async (user: string) => ({ authorization: `Bearer ${(await token(`grant_type=password&username=${user}&password=x`)).body.access_token as string}` });
  const code = find((p) => p.stockQuantity >= 10).code;
  const anonymousCart = async (quantity: number) => {
    const guid = (await call('POST', `${B}/users/anonymous/carts`)).body?.guid as string;
    await call('POST', `${B}/users/anonymous/carts/${guid}/entries`, { product: { code }, quantity });
    return guid;
  };

  // take-over: no user cart yet
  const alice = await login('alice@example.com');
  const g1 = await anonymousCart(2);
  const taken = await call('POST', `${B}/users/current/carts?oldCartId=${g1}`, undefined, alice);
  t.equal(taken.status, 201);
  t.equal(taken.body?.guid, g1, 'the anonymous cart became the user cart');
  t.equal(taken.body?.user.uid, 'alice@example.com', '/users/current is the token’s user');
  t.equal((await call('GET', `${B}/users/anonymous/carts/${g1}`)).status, 404, 'no longer anonymous');
  const again = await login('alice@example.com');
  t.equal((await call('GET', `${B}/users/current/carts/${taken.body?.code as string}`, undefined, again)).status, 200, 'another token of the same user sees it');

  // merge into the user's cart
  const g2 = await anonymousCart(1);
  const merged = await call('POST', `${B}/users/current/carts?oldCartId=${g2}&toMergeCartGuid=${g1}`, undefined, again);
  t.equal(merged.status, 201);
  t.equal(merged.body?.guid, g1, 'the user cart is the result');
  t.equal(merged.body?.totalUnitCount, 3, 'the anonymous entries were added');
  t.equal((await call('GET', `${B}/users/anonymous/carts/${g2}`)).status, 404, 'the anonymous cart is gone');

  t.equal((await call('POST', `${B}/users/current/carts?oldCartId=nope`, undefined, again)).status, 404, 'unknown anonymous cart');
  const bob = await login('bob@example.com');
  const g3 = await anonymousCart(1);
  t.equal((await call('POST', `${B}/users/current/carts?oldCartId=${g3}&toMergeCartGuid=${g1}`, undefined, bob)).status, 404, "another user's cart is not a merge target");
  t.equal((await call('POST', `${B}/users/anonymous/carts?oldCartId=${g3}`)).status, 400, 'an anonymous user cannot merge');
});
