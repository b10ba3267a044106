/**
 * /graphql against the real backends: the composed graph answers what the canonical REST API
 * answers, routes each context exactly as REST does for the same user or session, reports the
 * route in `x-strangler-route` and in `extensions`, and costs one upstream call per context per
 * backend however many products a query asks for.
 */
import t from 'tap';
import type { LightMyRequestResponse } from 'fastify';
import { startWorld, flagFile, type World } from '../helpers/world.js';

const SITE = 'electronics-spa';
const PRODUCT_FIELDS = 'sku name price { amount currency formatted } availability { status quantity } promotions { code title }';

interface GqlBody {
  data?: Record<string, unknown> | null;
  errors?: { message: string; path?: unknown[]; extensions: Record<string, unknown> }[];
  extensions?: { requestId?: string; route?: Record<string, string> };
}

async function gql(w: World, query: string, variables?: object, headers: Record<string, string> = {}): Promise<{ r: LightMyRequestResponse; body: GqlBody }> {
  const r = await w.app.inject({ method: 'POST', url: '/graphql', headers, payload: { query, variables } });
  return { r, body: r.json() as GqlBody };
}

/** The GraphQL product minus what REST does not have (`formatted`), to compare with REST's view. */
function asRestView(p: { price: { amount: number; currency: string } | null } & Record<string, unknown>) {
  return { ...p, price: p.price ? { amount: p.price.amount, currency: p.price.currency } : null };
}

/** Counts requests arriving at each real backend (fault-injection calls excluded). */
function countRequests(w: World): Map<string, number> {
  const counts = new Map<string, number>();
  for (const name of ['legacy', 'pricing', 'inventory', 'promotions'] as const) {
    // a second 'request' listener only observes; fastify's own still answers
    w.backends[name].app.server.on('request', (req: { url?: string }) => {
      if (!req.url?.startsWith('/__')) counts.set(name, (counts.get(name) ?? 0) + 1);
    });
  }
  return counts;
}

for (const arm of ['legacy', 'new'] as const) {
  t.test(`all contexts on ${arm}: the graph answers what canonical REST answers`, async (t) => {
    const rollout = arm === 'new' ? 100 : 0;
    const w = await startWorld(t, { pricing: rollout, inventory: rollout, promotions: rollout });
    // a gift category product (potential promotions), low and normal stock, and an unknown SKU
    const skus = ['1000100', '1000001', '1000002', '1000123', '1999999'];
    const { r, body } = await gql(w, `query P($skus: [ID!]!) { products(site: "${SITE}", skus: $skus) { ${PRODUCT_FIELDS} } }`, { skus });
    t.equal(r.statusCode, 200);
    t.match(r.headers['content-type'], /^application\/json/);
    t.equal(body.errors, undefined, 'no errors');
    const expected = `pricing=${arm}, inventory=${arm}, promotions=${arm}`;
    t.equal(r.headers['x-strangler-route'], expected, 'routing header');
    t.same(body.extensions?.route, { pricing: arm, inventory: arm, promotions: arm }, 'route in extensions');
    t.equal(body.extensions?.requestId, r.headers['x-request-id'], 'request id in extensions');

    const rest = await w.app.inject({ url: `/api/v1/sites/${SITE}/products?skus=${skus.join(',')}` });
    t.equal(rest.statusCode, 200);
    const products = (body.data?.products as (Record<string, unknown> & { price: { amount: number; currency: string; formatted: string } | null })[]);
    t.equal(products.length, skus.length, 'one entry per SKU asked, in order');
    t.equal(products[4], null, 'unknown SKU is null in place');
    t.same(products.slice(0, 4).map(asRestView), rest.json().products, 'same products as REST');
    t.ok(products.some((p) => (p.promotions as unknown[]).length > 0), 'promotions present');
    t.match(products[0]?.price?.formatted, /^\$[\d,]+\.\d\d$/, 'formatted price');
  });
}

t.test('one product, and an unknown one', async (t) => {
  const w = await startWorld(t, { inventory: 100 });
  const { r, body } = await gql(w, `{ known: product(site: "${SITE}", sku: "1000005") { sku name availability { status } } unknown: product(site: "${SITE}", sku: "1999999") { sku } }`);
  t.equal(r.statusCode, 200);
  t.match(body.data, { known: { sku: '1000005', name: String, availability: { status: /^(IN_STOCK|LOW_STOCK|OUT_OF_STOCK)$/ } }, unknown: null });
  t.equal(r.headers['x-strangler-route'], 'inventory=new', 'only the contexts asked for are touched');
});

