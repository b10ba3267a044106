/**
 * The promotions subgraph: `Product.promotions` and cart evaluation, from the promotions backend
 * the request is routed to (legacy through the ACL, or the new service). A cart is evaluated
 * exactly as the canonical REST route evaluates it (`src/composition/carts.ts`).
 */
import type { Money, PromotionInfo } from '../../domain/model.js';
import { evaluateCart } from '../../composition/carts.js';
import type { SubgraphResolvers } from '../executor.js';
import { cartArg, entityKey, formatted, promotionSummaries, siteArg } from '../views.js';

export const promotionsResolvers: SubgraphResolvers = {
  fields: {
    Query: {
      evaluateCart: async (_root, args, ctx) => {
        const cart = cartArg(args.cart);
        const { scope, site } = await ctx.bind(siteArg(args.site));
        return evaluateCart(ctx.gw, scope, site, cart.entries);
      },
    },
    Product: {
      promotions: async (product, _args, ctx) => {
        const { sku, site } = entityKey(product);
        const promotions = ctx.batch<PromotionInfo[]>('promotions', async (siteId, skus) => {
          const { scope, site: info } = await ctx.bind(siteId);
          return ctx.gw.ports.promotions(scope).productPromotions(scope, info, skus);
        });
        return promotionSummaries(await promotions.get(site, sku));
      },
    },
    Money: { formatted: (money) => formatted(money as Money) },
  },
};
