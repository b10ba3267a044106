import t, { type Test } from 'tap';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { FormatRegistry } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { CartEvaluation, Promotion } from '../../src/domain/model.js';
import { buildPricingService } from '../../backends/pricing-service/server.js';
import { buildInventoryService } from '../../backends/inventory-service/server.js';
import { buildPromotionsService } from '../../backends/promotions-service/server.js';
import { availabilityStatus, getProduct, productPromotions, promotionsFor } from '../../backends/kit/seed.js';
import { evaluateCart } from '../../backends/kit/promotion-engine.js';

// TypeBox checks formats only when registered; RFC 3339 UTC is what the contract promises
if (!FormatRegistry.Has('date-time')) {
  FormatRegistry.Set('date-time', (v) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(v) && !Number.isNaN(Date.parse(v)));
}
const PromotionCheck = TypeCompiler.Compile(Promotion);
const CartEvaluationCheck = TypeCompiler.Compile(CartEvaluation);

async function built(t: Test, build: () => Promise<FastifyInstance>): Promise<FastifyInstance> {
  const app = await build();
  t.teardown(() => app.close());
  return app;
}

function isProblem(t: Test, res: LightMyRequestResponse, status: number, code: string | RegExp) {
  t.equal(res.statusCode, status, `status ${status}`);
  t.match(res.headers['content-type'], /^application\/problem\+json/);
  t.match(res.json(), { type: String, title: String, status, detail: String, code });
}

const tooMany = Array.from({ length: 101 }, (_, i) => `1${String(i).padStart(6, '0')}`).join(',');

t.test('pricing-service', async (t) => {
  const app = await built(t, buildPricingService);
  const p = getProduct('electronics-spa', '1000042');

  const one = await app.inject('/v1/sites/electronics-spa/prices/1000042');
  t.equal(one.statusCode, 200);
  t.same(one.json(), { sku: '1000042', price: { amount: p?.priceMinor, currency: 'USD' } });

  const batch = await app.inject('/v1/sites/apparel-uk/prices?skus=3000001,3999999,3000002,nope,3000001');
  t.equal(batch.statusCode, 200);
  t.same(batch.json(), {
    site: 'apparel-uk',
    prices: [
      { sku: '3000001', price: { amount: getProduct('apparel-uk', '3000001')?.priceMinor, currency: 'GBP' } },
      { sku: '3000002', price: { amount: getProduct('apparel-uk', '3000002')?.priceMinor, currency: 'GBP' } },
    ],
    missing: ['3999999', 'nope'],
  });

  isProblem(t, await app.inject('/v1/sites/electronics-spa/prices/1999999'), 404, 'PRICING_SKU_NOT_FOUND');
  isProblem(t, await app.inject('/v1/sites/mars/prices/1000000'), 404, 'PRICING_SITE_NOT_FOUND');
  isProblem(t, await app.inject('/v1/sites/mars/prices?skus=1000000'), 404, 'PRICING_SITE_NOT_FOUND');
  isProblem(t, await app.inject('/v1/sites/electronics-spa/prices/bad%20sku'), 400, 'BAD_REQUEST');
  isProblem(t, await app.inject('/v1/sites/electronics-spa/prices?skus=1000000,a%2Fb'), 400, 'BAD_REQUEST');
  isProblem(t, await app.inject('/v1/sites/electronics-spa/prices?skus='), 400, 'BAD_REQUEST');
  isProblem(t, await app.inject('/v1/sites/electronics-spa/prices?skus=,,'), 400, 'BAD_REQUEST');
  isProblem(t, await app.inject('/v1/sites/electronics-spa/prices'), 400, 'BAD_REQUEST');
  isProblem(t, await app.inject(`/v1/sites/electronics-spa/prices?skus=${tooMany}`), 400, 'BAD_REQUEST');
  const hundred = await app.inject(`/v1/sites/electronics-spa/prices?skus=${tooMany.split(',').slice(0, 100).join(',')}`);
  t.equal(hundred.json().prices.length, 100, '100 SKUs are fine');
  isProblem(t, await app.inject('/v2/nothing'), 404, 'NOT_FOUND');
  t.same((await app.inject('/healthz')).json(), { status: 'ok', service: 'pricing-service' });
});

t.test('inventory-service', async (t) => {
  const app = await built(t, buildInventoryService);
  const q = getProduct('electronics-spa', '1000007')?.stockQuantity ?? -1;

  const one = await app.inject('/v1/sites/electronics-spa/availability/1000007');
  t.equal(one.statusCode, 200);
  t.same(one.json(), { sku: '1000007', availability: { status: availabilityStatus(q), quantity: q } });

  const codes = Array.from({ length: 60 }, (_, i) => `3${String(i).padStart(6, '0')}`);
  const batch = await app.inject(`/v1/sites/apparel-uk/availability?skus=${[...codes, '3010000'].join(',')}`);
  t.equal(batch.statusCode, 200);
  const body = batch.json();
  t.equal(body.site, 'apparel-uk');
  t.equal(body.items.length, 60);
  t.same(body.missing, ['3010000']);
  const statuses = new Set(body.items.map((i: { availability: { status: string } }) => i.availability.status));
  t.ok(statuses.has('IN_STOCK'), 'statuses vary');
  for (const item of body.items) {
    const p = getProduct('apparel-uk', item.sku);
    t.same(item.availability, { status: availabilityStatus(p?.stockQuantity ?? -1), quantity: p?.stockQuantity });
  }

  isProblem(t, await app.inject('/v1/sites/electronics-spa/availability/1010000'), 404, 'INVENTORY_SKU_NOT_FOUND');
  isProblem(t, await app.inject('/v1/sites/nope/availability?skus=1'), 404, 'INVENTORY_SITE_NOT_FOUND');
  isProblem(t, await app.inject(`/v1/sites/electronics-spa/availability?skus=${tooMany}`), 400, 'BAD_REQUEST');
  isProblem(t, await app.inject('/v1/sites/electronics-spa/availability?skus=%21%21'), 400, 'BAD_REQUEST');
  isProblem(t, await app.inject('/v1/sites/Electronics/availability/1000000'), 400, 'BAD_REQUEST');
});

