/** The promotions context: promotion definitions, product promotions and cart evaluation. */
import { describeContext } from '../descriptor.js';
import { identityOf } from '../names.js';
import { PROMOTIONS_SDL } from '../../graphql/sdl.js';
import { promotionsResolvers } from '../../graphql/subgraphs/promotions.js';
import type { PromotionsPort } from './promotions.port.js';
import { LegacyPromotions } from './legacy/adapter.js';
import { ModernPromotions } from './modern/adapter.js';

export const promotionsContext = describeContext<PromotionsPort>(identityOf('promotions'), {
  description: 'promotions and cart evaluation (legacy: OCC promotions and carts; new: the promotions service)',
  port: {
    legacy: ({ catalog, legacy }) => new LegacyPromotions(catalog, legacy),
    new: ({ upstream }) => new ModernPromotions(upstream),
  },
  graphql: { sdl: PROMOTIONS_SDL, resolvers: promotionsResolvers },
  // Until a promotion event (which names a code, not SKUs: it purges the site's copies).
  policy: {
    cache: { methods: ['productPromotions'], ttlMs: 60_000, staleIfErrorMs: 300_000, purgedBy: ['promotion.changed'] },
    shadow: { samplePercent: 0, unordered: ['productPromotions.*', 'list'], signal: 'promotion' },
  },
});
