/** The inventory context: stock availability, by SKU and site. */
import { describeContext } from '../descriptor.js';
import { identityOf } from '../names.js';
import { INVENTORY_SDL } from '../../graphql/sdl.js';
import { inventoryResolvers } from '../../graphql/subgraphs/inventory.js';
import type { InventoryPort } from './inventory.port.js';
import { LegacyInventory } from './legacy/adapter.js';
import { ModernInventory } from './modern/adapter.js';

export const inventoryContext = describeContext<InventoryPort>(identityOf('inventory'), {
  description: 'stock availability (legacy: the OCC stock; new: the inventory service)',
  port: {
    legacy: ({ catalog, legacy }) => new LegacyInventory(catalog, legacy),
    new: ({ upstream }) => new ModernInventory(upstream),
  },
  graphql: { sdl: INVENTORY_SDL, resolvers: inventoryResolvers },
  // Stock moves with every order: seconds only, purged on a stock event, and a short stale bound.
  policy: {
    cache: { methods: ['availability'], ttlMs: 2_000, staleIfErrorMs: 10_000, purgedBy: ['stock.changed'] },
    shadow: { samplePercent: 0, signal: 'stock' },
  },
});
