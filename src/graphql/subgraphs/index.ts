/** The gateway-hosted subgraph of every context, by name (composition order: catalog first). */
import type { SubgraphName } from '../sdl.js';
import type { SubgraphResolvers } from '../executor.js';
import { catalogResolvers } from './catalog.js';
import { pricingResolvers } from './pricing.js';
import { inventoryResolvers } from './inventory.js';
import { promotionsResolvers } from './promotions.js';

export const RESOLVERS: Readonly<Record<SubgraphName, SubgraphResolvers>> = Object.freeze({
  catalog: catalogResolvers,
  pricing: pricingResolvers,
  inventory: inventoryResolvers,
  promotions: promotionsResolvers,
});
