/**
 * pricing-service: list prices from the seed as canonical Money (integer minor units).
 * Endpoints per CONTRACTS.md "New services".
 */
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { MoneySchema as Money, SkuSchema as Sku, type Money as MoneyT } from '../contract/model.js';
import { getProduct, type SiteDef } from '../kit/seed.js';
import { changePublisher } from '../kit/changes.js';
import { ChangeReply, createService, withoutIds, MissingList, parseSkus, requireSite, ServiceError, SiteParams, SkusQuery, type ServiceOptions } from '../kit/service-kit.js';
import { pricingSubgraph } from './graphql.js';

const PREFIX = 'PRICING';

const SkuParams = Type.Object({ site: SiteParams.properties.site, sku: Sku });
const SkuPrice = Type.Object({ sku: Type.String(), price: Money });
const PriceList = Type.Object({ site: Type.String(), prices: Type.Array(SkuPrice), missing: MissingList });

const PriceChange = Type.Object({ amount: Type.Integer({ minimum: 0, maximum: 1_000_000_000 }) }, { additionalProperties: false });

/** Prices changed through `PUT /__changes/...` (per service instance), over the seed's. */
export type PriceOverrides = Map<string, number>;

function priceOf(site: SiteDef, sku: string, overrides: PriceOverrides): MoneyT | undefined {
  const product = getProduct(site.id, sku);
  return product ? { amount: overrides.get(`${site.id}/${sku}`) ?? product.priceMinor, currency: site.currency } : undefined;
}

export async function buildPricingService(opts: ServiceOptions = {}): Promise<FastifyInstance> {
  const app = createService('pricing-service', PREFIX, opts);
  const overrides: PriceOverrides = new Map();
  const changes = changePublisher(app, 'pricing', opts.amqpUrl);

  app.get<{ Params: Static<typeof SiteParams>; Querystring: Static<typeof SkusQuery> }>(
    '/v1/sites/:site/prices',
    { schema: { params: SiteParams, querystring: SkusQuery, response: { 200: withoutIds(PriceList) } } },
    async (request) => {
      const site = requireSite(PREFIX, request.params.site);
      const prices: Static<typeof SkuPrice>[] = [];
      const missing: string[] = [];
      for (const sku of parseSkus(request.query.skus)) {
        const price = priceOf(site, sku, overrides);
        if (price) prices.push({ sku, price });
        else missing.push(sku);
      }
      return { site: site.id, prices, missing };
    },
  );

  app.get<{ Params: Static<typeof SkuParams> }>(
    '/v1/sites/:site/prices/:sku',
    { schema: { params: SkuParams, response: { 200: withoutIds(SkuPrice) } } },
    async (request) => {
      const site = requireSite(PREFIX, request.params.site);
      const price = priceOf(site, request.params.sku, overrides);
      if (!price) throw new ServiceError(404, `${PREFIX}_SKU_NOT_FOUND`, `No price for SKU '${request.params.sku}' on site '${site.id}'`);
      return { sku: request.params.sku, price };
    },
  );

  // Changes a list price and announces `price.changed` (CONTRACTS.md "Change endpoints").
  app.put<{ Params: Static<typeof SkuParams>; Body: Static<typeof PriceChange> }>(
    '/__changes/sites/:site/prices/:sku',
    { schema: { params: SkuParams, body: PriceChange, response: { 200: withoutIds(ChangeReply) } } },
    async (request) => {
      const site = requireSite(PREFIX, request.params.site);
      const { sku } = request.params;
      if (!getProduct(site.id, sku)) throw new ServiceError(404, `${PREFIX}_SKU_NOT_FOUND`, `No price for SKU '${sku}' on site '${site.id}'`);
      overrides.set(`${site.id}/${sku}`, request.body.amount);
      return changes.publish('price.changed', { site: site.id, sku });
    },
  );

  await pricingSubgraph(app, (site, sku) => overrides.get(`${site}/${sku}`));
  return app;
}
