/**
 * Requests that arrive together share the new services' batch calls (src/upstream/coalesce.ts),
 * and nobody can tell from the answers: each is what the request would have got alone.
 */
import t from 'tap';
import { startWorld } from '../helpers/world.js';

const SITE = 'electronics-spa';

function callCount(metrics: string, upstream: string): number {
  const re = new RegExp(`^gateway_upstream_call_duration_seconds_count\\{upstream="${upstream}"[^}]*\\} (\\d+)$`, 'gm');
  let n = 0;
  for (const m of metrics.matchAll(re)) n += Number(m[1]);
  return n;
}

t.test('30 concurrent product requests: a handful of calls per new service, the same answers as one by one', async (t) => {
  const w = await startWorld(t, { pricing: 100, inventory: 100, promotions: 100 });
  const codes = Array.from({ length: 30 }, (_, i) => String(1000001 + i * 7));
  const alone: string[] = [];
  for (const code of codes) {
    const r = await w.app.inject({ url: `/occ/v2/${SITE}/products/${code}?fields=FULL`, headers: { 'x-user-id': `u${code}` } });
    t.equal(r.statusCode, 200);
    alone.push(r.body);
  }
  const before = (await w.app.inject({ url: '/metrics' })).body;

  const together = await Promise.all(codes.map((code) => w.app.inject({ url: `/occ/v2/${SITE}/products/${code}?fields=FULL`, headers: { 'x-user-id': `u${code}` } })));
  const after = (await w.app.inject({ url: '/metrics' })).body;

  together.forEach((r, i) => {
    t.equal(r.statusCode, 200);
    t.equal(r.headers['x-strangler-route'], 'pricing=new, inventory=new, promotions=new');
    t.equal(r.body, alone[i], `product ${codes[i]}: byte-identical to the answer it got alone`);
  });
  for (const upstream of ['pricing', 'inventory', 'promotions']) {
    const calls = callCount(after, upstream) - callCount(before, upstream);
    t.ok(calls >= 1 && calls < 10, `${upstream}: ${calls} calls for 30 concurrent requests`);
  }
  t.equal(callCount(after, 'legacy') - callCount(before, 'legacy'), 30, 'the legacy catalog is still read per product');
});

t.test('a 50 % split under concurrency: each request is answered by its own arm', async (t) => {
  const w = await startWorld(t, { pricing: 50 });
  const users = Array.from({ length: 40 }, (_, i) => `user-${i}`);
  const rs = await Promise.all(users.map((u) => w.app.inject({ url: `/api/v1/sites/${SITE}/products/1000001`, headers: { 'x-user-id': u } })));
  const arms = new Set(rs.map((r) => r.headers['x-strangler-route']));
  t.same([...arms].sort(), ['pricing=legacy, inventory=legacy, promotions=legacy', 'pricing=new, inventory=legacy, promotions=legacy'], 'both arms served');
  const prices = new Set(rs.map((r) => JSON.stringify((r.json() as { price: unknown }).price)));
  t.equal(prices.size, 1, 'one price whichever arm answered (the simulators agree)');
});
