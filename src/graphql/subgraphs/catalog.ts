/**
 * The catalog subgraph: the monolith's catalog (owned by legacy, not migrated) read over OCC
 * through the gateway's catalog client. It owns `Product`; the contexts extend it.
 */
import type { OccCatalogProduct } from '../../occ/dto.js';
import type { SubgraphResolvers } from '../executor.js';
import { productNode, searchPageNode, searchParams, siteArg, skuArg, skusArg } from '../views.js';

export const catalogResolvers: SubgraphResolvers = {
  fields: {
    Query: {
      product: async (_root, args, ctx) => {
        const sku = skuArg(args.sku);
        const { scope, site } = await ctx.bind(siteArg(args.site));
        const p = await ctx.gw.catalog.product(scope, site.uid, sku);
        return p ? productNode(p, site.uid) : null;
      },
      products: async (_root, args, ctx) => {
        const skus = skusArg(args.skus);
        const { scope, site } = await ctx.bind(siteArg(args.site));
        if (skus.length === 0) return [];
        const found = await ctx.gw.catalog.products(scope, site.uid, [...new Set(skus)]);
        return skus.map((sku) => {
          const p = found.get(sku);
          return p ? productNode(p, site.uid) : null;
        });
      },
      searchProducts: async (_root, args, ctx) => {
        const params = searchParams(args);
        const { scope, site } = await ctx.bind(siteArg(args.site));
        return searchPageNode(await ctx.gw.catalog.search(scope, site.uid, params), site.uid);
      },
    },
  },
  references: {
    // Another subgraph returned product references (key: sku; the site is the request's unless
    // the reference names it): read them from the catalog, one call per site for all of them.
    Product: async (reference, _args, ctx) => {
      const site = siteArg((reference as { site?: unknown }).site ?? ctx.requestSite);
      const sku = skuArg(reference.sku);
      const products = ctx.batch<OccCatalogProduct>('catalog', async (siteId, skus) => {
        const { scope, site: info } = await ctx.bind(siteId);
        return ctx.gw.catalog.products(scope, info.uid, skus);
      });
      const p = await products.get(site, sku);
      return p ? productNode(p, site) : null;
    },
  },
};
