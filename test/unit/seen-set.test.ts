/** The domain-event dedupe window (src/events/seen-set.ts): by id, forgotten after its TTL or when crowded out. */
import t from 'tap';
import { SeenSet } from '../../src/events/seen-set.js';

t.test('an id is first seen once within its TTL, and again after it', async (t) => {
  let now = 1000;
  const seen = new SeenSet(500, 100, () => now);
  t.equal(seen.firstSight('a'), true);
  for (let i = 0; i < 9; i++) t.equal(seen.firstSight('a'), false, 'a replay within the window');
  t.equal(seen.firstSight('b'), true, 'another id');
  now += 499;
  t.equal(seen.firstSight('a'), false, 'still within the window');
  now += 1;
  t.equal(seen.firstSight('a'), true, 'forgotten after the TTL');
  t.equal(seen.size, 1, 'expired ids are let go (b expired, a remembered again)');
});

t.test('beyond its bound the oldest ids go first', async (t) => {
  const seen = new SeenSet(60_000, 3, () => 0);
  for (const id of ['a', 'b', 'c', 'd']) t.equal(seen.firstSight(id), true);
  t.equal(seen.size, 3);
  t.equal(seen.firstSight('a'), true, 'the oldest was crowded out');
  t.equal(seen.firstSight('d'), false, 'the newest is remembered');
});
