/**
 * Subgraphs as configuration: each new service exposes its own federation subgraph (its own SDL,
 * backends/contract/sdl.ts, the same contract as the gateway's); `GRAPHQL_SUBGRAPHS=<context>=remote` sends the requests the flags route to `new` to
 * that subgraph (through the context's upstream client, answers checked against the SDL, the
 * fallback policy applied), and `<name>=<url>` composes a subgraph a new service exposes into
 * the graph, with no code change in the gateway.
 */
import t from 'tap';
import Fastify from 'fastify';
import { Kind, parse, print, visit, type ASTNode } from 'graphql';
import { mercuriusFederationPlugin } from '@mercuriusjs/federation';
import { startWorld, type World } from '../helpers/world.js';
import { SUBGRAPH_SDL } from '../../src/graphql/sdl.js';
import { loadConfig } from '../../src/config/load.js';

const SITE = 'electronics-spa';
const FIELDS = 'sku name price { amount currency formatted } availability { status quantity } promotions { code title }';

async function gql(w: World, query: string, variables?: object) {
  const r = await w.app.inject({ method: 'POST', url: '/graphql', payload: { query, variables } });
  return { r, body: r.json() as { data?: Record<string, unknown> | null; errors?: { message: string; extensions: Record<string, unknown> }[]; extensions?: { route?: Record<string, string> } } };
}

/**
 * An SDL's contract: its types, fields, arguments and directives, without descriptions and in a
 * stable order. Two teams write the same contract in their own words and order.
 */
function contractOf(sdl: string): string {
  const named = (n: { name?: { value: string } }) => n.name?.value ?? '';
  const byName = <T extends { name?: { value: string } }>(list: readonly T[] | undefined) => (list ? [...list].sort((a, b) => named(a).localeCompare(named(b))) : list);
  const doc = visit(parse(sdl, { noLocation: true }), {
    enter(node: ASTNode) {
      const copy: Record<string, unknown> = { ...node, description: undefined };
      if ('fields' in node) copy.fields = byName(node.fields as readonly { name: { value: string } }[]);
      if ('values' in node && node.kind === Kind.ENUM_TYPE_DEFINITION) copy.values = byName(node.values);
      return copy as unknown as ASTNode;
    },
  });
  return [...doc.definitions]
    .map((d) => print(d))
    .sort()
    .join('\n');
}

function record(w: World): Map<string, string[]> {
  const seen = new Map<string, string[]>();
  for (const name of ['legacy', 'pricing', 'inventory', 'promotions'] as const) {
    w.backends[name].app.server.on('request', (req: { url?: string; method?: string }) => {
      if (req.url?.startsWith('/__')) return;
      seen.set(name, [...(seen.get(name) ?? []), `${req.method} ${req.url?.split('?')[0]}`]);
    });
  }
  return seen;
}

t.test('each new service exposes its own subgraph, with the same contract as the gateway', async (t) => {
  const w = await startWorld(t);
  for (const ctx of ['pricing', 'inventory', 'promotions'] as const) {
    const r = await fetch(`${w.backends[ctx].url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ _service { sdl } }' }) });
    const body = (await r.json()) as { data: { _service: { sdl: string } } };
    t.equal(contractOf(body.data._service.sdl), contractOf(SUBGRAPH_SDL[ctx]), `${ctx}: same types, fields and directives`);
  }
  const r = await fetch(`${w.backends.pricing.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      query: 'query E($r: [_Any!]!) { _entities(representations: $r) { ... on Product { price { amount currency formatted } } } }',
      variables: { r: [{ __typename: 'Product', sku: '1000001', site: SITE }, { __typename: 'Product', sku: '3000001', site: 'apparel-uk' }] },
    }),
  });
  t.match(await r.json(), { data: { _entities: [{ price: { currency: 'USD', formatted: /^\$/ } }, { price: { currency: 'GBP', formatted: /^£/ } }] } });
});

