/**
 * The data cache's byte bound and purge semantics (src/cache/lru.ts, src/cache/cache.ts), with a
 * clock the test moves.
 */
import t from 'tap';
import { ByteLru } from '../../src/cache/lru.js';
import { DataCache } from '../../src/cache/cache.js';
import type { CachePolicy } from '../../src/cache/policy.js';
import { approxBytes } from '../../src/cache/size.js';

t.test('the LRU holds at most its bound in bytes, evicting the least recently used first', async (t) => {
  const evicted: string[] = [];
  const lru = new ByteLru<string>(1000, (k) => evicted.push(k));
  for (let i = 0; i < 10; i++) lru.set(`k${i}`, `v${i}`, 100);
  t.equal(lru.bytes, 1000);
  t.equal(lru.size, 10);
  t.equal(lru.get('k0'), 'v0', 'k0 is now the most recently used');
  lru.set('big', 'x', 250); // needs 250 bytes: k1, k2, k3 leave (k0 was used)
  t.same(evicted, ['k1', 'k2', 'k3']);
  t.ok(lru.bytes <= 1000, `bytes held ${lru.bytes} ≤ 1000`);
  t.equal(lru.get('k0'), 'v0');
  t.equal(lru.get('k1'), undefined);
  // replacing an entry accounts for the difference
  lru.set('big', 'y', 50);
  t.equal(lru.bytes, 50 + 7 * 100);
  // larger than the whole bound: not kept, nothing evicted for it
  t.equal(lru.set('huge', 'z', 1001), false);
  t.equal(lru.get('huge'), undefined);
  t.equal(lru.bytes, 750);
  t.equal(lru.deleteWhere((k) => k.startsWith('k')), 7);
  t.equal(lru.bytes, 50);
});

t.test('under a stream of distinct keys the bound holds whatever their sizes', async (t) => {
  const lru = new ByteLru<number>(10_000);
  let max = 0;
  for (let i = 0; i < 5000; i++) {
    lru.set(String(i), i, 1 + ((i * 7919) % 700));
    max = Math.max(max, lru.bytes);
  }
  t.ok(max <= 10_000, `never above the bound (max ${max})`);
  t.ok(lru.bytes > 9000, 'and close to full');
});

t.test('approxBytes grows with the value', async (t) => {
  t.ok(approxBytes({ a: 'x'.repeat(1000) }) > 1000);
  t.ok(approxBytes([1, 2, 3]) < approxBytes([1, 2, 3, 4, 5, 6]));
});

const policy: CachePolicy = { methods: ['prices'], ttlMs: 1000, staleIfErrorMs: 5000, purgedBy: ['price.changed'] };

t.test('DataCache: fresh, stale within the bound, purged, and a read in flight during a purge is not kept', async (t) => {
  let now = 1_000_000;
  const cache = new DataCache({ maxBytes: 1 << 20, now: () => now });
  const l0 = await cache.lookup<number>('pricing', policy, 's', 'new|prices', ['a', 'b']);
  t.same(l0.missing, ['a', 'b']);
  cache.store('pricing', policy, 's', 'new|prices', l0.at, l0.missing, new Map([['a', 1]])); // b unknown upstream
  now += 10;
  const l1 = await cache.lookup<number>('pricing', policy, 's', 'new|prices', ['a', 'b']);
  t.same([...l1.hits], [['a', 1]], 'a from the cache; b known absent');
  t.same(l1.missing, []);
  const other = await cache.lookup<number>('pricing', policy, 's', 'legacy|prices', ['a']);
  t.same(other.missing, ['a'], 'another arm is another key');

  now += 2000; // past the TTL, within the stale bound
  const l2 = await cache.lookup<number>('pricing', policy, 's', 'new|prices', ['a']);
  t.same(l2.missing, ['a']);
  t.equal(l2.stale.get('a'), 1, 'kept for stale-if-error');

  // a read starts, a purge arrives while it is in flight, the read stores what it fetched
  const inFlight = await cache.lookup<number>('pricing', policy, 's', 'new|prices', ['a']);
  now += 1;
  await cache.purge('pricing', { site: 's', sku: 'a' }, 'price.changed');
  now += 1;
  cache.store('pricing', policy, 's', 'new|prices', inFlight.at, ['a'], new Map([['a', 1]]));
  const l3 = await cache.lookup<number>('pricing', policy, 's', 'new|prices', ['a']);
  t.same(l3.missing, ['a'], 'the value read before the purge is not served');
  t.equal(l3.stale.size, 0, 'not even as a stale copy');

  // a site-wide purge (a promotion event names no SKU)
  cache.store('pricing', policy, 's', 'new|prices', l3.at, ['a', 'c'], new Map([['a', 2], ['c', 3]]));
  now += 1;
  t.equal((await cache.lookup<number>('pricing', policy, 's', 'new|prices', ['c'])).hits.get('c'), 3);
  await cache.purge('pricing', { site: 's' }, 'promotion.changed');
  t.same((await cache.lookup<number>('pricing', policy, 's', 'new|prices', ['a', 'c'])).missing, ['a', 'c']);
  t.equal(cache.bytesHeld, 0, 'a site purge frees the memory at once');
});
