/**
 * The simulators' change endpoints (docs/CONTRACTS.md "Change endpoints"), without a broker:
 * each changes what its service answers, over REST and its GraphQL subgraph, says it did not
 * publish, and refuses what it does not know. Publishing is covered by test/integration/events.test.ts.
 */
import t, { type Test } from 'tap';
import type { FastifyInstance } from 'fastify';
import { buildPricingService } from '../../backends/pricing-service/server.js';
import { buildInventoryService } from '../../backends/inventory-service/server.js';
import { buildPromotionsService } from '../../backends/promotions-service/server.js';
import { getProduct, productPromotions, promotionsFor } from '../../backends/kit/seed.js';

const SITE = 'electronics-spa';

async function built(t: Test, build: () => Promise<FastifyInstance>): Promise<FastifyInstance> {
  const app = await build();
  t.teardown(() => app.close());
  return app;
}

const put = (app: FastifyInstance, url: string, payload: object) => app.inject({ method: 'PUT', url, payload });
const entity = (app: FastifyInstance, field: string, sku: string) =>
  app.inject({
    method: 'POST',
    url: '/graphql',
    payload: { query: `query($r: [_Any!]!) { _entities(representations: $r) { ... on Product { ${field} } } }`, variables: { r: [{ __typename: 'Product', site: SITE, sku }] } },
  });

t.test('pricing: a price change is what the service answers next, over REST and GraphQL', async (t) => {
  const app = await built(t, buildPricingService);
  const sku = '1000042';
  const res = await put(app, `/__changes/sites/${SITE}/prices/${sku}`, { amount: 777 });
  t.equal(res.statusCode, 200);
  t.match(res.json(), { published: false, event: { id: String, type: 'price.changed', context: 'pricing', data: { site: SITE, sku } } });
  t.not(getProduct(SITE, sku)!.priceMinor, 777, 'the seed is untouched (the change is this instance\'s)');
  t.match((await app.inject(`/v1/sites/${SITE}/prices/${sku}`)).json(), { price: { amount: 777, currency: 'USD' } });
  t.match((await app.inject(`/v1/sites/${SITE}/prices?skus=${sku},1000043`)).json(), { prices: [{ sku, price: { amount: 777 } }, { sku: '1000043', price: { amount: getProduct(SITE, '1000043')!.priceMinor } }] });
  t.match((await entity(app, 'price { amount }', sku)).json(), { data: { _entities: [{ price: { amount: 777 } }] } });
  const other = await put(app, `/__changes/sites/${SITE}/prices/${sku}`, { amount: 778 });
  t.not(other.json().event.id, res.json().event.id, 'every change is a new event id');
  t.equal((await put(app, `/__changes/sites/${SITE}/prices/1999999`, { amount: 1 })).json().code, 'PRICING_SKU_NOT_FOUND');
  t.equal((await put(app, `/__changes/sites/mars/prices/${sku}`, { amount: 1 })).json().code, 'PRICING_SITE_NOT_FOUND');
  t.equal((await put(app, `/__changes/sites/${SITE}/prices/${sku}`, { amount: -1 })).statusCode, 400);
});

t.test('inventory: a stock change sets quantity and status', async (t) => {
  const app = await built(t, buildInventoryService);
  const sku = '1000042';
  const res = await put(app, `/__changes/sites/${SITE}/stock/${sku}`, { quantity: 3 });
  t.match(res.json(), { published: false, event: { type: 'stock.changed', context: 'inventory', data: { site: SITE, sku } } });
  t.match((await app.inject(`/v1/sites/${SITE}/availability/${sku}`)).json(), { availability: { status: 'LOW_STOCK', quantity: 3 } });
  await put(app, `/__changes/sites/${SITE}/stock/${sku}`, { quantity: 0 });
  t.match((await app.inject(`/v1/sites/${SITE}/availability?skus=${sku}`)).json(), { items: [{ sku, availability: { status: 'OUT_OF_STOCK', quantity: 0 } }] });
  t.match((await entity(app, 'availability { status quantity }', sku)).json(), { data: { _entities: [{ availability: { status: 'OUT_OF_STOCK', quantity: 0 } }] } });
  t.equal((await put(app, `/__changes/sites/${SITE}/stock/1999999`, { quantity: 1 })).json().code, 'INVENTORY_SKU_NOT_FOUND');
});

t.test('promotions: a promotion change renames it everywhere it is listed', async (t) => {
  const app = await built(t, buildPromotionsService);
  const promo = promotionsFor(SITE).find((p) => p.scope === 'PRODUCT')!;
  const sku = [...Array(200).keys()].map((i) => `1${String(i).padStart(6, '0')}`).find((s) => productPromotions(SITE, s).some((p) => p.code === promo.code))!;
  const res = await put(app, `/__changes/sites/${SITE}/promotions/${promo.code}`, { title: 'Renamed' });
  t.match(res.json(), { published: false, event: { type: 'promotion.changed', context: 'promotions', data: { site: SITE, code: promo.code } } });
  t.match((await app.inject(`/v1/sites/${SITE}/promotions/${promo.code}`)).json(), { code: promo.code, title: 'Renamed', description: promo.description });
  t.ok((await app.inject(`/v1/sites/${SITE}/promotions`)).json().promotions.some((p: { code: string; title: string }) => p.code === promo.code && p.title === 'Renamed'));
  const items = (await app.inject(`/v1/sites/${SITE}/product-promotions?skus=${sku}`)).json().items as { promotions: { code: string; title: string }[] }[];
  t.ok(items[0]!.promotions.some((p) => p.code === promo.code && p.title === 'Renamed'), 'per product too');
  const gql = (await entity(app, 'promotions { code title }', sku)).json() as { data: { _entities: { promotions: { code: string; title: string }[] }[] } };
  t.ok(gql.data._entities[0]!.promotions.some((p) => p.code === promo.code && p.title === 'Renamed'), 'and in the subgraph');
  t.equal((await put(app, `/__changes/sites/${SITE}/promotions/NOPE`, { title: 'x' })).json().code, 'PROMOTIONS_PROMOTION_NOT_FOUND');
  t.equal((await put(app, `/__changes/sites/${SITE}/promotions/${promo.code}`, {})).statusCode, 400, 'a change changes something');
});