t.test('a catalog-only query touches no context', async (t) => {
  const w = await startWorld(t, { pricing: 100 });
  const { r, body } = await gql(w, `{ product(site: "${SITE}", sku: "1000005") { sku name manufacturer categories { code name } } }`);
  t.equal(r.statusCode, 200);
  t.match(body.data, { product: { sku: '1000005', categories: Array } });
  t.equal(r.headers['x-strangler-route'], undefined);
  t.equal(body.extensions?.route, undefined);
});

t.test('cart evaluation equals REST on both arms', async (t) => {
  for (const arm of ['legacy', 'new'] as const) {
    const rollout = arm === 'new' ? 100 : 0;
    const w = await startWorld(t, { pricing: rollout, promotions: rollout });
    const entries = [
      { sku: '1000100', quantity: 2 },
      { sku: '1000001', quantity: 3 },
      { sku: '1000100', quantity: 1 },
    ];
    const q = `query C($cart: CartInput!) { evaluateCart(site: "${SITE}", cart: $cart) {
      currency entries { entryNumber sku quantity unitPrice { amount currency } basePrice { amount currency } discount { amount currency } total { amount currency } giveaway }
      appliedPromotions { code title description scope discount { amount currency } entryNumbers }
      subTotal { amount currency } productDiscounts { amount currency } orderDiscounts { amount currency } totalDiscounts { amount currency }
      total { amount currency formatted } tax { amount currency } totalWithTax { amount currency } } }`;
    const { r, body } = await gql(w, q, { cart: { entries } });
    t.equal(r.statusCode, 200, `${arm}: status`);
    t.equal(body.errors, undefined, `${arm}: no errors`);
    const rest = await w.app.inject({ method: 'POST', url: `/api/v1/sites/${SITE}/carts/evaluate`, payload: { entries } });
    const gqlEval = body.data?.evaluateCart as { total: { formatted: string; amount: number; currency: string } } & Record<string, unknown>;
    t.match(gqlEval.total.formatted, /^\$/);
    t.same({ ...gqlEval, total: { amount: gqlEval.total.amount, currency: gqlEval.total.currency } }, rest.json(), `${arm}: same evaluation as REST`);
    t.match(r.headers['x-strangler-route'], new RegExp(`promotions=${arm}`), `${arm}: promotions arm`);
  }
});

t.test('search: one page of the catalog index with the routed contexts', async (t) => {
  const w = await startWorld(t, { pricing: 100 });
  const { r, body } = await gql(w, `{ searchProducts(site: "${SITE}", query: "camera", pageSize: 5) { pagination { currentPage pageSize totalResults } products { sku name price { amount } } } }`);
  t.equal(r.statusCode, 200);
  t.equal(body.errors, undefined);
  const page = body.data?.searchProducts as { pagination: { pageSize: number }; products: { price: unknown }[] };
  t.equal(page.pagination.pageSize, 5);
  t.ok(page.products.length > 0 && page.products.length <= 5);
  t.ok(page.products.every((p) => p.price !== null), 'prices from the pricing context');
  t.equal(r.headers['x-strangler-route'], 'pricing=new');
});

t.test('same user, same backend on REST and GraphQL; same session too', async (t) => {
  const w = await startWorld(t, { pricing: 50 }, {}, { stickiness: 'userId' });
  let news = 0;
  for (let i = 0; i < 20; i++) {
    const headers = { 'x-user-id': `shopper-${i}` };
    const rest = await w.app.inject({ url: `/api/v1/sites/${SITE}/products/1000004`, headers });
    const { r, body } = await gql(w, `{ product(site: "${SITE}", sku: "1000004") { price { amount } } }`, undefined, headers);
    const arm = /pricing=(\w+)/.exec(String(rest.headers['x-strangler-route']))?.[1];
    t.equal(/pricing=(\w+)/.exec(String(r.headers['x-strangler-route']))?.[1], arm, `shopper-${i}: same arm on REST and GraphQL`);
    t.equal(body.extensions?.route?.pricing, arm, `shopper-${i}: extensions agree`);
    if (arm === 'new') news++;
  }
  t.ok(news > 2 && news < 18, `about half the shoppers on new pricing (${news}/20)`);

  await w.setFlags(flagFile({ pricing: 50 }, { stickiness: 'sessionId' }));
  const arms = new Set<string>();
  for (let i = 0; i < 12; i++) {
    const cookie = `strangler_session=s-${i}`;
    const rest = await w.app.inject({ url: `/api/v1/sites/${SITE}/products/1000004`, headers: { cookie } });
    const { r } = await gql(w, `{ product(site: "${SITE}", sku: "1000004") { price { amount } } }`, undefined, { cookie });
    const arm = /pricing=(\w+)/.exec(String(rest.headers['x-strangler-route']))?.[1] ?? '';
    arms.add(arm);
    t.equal(/pricing=(\w+)/.exec(String(r.headers['x-strangler-route']))?.[1], arm, `session s-${i}: same arm`);
  }
  t.equal(arms.size, 2, 'sessions are spread over both arms');
});

