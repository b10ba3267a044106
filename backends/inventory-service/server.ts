/**
 * inventory-service: stock from the seed as canonical Availability (status + quantity).
 * Endpoints per CONTRACTS.md "New services".
 */
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { AvailabilitySchema as Availability, SkuSchema as Sku, type Availability as AvailabilityT } from '../contract/model.js';
import { availabilityStatus, getProduct, type SiteDef } from '../kit/seed.js';
import { createService, withoutIds, MissingList, parseSkus, requireSite, ServiceError, SiteParams, SkusQuery, type ServiceOptions } from '../kit/service-kit.js';
import { inventorySubgraph } from './graphql.js';

const PREFIX = 'INVENTORY';

const SkuParams = Type.Object({ site: SiteParams.properties.site, sku: Sku });
const SkuAvailability = Type.Object({ sku: Type.String(), availability: Availability });
const AvailabilityList = Type.Object({ site: Type.String(), items: Type.Array(SkuAvailability), missing: MissingList });

function availabilityOf(site: SiteDef, sku: string): AvailabilityT | undefined {
  const product = getProduct(site.id, sku);
  if (!product) return undefined;
  return { status: availabilityStatus(product.stockQuantity), quantity: product.stockQuantity };
}

export async function buildInventoryService(opts: ServiceOptions = {}): Promise<FastifyInstance> {
  const app = createService('inventory-service', PREFIX, opts);

  app.get<{ Params: Static<typeof SiteParams>; Querystring: Static<typeof SkusQuery> }>(
    '/v1/sites/:site/availability',
    { schema: { params: SiteParams, querystring: SkusQuery, response: { 200: withoutIds(AvailabilityList) } } },
    async (request) => {
      const site = requireSite(PREFIX, request.params.site);
      const items: Static<typeof SkuAvailability>[] = [];
      const missing: string[] = [];
      for (const sku of parseSkus(request.query.skus)) {
        const availability = availabilityOf(site, sku);
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
      const availability = availabilityOf(site, request.params.sku);
      if (!availability) throw new ServiceError(404, `${PREFIX}_SKU_NOT_FOUND`, `No stock for SKU '${request.params.sku}' on site '${site.id}'`);
      return { sku: request.params.sku, availability };
    },
  );


  await inventorySubgraph(app);
  return app;
}
