/** inventory-service's federation subgraph: `Product.availability` (CONTRACTS.md "GraphQL subgraphs"). */
import type { FastifyInstance } from 'fastify';
import type { Availability } from '../contract/model.js';
import { INVENTORY_SUBGRAPH } from '../contract/sdl.js';
import { availabilityStatus, getProduct } from '../kit/seed.js';
import { entityLoader, registerSubgraph } from '../kit/graphql.js';

/** `changed`: a stock level changed through the change endpoint, if any. */
export async function inventorySubgraph(app: FastifyInstance, changed: (site: string, sku: string) => number | undefined = () => undefined): Promise<void> {
  await registerSubgraph(app, INVENTORY_SUBGRAPH, {}, {
    Product: {
      // A SKU this service does not stock cannot be sold: out of stock, as the gateway says it.
      availability: entityLoader(({ site, sku }): Availability => {
        const p = getProduct(site, sku);
        if (!p) return { status: 'OUT_OF_STOCK', quantity: 0 };
        const quantity = changed(site, sku) ?? p.stockQuantity;
        return { status: availabilityStatus(quantity), quantity };
      }),
    },
  });
}
