/**
 * promotions-service's federation subgraph: `Product.promotions` and `evaluateCart` (CONTRACTS.md
 * "GraphQL subgraphs"). Through this subgraph a cart is priced by the service itself (list
 * prices from the shared seed, as the pricing service has them), since a subgraph answers a
 * whole field: unlike the REST route, no unit prices come with the request.
 */
import type { FastifyInstance } from 'fastify';
import type { Money } from '../contract/model.js';
import { PROMOTIONS_SUBGRAPH } from '../contract/sdl.js';
import { formatMoney } from '../contract/money.js';
import { getProduct, getSite, productPromotions } from '../kit/seed.js';
import { evaluateCart } from '../kit/promotion-engine.js';
import { entityLoader, registerSubgraph } from '../kit/graphql.js';

interface CartArg {
  entries: { sku: string; quantity: number }[];
}

type Ref = { code: string; title: string };

/** `changed`: a promotion as changed through the change endpoint (its title), else as given. */
export async function promotionsSubgraph(app: FastifyInstance, changed: (site: string, p: Ref) => Ref = (_s, p) => p): Promise<void> {
  await registerSubgraph(
    app,
    PROMOTIONS_SUBGRAPH,
    {
      Money: { formatted: (m: Money) => formatMoney(m.amount, m.currency) },
      Query: {
        evaluateCart: (_root: unknown, args: { site: string; cart: CartArg }) => {
          const site = getSite(args.site);
          if (!site) throw new Error(`Base site '${args.site}' not found`);
          if (args.cart.entries.length < 1 || args.cart.entries.length > 100) throw new Error('a cart has 1..100 entries');
          const merged = new Map<string, number>();
          for (const e of args.cart.entries) {
            if (!Number.isInteger(e.quantity) || e.quantity < 1 || e.quantity > 999) throw new Error(`invalid quantity for ${e.sku}`);
            merged.set(e.sku, (merged.get(e.sku) ?? 0) + e.quantity);
          }
          return evaluateCart(
            site.id,
            [...merged].map(([sku, quantity]) => {
              const p = getProduct(site.id, sku);
              if (!p) throw new Error(`unknown product ${sku}`);
              return { sku, quantity, unitPrice: p.priceMinor };
            }),
          );
        },
      },
    },
    {
      Product: {
        promotions: entityLoader(({ site, sku }) => (getProduct(site, sku) ? productPromotions(site, sku).map((p) => changed(site, p)) : [])),
      },
    },
  );
}
