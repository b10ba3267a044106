/** pricing-service's federation subgraph: `Product.price` (the gateway's PRICING_SDL). */
import type { FastifyInstance } from 'fastify';
import type { Money } from '../../src/domain/model.js';
import { PRICING_SDL } from '../../src/graphql/sdl.js';
import { formatMoney } from '../../src/occ/format.js';
import { getProduct, getSite } from '../shared/seed.js';
import { entityLoader, registerSubgraph } from '../shared/graphql.js';

export async function pricingSubgraph(app: FastifyInstance): Promise<void> {
  await registerSubgraph(
    app,
    PRICING_SDL,
    { Price: { formatted: (m: Money) => formatMoney(m.amount, m.currency) } },
    {
      Product: {
        price: entityLoader(({ site, sku }): Money | null => {
          const s = getSite(site);
          const p = s && getProduct(s.id, sku);
          return s && p ? { amount: p.priceMinor, currency: s.currency } : null;
        }),
      },
    },
  );
}