t.test('the flag context says channel graphql: a flag can target the graph alone', async (t) => {
  const w = await startWorld(t);
  await w.setFlags(flagFile({ inventory: 100 }, { constraints: [{ contextName: 'channel', operator: 'IN', values: ['graphql'] }] }));
  const rest = await w.app.inject({ url: `/api/v1/sites/${SITE}/products/1000001` });
  const { r } = await gql(w, `{ product(site: "${SITE}", sku: "1000001") { availability { status } } }`);
  t.match(rest.headers['x-strangler-route'], /inventory=legacy/, 'REST stays on legacy');
  t.equal(r.headers['x-strangler-route'], 'inventory=new', 'GraphQL moved');
});

t.test('moving a context is a flag change: same query, same schema, other backend', async (t) => {
  const w = await startWorld(t);
  const q = `{ product(site: "${SITE}", sku: "1000001") { price { amount currency } } }`;
  const before = await gql(w, q);
  await w.setFlags(flagFile({ pricing: 100 }));
  const after = await gql(w, q);
  t.equal(before.r.headers['x-strangler-route'], 'pricing=legacy');
  t.equal(after.r.headers['x-strangler-route'], 'pricing=new');
  t.same(after.body.data, before.body.data, 'clients see the same answer');
});

for (const arm of ['legacy', 'new'] as const) {
  t.test(`no N+1 (${arm}): 50 products with price, availability and promotions`, async (t) => {
    const rollout = arm === 'new' ? 100 : 0;
    const w = await startWorld(t, { pricing: rollout, inventory: rollout, promotions: rollout });
    // warm up: the base-site list is read from legacy once and cached
    await gql(w, `{ product(site: "${SITE}", sku: "1000001") { sku } }`);
    const counts = countRequests(w);
    const skus = Array.from({ length: 50 }, (_, i) => String(1000200 + i));
    const { r, body } = await gql(w, `query P($skus: [ID!]!) { products(site: "${SITE}", skus: $skus) { ${PRODUCT_FIELDS} } }`, { skus });
    t.equal(r.statusCode, 200);
    t.equal(body.errors, undefined);
    const products = body.data?.products as { price: unknown; availability: unknown }[];
    t.equal(products.length, 50);
    t.ok(products.every((p) => p && p.price && p.availability), 'every product complete');
    if (arm === 'new') {
      t.equal(counts.get('legacy'), 1, 'one catalog call');
      t.equal(counts.get('pricing'), 1, 'one pricing call');
      t.equal(counts.get('inventory'), 1, 'one inventory call');
      t.ok((counts.get('promotions') ?? 0) <= 2, `product promotions + definitions (${counts.get('promotions')})`);
    } else {
      // the legacy arms read their parts from the catalog payload the catalog already fetched
      t.equal(counts.get('legacy'), 1, 'one legacy call serves catalog, pricing, inventory and promotions');
      t.equal(counts.get('pricing') ?? 0, 0);
      t.equal(counts.get('inventory') ?? 0, 0);
      t.equal(counts.get('promotions') ?? 0, 0);
    }
  });
}

t.test('one site per request: the routing decision is per request', async (t) => {
  const w = await startWorld(t);
  const { r, body } = await gql(w, `{ a: product(site: "electronics-spa", sku: "1000001") { sku } b: product(site: "apparel-uk", sku: "3000001") { sku } }`);
  t.equal(r.statusCode, 400);
  t.equal(body.data, undefined);
  t.equal(body.errors?.[0]?.extensions.code, 'GW_ERR_REQUEST_INVALID');
  t.match(body.errors?.[0]?.message, /one site per request/);
  const uk = await gql(w, `query Q($site: String!) { product(site: $site, sku: "3000001") { price { currency formatted } } }`, { site: 'apparel-uk' });
  t.match(uk.body.data, { product: { price: { currency: 'GBP', formatted: /^£/ } } }, 'the other site, in its own request');
});

t.test('GET queries, and the GraphQL response media type when asked for', async (t) => {
  const w = await startWorld(t);
  const q = encodeURIComponent(`{ product(site: "${SITE}", sku: "1000001") { name } }`);
  const plain = await w.app.inject({ url: `/graphql?query=${q}` });
  t.equal(plain.statusCode, 200);
  t.match(plain.headers['content-type'], /^application\/json/);
  t.match(plain.json(), { data: { product: { name: String } } });
  const modern = await w.app.inject({ url: `/graphql?query=${q}`, headers: { accept: 'application/graphql-response+json, application/json;q=0.9' } });
  t.match(modern.headers['content-type'], /^application\/graphql-response\+json/);
});
