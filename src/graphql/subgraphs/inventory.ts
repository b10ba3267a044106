/**
 * The inventory subgraph: `Product.availability`, from the inventory backend the request is
 * routed to (legacy through the ACL, or the new service), one port call per site per execution.
 */
import type { Availability } from '../../domain/model.js';
import type { SubgraphResolvers } from '../executor.js';
import { availabilityOrUnknown, entityKey } from '../views.js';

export const inventoryResolvers: SubgraphResolvers = {
  fields: {
    Product: {
      availability: async (product, _args, ctx) => {
        const { sku, site } = entityKey(product);
        const stock = ctx.batch<Availability>('availability', async (siteId, skus) => {
          const { scope, site: info } = await ctx.bind(siteId);
          return ctx.gw.ports.inventory(scope).availability(scope, info, skus);
        });
        return availabilityOrUnknown(await stock.get(site, sku));
      },
    },
  },
};
