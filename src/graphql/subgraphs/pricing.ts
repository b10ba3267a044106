/**
 * The pricing subgraph: `Product.price`, from the pricing backend the request is routed to
 * (legacy through the ACL, or the new service), one port call per site per execution.
 */
import type { Money } from '../../domain/model.js';
import type { SubgraphResolvers } from '../executor.js';
import { entityKey, formatted } from '../views.js';

export const pricingResolvers: SubgraphResolvers = {
  fields: {
    Product: {
      price: async (product, _args, ctx) => {
        const { sku, site } = entityKey(product);
        const prices = ctx.batch<Money>('price', async (siteId, skus) => {
          const { scope, site: info } = await ctx.bind(siteId);
          return ctx.gw.ports.pricing(scope).prices(scope, info, skus);
        });
        return (await prices.get(site, sku)) ?? null;
      },
    },
    Price: { formatted: (money) => formatted(money as Money) },
  },
};