t.test('remote subgraphs: routed to new, the services answer through their own subgraphs', async (t) => {
  const w = await startWorld(t, { pricing: 100, inventory: 100, promotions: 100 }, { GRAPHQL_SUBGRAPHS: 'pricing=remote, inventory=remote, promotions=remote' });
  await gql(w, `{ product(site: "${SITE}", sku: "1000001") { sku } }`); // site list cached
  const seen = record(w);
  const skus = ['1000100', '1000001', '1000002', '1999999'];
  const { r, body } = await gql(w, `query P($skus: [ID!]!) { products(site: "${SITE}", skus: $skus) { ${FIELDS} } }`, { skus });
  t.equal(r.statusCode, 200);
  t.equal(body.errors, undefined);
  t.equal(r.headers['x-strangler-route'], 'pricing=new, inventory=new, promotions=new');
  for (const ctx of ['pricing', 'inventory', 'promotions']) t.same(seen.get(ctx), ['POST /graphql'], `${ctx}: one subgraph request, no REST call`);
  t.same(seen.get('legacy'), ['GET /occ/v2/electronics-spa/products/search'], 'legacy: the catalog only');

  // the same answer the canonical REST API gives through the services' REST APIs
  const rest = (await w.app.inject({ url: `/api/v1/sites/${SITE}/products?skus=${skus.join(',')}` })).json();
  const products = (body.data?.products as ({ price: { amount: number; currency: string } } & Record<string, unknown>)[]).slice(0, 3);
  t.same(products.map((p) => ({ ...p, price: { amount: p.price.amount, currency: p.price.currency } })), rest.products);

  const cart = { entries: [{ sku: '1000100', quantity: 2 }, { sku: '1000001', quantity: 1 }] };
  const c = await gql(w, `query C($cart: CartInput!) { evaluateCart(site: "${SITE}", cart: $cart) { total { amount currency } totalWithTax { amount currency } appliedPromotions { code } entries { sku giveaway } } }`, { cart });
  const restCart = (await w.app.inject({ method: 'POST', url: `/api/v1/sites/${SITE}/carts/evaluate`, payload: cart })).json();
  t.match(c.body.data?.evaluateCart, { total: restCart.total, totalWithTax: restCart.totalWithTax, appliedPromotions: restCart.appliedPromotions.map((p: { code: string }) => ({ code: p.code })) }, 'the service prices and evaluates the cart as REST does');
});

t.test('remote subgraphs: routed to legacy, the ACL answers and the services are not called', async (t) => {
  const w = await startWorld(t, {}, { GRAPHQL_SUBGRAPHS: 'pricing=remote,inventory=remote,promotions=remote' });
  const seen = record(w);
  const { r, body } = await gql(w, `{ products(site: "${SITE}", skus: ["1000001", "1000002"]) { ${FIELDS} } }`);
  t.equal(body.errors, undefined);
  t.equal(r.headers['x-strangler-route'], 'pricing=legacy, inventory=legacy, promotions=legacy');
  for (const ctx of ['pricing', 'inventory', 'promotions']) t.equal(seen.get(ctx), undefined, `${ctx}: not called`);
});

t.test('remote subgraph failing: the fallback policy, or an error in our model', async (t) => {
  t.test('with fallback (default): served by legacy', async (t) => {
    const w = await startWorld(t, { pricing: 100 }, { GRAPHQL_SUBGRAPHS: 'pricing=remote' });
    await fetch(`${w.backends.pricing.url}/__faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ errorRate: 1 }) });
    const { r, body } = await gql(w, `{ products(site: "${SITE}", skus: ["1000001", "1000002"]) { sku price { amount } } }`);
    t.equal(body.errors, undefined);
    t.match(body.data, { products: [{ price: { amount: Number } }, { price: { amount: Number } }] });
    t.equal(r.headers['x-strangler-route'], 'pricing=legacy(fallback)');
    // counted like a REST fallback: a dashboard of gateway_fallbacks_total sees GraphQL traffic too
    const metrics = (await w.app.inject({ url: '/metrics' })).body;
    t.match(metrics, /^gateway_fallbacks_total\{context="pricing",reason="GW_ERR_UPSTREAM_FAILED"\} 1$/m, 'one fallback, by context and reason');
  });
  t.test('without fallback: partial data and GW_ERR_UPSTREAM_FAILED', async (t) => {
    const w = await startWorld(t, { pricing: 100 }, { FALLBACK_CONTEXTS: '', GRAPHQL_SUBGRAPHS: 'pricing=remote' });
    await fetch(`${w.backends.pricing.url}/__faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ errorRate: 1 }) });
    const { body } = await gql(w, `{ products(site: "${SITE}", skus: ["1000001", "1000002"]) { sku name price { amount } } }`);
    t.match(body.data, { products: [{ name: String, price: null }, { name: String, price: null }] });
    t.match(body.errors, [{ extensions: { code: 'GW_ERR_UPSTREAM_FAILED', context: 'pricing', backend: 'new' } }]);
  });
  t.test('a drifted subgraph answer fails the SDL check: GW_ERR_UPSTREAM_INVALID_PAYLOAD', async (t) => {
    const w = await startWorld(t, { inventory: 100 }, { FALLBACK_CONTEXTS: '', GRAPHQL_SUBGRAPHS: 'inventory=remote' });
    await fetch(`${w.backends.inventory.url}/__faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ driftRate: 1 }) });
    for (let i = 0; i < 3; i++) {
      const { body } = await gql(w, `{ products(site: "${SITE}", skus: ["1000001", "1000002"]) { sku availability { status quantity } } }`);
      t.match(body.errors, [{ extensions: { code: 'GW_ERR_UPSTREAM_INVALID_PAYLOAD', context: 'inventory', backend: 'new' } }], `drift ${i + 1}: detected`);
      const products = body.data?.products as { availability: { quantity: unknown } | null }[];
      t.ok(products.every((p) => p.availability === null || typeof p.availability.quantity === 'number'), `drift ${i + 1}: nothing mistyped reaches the client`);
    }
  });
  t.end();
});

t.test('an extra subgraph a new service exposes is composed by configuration', async (t) => {
  // a reviews service: a new bounded context that only exists as a subgraph
  const reviews = Fastify({ logger: false });
  await reviews.register(mercuriusFederationPlugin, {
    schema: `
      type ReviewSummary { rating: Float! count: Int! }
      extend type Product @key(fields: "sku") {
        sku: ID! @external
        site: String! @external
        reviews: ReviewSummary @requires(fields: "site")
      }
    `,
    loaders: {
      Product: {
        reviews: async (queries: { obj: { sku: string } }[]) => queries.map(({ obj }) => ({ rating: 4 + (Number(obj.sku) % 10) / 10, count: Number(obj.sku) % 97 })),
      },
    },
  });
  await reviews.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => reviews.close());
  let calls = 0;
  reviews.server.on('request', () => calls++);
  const { port } = reviews.server.address() as { port: number };
  const w = await startWorld(t, { pricing: 100 }, { GRAPHQL_SUBGRAPHS: `reviews=http://127.0.0.1:${port}/graphql` });
  calls = 0;
  const { r, body } = await gql(w, `{ products(site: "${SITE}", skus: ["1000001", "1000002", "1000003"]) { sku name price { amount } reviews { rating count } } }`);
  t.equal(r.statusCode, 200);
  t.equal(body.errors, undefined);
  t.match(body.data, { products: [{ sku: '1000001', reviews: { rating: 4.1, count: 1000001 % 97 } }, { reviews: { rating: 4.2 } }, { reviews: { rating: 4.3 } }] });
  t.equal(calls, 1, 'one request to the extra subgraph for all products');
  // its client is built by the composition root like every upstream's: observed, with a breaker
  const metrics = (await w.app.inject({ url: '/metrics' })).body;
  t.match(metrics, /^gateway_upstream_call_duration_seconds_count\{upstream="reviews",[^}]*outcome="ok"\} [1-9]\d*$/m, 'its calls (schema at boot, the query) are counted under upstream="reviews"');
  t.match(metrics, /^gateway_upstream_breaker_state\{upstream="reviews"\} 0$/m, 'its breaker is exported, closed');

  await reviews.close();
  const down = await gql(w, `{ products(site: "${SITE}", skus: ["1000001"]) { sku name reviews { rating } } }`);
  t.match(down.body.data, { products: [{ name: String, reviews: null }] }, 'the extra subgraph down: the rest still answers');
  t.match(down.body.errors, [{ extensions: { code: 'GW_ERR_UPSTREAM_UNAVAILABLE', context: 'reviews' } }]);
});