t.test('promotions-service: definitions', async (t) => {
  const app = await built(t, buildPromotionsService);
  const all = await app.inject('/v1/sites/electronics-spa/promotions');
  t.equal(all.statusCode, 200);
  const promos = all.json().promotions as unknown[];
  t.same(promos, promotionsFor('electronics-spa'));
  t.ok(promos.every((p) => PromotionCheck.Check(p)), 'canonical Promotion schema');

  const order = (await app.inject('/v1/sites/electronics-spa/promotions?scope=ORDER')).json().promotions;
  t.same(order.map((p: { code: string }) => p.code), ['electronics-spa-order-threshold']);
  const product = (await app.inject('/v1/sites/electronics-spa/promotions?scope=PRODUCT')).json().promotions;
  t.same(product.map((p: { code: string }) => p.code), ['electronics-spa-bogo', 'electronics-spa-category-pct', 'electronics-spa-gift']);
  isProblem(t, await app.inject('/v1/sites/electronics-spa/promotions?scope=CART'), 400, 'BAD_REQUEST');

  const gift = await app.inject('/v1/sites/apparel-uk/promotions/apparel-uk-gift');
  t.equal(gift.statusCode, 200);
  t.same(gift.json(), promotionsFor('apparel-uk').find((p) => p.code === 'apparel-uk-gift'));
  isProblem(t, await app.inject('/v1/sites/apparel-uk/promotions/electronics-spa-gift'), 404, 'PROMOTIONS_PROMOTION_NOT_FOUND');
  isProblem(t, await app.inject('/v1/sites/moon/promotions'), 404, 'PROMOTIONS_SITE_NOT_FOUND');
});

t.test('promotions-service: product promotions', async (t) => {
  const app = await built(t, buildPromotionsService);
  const codes = Array.from({ length: 30 }, (_, i) => `1${String(i).padStart(6, '0')}`);
  const res = await app.inject(`/v1/sites/electronics-spa/product-promotions?skus=${[...codes, '1234', '1009999'].join(',')}`);
  t.equal(res.statusCode, 200);
  const body = res.json();
  t.same(body.missing, ['1234']);
  t.equal(body.items.length, 31);
  for (const item of body.items) t.same(item.promotions, productPromotions('electronics-spa', item.sku));
  t.ok(body.items.some((i: { promotions: unknown[] }) => i.promotions.length > 0), 'some products have promotions');
  isProblem(t, await app.inject(`/v1/sites/electronics-spa/product-promotions?skus=${tooMany}`), 400, 'BAD_REQUEST');
});

t.test('promotions-service: cart evaluation', async (t) => {
  const app = await built(t, buildPromotionsService);
  const url = '/v1/sites/electronics-spa/carts/evaluate';
  const entries = [
    { sku: '1000000', quantity: 2, unitPrice: 12_345 },
    { sku: '1000001', quantity: 1, unitPrice: 9_099 },
  ];
  const res = await app.inject({
    method: 'POST',
    url,
    payload: { entries: entries.map((e) => ({ ...e, unitPrice: { amount: e.unitPrice, currency: 'USD' } })) },
  });
  t.equal(res.statusCode, 200);
  t.ok(CartEvaluationCheck.Check(res.json()), 'canonical CartEvaluation schema');
  t.same(res.json(), evaluateCart('electronics-spa', entries), 'the shared engine, with the given unit prices');

  const post = (payload: unknown, site = 'electronics-spa') =>
    app.inject({ method: 'POST', url: `/v1/sites/${site}/carts/evaluate`, payload: payload as object });
  isProblem(t, await post({ entries: [{ sku: '1000000', quantity: 1, unitPrice: { amount: 100, currency: 'GBP' } }] }), 400, 'PROMOTIONS_CURRENCY_MISMATCH');
  isProblem(t, await post({ entries: [{ sku: '1777777', quantity: 1, unitPrice: { amount: 100, currency: 'USD' } }] }), 404, 'PROMOTIONS_SKU_NOT_FOUND');
  isProblem(t, await post({ entries: [] }), 400, 'BAD_REQUEST');
  isProblem(t, await post({ entries: [{ sku: '1000000', quantity: 0, unitPrice: { amount: 100, currency: 'USD' } }] }), 400, 'BAD_REQUEST');
  isProblem(t, await post({ entries: [{ sku: '1000000', quantity: 1, unitPrice: { amount: 1.5, currency: 'USD' } }] }), 400, 'BAD_REQUEST');
  isProblem(t, await post({ entries: [{ sku: '1000000', quantity: 1 }] }), 400, 'BAD_REQUEST');
  isProblem(t, await post({ entries: [{ sku: '1000000', quantity: 1, unitPrice: { amount: 100, currency: 'USD' } }] }, 'venus'), 404, 'PROMOTIONS_SITE_NOT_FOUND');
  const notJson = await app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload: '{"entries": [' });
  isProblem(t, notJson, 400, 'BAD_REQUEST');
});
