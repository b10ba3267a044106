/**
 * OCC carts through the gateway: the monolith keeps the cart, the routed promotions backend
 * calculates it (with prices from the routed pricing backend), and the storefront gets the same
 * bytes whichever backend did it.
 */
import t from 'tap';
import { startWorld, flagFile } from '../helpers/world.js';

const SITE = 'electronics-spa';
const ALL_NEW = flagFile({ pricing: 100, inventory: 100, promotions: 100 });

async function cartWith(w: Awaited<ReturnType<typeof startWorld>>, entries: [string, number][]): Promise<string> {
  const created = await w.app.inject({ method: 'POST', url: `/occ/v2/${SITE}/users/anonymous/carts` });
  t.equal(created.statusCode, 201);
  const guid = created.json().guid as string;
  for (const [code, quantity] of entries) {
    const r = await w.app.inject({ method: 'POST', url: `/occ/v2/${SITE}/users/anonymous/carts/${guid}/entries`, payload: { product: { code }, quantity } });
    t.equal(r.statusCode, 200, `added ${code}`);
  }
  return guid;
}

t.test('an OCC cart reads the same through legacy and new calculation', async (t) => {
  const w = await startWorld(t, {}, { FALLBACK_CONTEXTS: '' });
  // Find well-stocked products that trigger promotions, through the canonical API.
  const skus = Array.from({ length: 100 }, (_, i) => String(1000200 + i));
  const views = (await w.app.inject({ url: `/api/v1/sites/${SITE}/products?skus=${skus.join(',')}` })).json().products as {
    sku: string;
    availability: { quantity: number };
    promotions: { code: string }[];
    price: { amount: number };
  }[];
  const stocked = views.filter((v) => v.availability.quantity >= 10);
  const byPromo = (code: string) => stocked.filter((v) => v.promotions.some((p) => p.code === code)).map((v) => v.sku);
  const chosen = [
    byPromo(`${SITE}-bogo`)[0],
    byPromo(`${SITE}-category-pct`)[0],
    byPromo(`${SITE}-gift`)[0],
    stocked.find((v) => v.promotions.length === 0 && v.price.amount > 30000)?.sku,
  ].filter((s): s is string => s !== undefined);
  t.ok(chosen.length >= 3, `found products for the promotion kinds: ${chosen.join(', ')}`);
  const guid = await cartWith(w, chosen.map((s, i) => [s, 2 + (i % 2)]));

  const fieldsList = ['FULL', 'DEFAULT', 'code,totalPrice(formattedValue),entries(entryNumber,basePrice(value),product(code,stock(FULL)))'];
  const read = async () => Promise.all(fieldsList.map((f) => w.app.inject({ url: `/occ/v2/${SITE}/users/anonymous/carts/${guid}?fields=${encodeURIComponent(f)}` })));
  const legacy = await read();
  for (const r of legacy) t.equal(r.statusCode, 200);
  t.equal(legacy[0]!.headers['x-strangler-route'], 'promotions=legacy');
  const full = legacy[0]!.json();
  t.ok(full.appliedProductPromotions.length >= 2, 'product promotions applied');
  t.ok(full.entries.some((e: { updateable: boolean }) => e.updateable === false), 'a gift entry');
  t.equal(legacy[0]!.body, (await fetch(`${w.backends.legacy.url}/occ/v2/${SITE}/users/anonymous/carts/${guid}?fields=FULL`).then((r) => r.text())), 'all-legacy read equals the monolith byte for byte');

  await w.setFlags(ALL_NEW);
  const fresh = await read();
  t.equal(fresh[0]!.headers['x-strangler-route'], 'pricing=new, inventory=new, promotions=new');
  fresh.forEach((r, i) => t.equal(r.body, legacy[i]!.body, `fields=${fieldsList[i]}: byte-identical`));

  // Prove the new engine really did it: break the promotions service and the read fails.
  await fetch(`${w.backends.promotions.url}/__faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ errorRate: 1 }) });
  const broken = await w.app.inject({ url: `/occ/v2/${SITE}/users/anonymous/carts/${guid}` });
  t.equal(broken.statusCode, 502);
  t.match(broken.json(), { errors: [{ reason: 'GW_ERR_UPSTREAM_FAILED', subject: 'promotions' }] });
});

t.test('cart errors keep OCC shapes', async (t) => {
  const w = await startWorld(t);
  const missing = await w.app.inject({ url: `/occ/v2/${SITE}/users/anonymous/carts/does-not-exist` });
  t.equal(missing.statusCode, 404);
  t.match(missing.json(), { errors: [{ type: 'CartError', reason: 'GW_ERR_CART_NOT_FOUND' }] });
  const noToken = await w.app.inject({ url: `/occ/v2/${SITE}/users/someone@example.com/carts/00001` });
  t.equal(noToken.statusCode, 401);
  t.match(noToken.json(), { errors: [{ type: 'InvalidTokenError', reason: 'GW_ERR_UPSTREAM_REJECTED' }] });
});

t.test('an anonymous cart is sticky by its guid', async (t) => {
  const w = await startWorld(t, { promotions: 50 }, {}, { stickiness: 'sessionId' });
  const arms = new Set<string>();
  for (let i = 0; i < 12; i++) {
    // twelve shoppers (browsers): a cart is routed by the key of the shopper who created it
    const created = await w.app.inject({ method: 'POST', url: `/occ/v2/${SITE}/users/anonymous/carts`, headers: { 'user-agent': `browser-${i}` } });
    const guid = created.json().guid as string;
    const first = (await w.app.inject({ url: `/occ/v2/${SITE}/users/anonymous/carts/${guid}` })).headers['x-strangler-route'];
    for (let k = 0; k < 3; k++) {
      const again = (await w.app.inject({ url: `/occ/v2/${SITE}/users/anonymous/carts/${guid}` })).headers['x-strangler-route'];
      t.equal(again, first, 'same cart, same arm');
    }
    arms.add(String(first));
  }
  t.equal(arms.size, 2, "both arms are used across shoppers' carts");
});
