/** pricing-service's federation subgraph: `Product.price` (CONTRACTS.md "GraphQL subgraphs"). */
import type { FastifyInstance } from 'fastify';
import type { Money } from '../contract/model.js';
import { PRICING_SUBGRAPH } from '../contract/sdl.js';
import { formatMoney } from '../contract/money.js';
import { getProduct, getSite } from '../kit/seed.js';
import { entityLoader, registerSubgraph } from '../kit/graphql.js';

/** `changed`: a price changed through the change endpoint, if any (minor units). */
export async function pricingSubgraph(app: FastifyInstance, changed: (site: string, sku: string) => number | undefined = () => undefined): Promise<void> {
  await registerSubgraph(
    app,
    PRICING_SUBGRAPH,
    { Price: { formatted: (m: Money) => formatMoney(m.amount, m.currency) } },
    {
      Product: {
        price: entityLoader(({ site, sku }): Money | null => {
          const s = getSite(site);
          const p = s && getProduct(s.id, sku);
          return s && p ? { amount: changed(s.id, sku) ?? p.priceMinor, currency: s.currency } : null;
        }),
      },
    },
  );
}
