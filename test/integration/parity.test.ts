/**
 * The parity suite: legacy and new agree on the same seeded data, so for ≥ 200 random SKUs per
 * site the canonical answer through legacy equals the one through new, and the OCC answer
 * through the gateway is byte-identical whichever backend serves it (apart from the routing
 * header). A mapper bug or an unnoticed upstream format change shows up here.
 */
import t from 'tap';
import { startWorld, flagFile } from '../helpers/world.js';

const SITES = [
  { uid: 'electronics-spa', base: 1000000 },
  { uid: 'apparel-uk', base: 3000000 },
];
const N = 200;

/** Deterministic sample so a failure is reproducible. */
function sample(base: number, n: number, seed: number): string[] {
  let x = seed;
  const out = new Set<string>();
  while (out.size < n) {
    x = (x * 1103515245 + 12345) % 2147483648;
    out.add(String(base + (x % 10000)));
  }
  return [...out];
}

const ALL_LEGACY = flagFile({});
const ALL_NEW = flagFile({ pricing: 100, inventory: 100, promotions: 100 });

t.test('canonical and OCC parity per site', async (t) => {
  const w = await startWorld(t);
  for (const site of SITES) {
    const skus = sample(site.base, N, site.base);
    const chunks: string[][] = [];
    for (let i = 0; i < skus.length; i += 100) chunks.push(skus.slice(i, i + 100));

    const canonical = async () => {
      const out: unknown[] = [];
      for (const c of chunks) {
        const r = await w.app.inject({ url: `/api/v1/sites/${site.uid}/products?skus=${c.join(',')}` });
        t.equal(r.statusCode, 200);
        out.push(...r.json().products);
      }
      return out;
    };
    const occ = async (fields: string) => {
      const out: string[] = [];
      for (const sku of skus.slice(0, 60)) {
        const r = await w.app.inject({ url: `/occ/v2/${site.uid}/products/${sku}?fields=${encodeURIComponent(fields)}` });
        t.equal(r.statusCode, 200);
        out.push(r.body);
      }
      return out;
    };
    const rest = async () => {
      const search = await w.app.inject({ url: `/occ/v2/${site.uid}/products/search?query=a&pageSize=20&fields=FULL` });
      const stock = await w.app.inject({ url: `/occ/v2/${site.uid}/products/${skus[0]}/stock` });
      const promos = await w.app.inject({ url: `/occ/v2/${site.uid}/promotions?type=all&fields=FULL` });
      const orderPromos = await w.app.inject({ url: `/occ/v2/${site.uid}/promotions?type=order` });
      return [search.body, stock.body, promos.body, orderPromos.body];
    };
    // The monolith will not put more in a cart than it has in stock (SAP's partial add), the
    // promotions service prices whatever it is given: carts use well-stocked SKUs only.
    let stocked: string[] = [];
    const carts = async () => {
      const out: unknown[] = [];
      for (let i = 0; i < 10; i++) {
        const entries = stocked.slice(i * 4, i * 4 + 1 + (i % 4)).map((sku, j) => ({ sku, quantity: 1 + ((i + j) % 3) }));
        const r = await w.app.inject({ method: 'POST', url: `/api/v1/sites/${site.uid}/carts/evaluate`, payload: { entries } });
        t.equal(r.statusCode, 200, `cart ${i} evaluated`);
        out.push(r.json());
      }
      return out;
    };

    await w.setFlags(ALL_LEGACY);
    const legacyCanonical = await canonical();
    stocked = (legacyCanonical as { sku: string; availability: { quantity: number } }[]).filter((p) => p.availability.quantity >= 10).map((p) => p.sku);
    const legacyOcc = [...(await occ('DEFAULT')), ...(await occ('FULL')), ...(await occ('code,name,price(FULL),stock(DEFAULT),potentialPromotions'))];
    const legacyRest = await rest();
    const legacyCarts = await carts();
    const check = await w.app.inject({ url: `/api/v1/sites/${site.uid}/products/${skus[0]}` });
    t.equal(check.headers['x-strangler-route'], 'pricing=legacy, inventory=legacy, promotions=legacy');

    await w.setFlags(ALL_NEW);
    const check2 = await w.app.inject({ url: `/api/v1/sites/${site.uid}/products/${skus[0]}` });
    t.equal(check2.headers['x-strangler-route'], 'pricing=new, inventory=new, promotions=new');
    const newCanonical = await canonical();
    const newOcc = [...(await occ('DEFAULT')), ...(await occ('FULL')), ...(await occ('code,name,price(FULL),stock(DEFAULT),potentialPromotions'))];
    const newRest = await rest();
    const newCarts = await carts();

    t.equal(legacyCanonical.length, N, `${site.uid}: ${N} products`);
    t.same(newCanonical, legacyCanonical, `${site.uid}: canonical views equal through legacy and new`);
    let identical = 0;
    newOcc.forEach((body, i) => {
      if (body === legacyOcc[i]) identical++;
      else t.equal(body, legacyOcc[i], `${site.uid}: OCC body #${i} byte-identical`);
    });
    t.equal(identical, legacyOcc.length, `${site.uid}: all ${legacyOcc.length} OCC product bodies byte-identical`);
    t.same(newRest, legacyRest, `${site.uid}: search, stock and promotions byte-identical`);
    t.same(newCarts, legacyCarts, `${site.uid}: cart evaluations equal`);
    t.ok(legacyCarts.some((c) => (c as { appliedPromotions: unknown[] }).appliedPromotions.length > 0), 'some carts trigger promotions');
  }
});
