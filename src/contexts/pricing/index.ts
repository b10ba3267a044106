/** The pricing context: list prices, by SKU and site. */
import { describeContext } from '../descriptor.js';
import { identityOf } from '../names.js';
import { PRICING_SDL } from '../../graphql/sdl.js';
import { pricingResolvers } from '../../graphql/subgraphs/pricing.js';
import type { PricingPort } from './pricing.port.js';
import { LegacyPricing } from './legacy/adapter.js';
import { ModernPricing } from './modern/adapter.js';

export const pricingContext = describeContext<PricingPort>(identityOf('pricing'), {
  description: 'list prices of products (legacy: the OCC product price; new: the pricing service)',
  port: {
    legacy: ({ catalog }) => new LegacyPricing(catalog),
    new: ({ upstream }) => new ModernPricing(upstream),
  },
  graphql: { sdl: PRICING_SDL, resolvers: pricingResolvers },
  // Prices change on a price event; the TTL is the safety net for an event lost.
  policy: {
    cache: { methods: ['prices'], ttlMs: 30_000, staleIfErrorMs: 300_000, purgedBy: ['price.changed'] },
    shadow: { samplePercent: 0, signal: 'price' },
  },
});
