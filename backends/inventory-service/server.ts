/**
 * inventory-service: stock from the seed as canonical Availability (status + quantity).
 * Endpoints per CONTRACTS.md "New services".
 */
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { AvailabilitySchema as Availability, SkuSchema as Sku, type Availability as AvailabilityT } from '../contract/model.js';
import { availabilityStatus, getProduct, type SiteDef } from '../kit/seed.js';
import { changePublisher } from '../kit/changes.js';
import { ChangeReply, createService, withoutIds, MissingList, parseSkus, requireSite, ServiceError, SiteParams, SkusQuery, type ServiceOptions } from '../kit/service-kit.js';
import { inventorySubgraph } from './graphql.js';

const PREFIX = 'INVENTORY';

const SkuParams = Type.Object({ site: SiteParams.properties.site, sku: Sku });
const SkuAvailability = Type.Object({ sku: Type.String(), availability: Availability });
const AvailabilityList = Type.Object({ site: Type.String(), items: Type.Array(SkuAvailability), missing: MissingList });

const StockChange = Type.Object({ quantity: Type.Integer({ minimum: 0, maximum: 1_000_000 }) }, { additionalProperties: false });

/** Stock levels changed through `PUT /__changes/...` (per service instance), over the seed's. */
export type StockOverrides = Map<string, number>;

function availabilityOf(site: SiteDef, sku: string, overrides: StockOverrides): AvailabilityT | undefined {
  const product = getProduct(site.id, sku);
  if (!product) return undefined;
  const quantity = overrides.get(`${site.id}/${sku}`) ?? product.stockQuantity;
  return { status: availabilityStatus(quantity), quantity };
}

export async function buildInventoryService(opts: ServiceOptions = {}): Promise<FastifyInstance> {
  const app = createService('inventory-service', PREFIX, opts);
  const overrides: StockOverrides = new Map();
  const changes = changePublisher(app, 'inventory', opts.amqpUrl);

  app.get<{ Params: Static<typeof SiteParams>; Querystring: Static<typeof SkusQuery> }>(
    '/v1/sites/:site/availability',
    { schema: { params: SiteParams, querystring: SkusQuery, response: { 200: withoutIds(AvailabilityList) } } },
    async (request) => {
      const site = requireSite(PREFIX, request.params.site);
      const items: Static<typeof SkuAvailability>[] = [];
      const missing: string[] = [];
      for (const sku of parseSkus(request.query.skus)) {
        const availability = availabilityOf(site, sku, overrides);
        if (availability) items.push({ sku, availability });
        else missing.push(sku);
      }
      return { site: site.id, items, missing };
    },
  );

  app.get<{ Params: Static<typeof SkuParams> }>(
    '/v1/sites/:site/availability/:sku',
    { schema: { params: SkuParams, response: { 200: withoutIds(SkuAvailability) } } },
    async (request) => {
      const site = requireSite(PREFIX, request.params.site);
      const availability = availabilityOf(site, request.params.sku, overrides);
      if (!availability) throw new ServiceError(404, `${PREFIX}_SKU_NOT_FOUND`, `No stock for SKU '${request.params.sku}' on site '${site.id}'`);
      return { sku: request.params.sku, availability };
    },
  );

  // Changes a stock level and announces `stock.changed` (CONTRACTS.md "Change endpoints").
  app.put<{ Params: Static<typeof SkuParams>; Body: Static<typeof StockChange> }>(
    '/__changes/sites/:site/stock/:sku',
    { schema: { params: SkuParams, body: StockChange, response: { 200: withoutIds(ChangeReply) } } },
    async (request) => {
      const site = requireSite(PREFIX, request.params.site);
      const { sku } = request.params;
      if (!getProduct(site.id, sku)) throw new ServiceError(404, `${PREFIX}_SKU_NOT_FOUND`, `No stock for SKU '${sku}' on site '${site.id}'`);
      overrides.set(`${site.id}/${sku}`, request.body.quantity);
      return changes.publish('stock.changed', { site: site.id, sku });
    },
  );

  await inventorySubgraph(app, (site, sku) => overrides.get(`${site}/${sku}`));
  return app;
}