t.test('gateway-hosted subgraphs can be exposed to loopback clients (another gateway, a benchmark)', async (t) => {
  const w = await startWorld(t, { inventory: 100 }, { GRAPHQL_EXPOSE_SUBGRAPHS: 'true' });
  const sdl = await w.app.inject({ method: 'POST', url: '/__subgraphs/catalog/graphql', payload: { query: '{ _service { sdl } }' } });
  t.equal(sdl.json().data._service.sdl, SUBGRAPH_SDL.catalog);
  const entities = await w.app.inject({
    method: 'POST',
    url: '/__subgraphs/inventory/graphql',
    payload: { query: 'query E($r: [_Any!]!) { _entities(representations: $r) { ... on Product { availability { status } } } }', variables: { r: [{ __typename: 'Product', sku: '1000001', site: SITE }] } },
  });
  t.match(entities.json(), { data: { _entities: [{ availability: { status: String } }] } });
  t.equal(entities.headers['x-strangler-route'], 'inventory=new', 'routed like any request');
  const remote = await w.app.inject({ method: 'POST', url: '/__subgraphs/catalog/graphql', remoteAddress: '10.0.0.7', payload: { query: '{ _service { sdl } }' } });
  t.equal(remote.statusCode, 404, 'not for other hosts');
});

t.test('not exposed unless configured', async (t) => {
  const w = await startWorld(t);
  const r = await w.app.inject({ method: 'POST', url: '/__subgraphs/catalog/graphql', payload: { query: '{ _service { sdl } }' } });
  t.equal(r.statusCode, 404);
});

t.test('GRAPHQL_* configuration is validated at boot with the rest of the configuration, every problem at once', async (t) => {
  t.throws(
    () => loadConfig({ LOG_LEVEL: 'silent', PORT: 'x', GRAPHQL_SUBGRAPHS: 'pricing=elsewhere, catalog=remote, reviews=ftp://x, Bad=http://x', GRAPHQL_MAX_DEPTH: '0' }),
    {
      name: 'ConfigError',
      problems: [/PORT/, /GRAPHQL_MAX_DEPTH/, /pricing=elsewhere.*"local" or "remote"/, /catalog=remote.*owned by legacy/, /reviews=ftp.*http\(s\) URL/, /Bad=http.*lowercase/],
    },
  );
});
