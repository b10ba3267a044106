import t from 'tap';
import { availabilityToOccStock, legacyStockToAvailability } from '../../src/contexts/inventory/legacy/mapper.js';
import { checkAvailability, checkAvailabilityBatch } from '../../src/contexts/inventory/modern/payload.js';
import type { AvailabilityStatus } from '../../src/domain/model.js';
import { runFixtures } from './acl-fixtures.js';

t.test('golden fixtures', async (t) => {
  runFixtures(t, 'inventory', { legacyStockToAvailability, availabilityToOccStock, checkAvailabilityBatch, checkAvailability }, {
    mapResult: ['legacyStockToAvailability', 'checkAvailabilityBatch', 'checkAvailability'],
  });
});

t.test('round trip: every status, many quantities', async (t) => {
  const statuses: AvailabilityStatus[] = ['IN_STOCK', 'LOW_STOCK', 'OUT_OF_STOCK'];
  for (const status of statuses) {
    for (const quantity of [0, 1, 9, 10, 500, 2 ** 31]) {
      const a = { status, quantity };
      t.strictSame(legacyStockToAvailability(JSON.parse(JSON.stringify(availabilityToOccStock(a)))), { ok: true, value: a }, `${status} ${quantity}`);
    }
  }
});
