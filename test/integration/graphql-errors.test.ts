/**
 * What a GraphQL client sees when an upstream fails or its request is abusive: partial data and
 * errors carrying the gateway's stable codes (never an upstream body or a stack trace), the REST
 * fallback policy applied the same way, and a clear 400 for queries over the limits.
 */
import t from 'tap';
import type { LightMyRequestResponse } from 'fastify';
import { startWorld, type World } from '../helpers/world.js';

const SITE = 'electronics-spa';
const STACK = /at .*\.(ts|js):\d+|node_modules|Error:/;

interface GqlError {
  message: string;
  path?: unknown[];
  extensions: { code: string; context?: string; backend?: string; limit?: string };
}
interface GqlBody {
  data?: Record<string, unknown> | null;
  errors?: GqlError[];
  extensions?: { route?: Record<string, string> };
}

async function gql(w: World, payload: unknown, headers: Record<string, string> = {}): Promise<{ r: LightMyRequestResponse; body: GqlBody }> {
  const r = await w.app.inject({ method: 'POST', url: '/graphql', headers, payload: payload as object });
  return { r, body: r.json() as GqlBody };
}

async function faults(url: string, body: object | null): Promise<void> {
  await fetch(`${url}/__faults`, body ? { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : { method: 'DELETE' });
}

const productsQuery = (skus: string[]) => ({
  query: `{ products(site: "${SITE}", skus: [${skus.map((s) => `"${s}"`).join(',')}]) { sku name price { amount } availability { status } promotions { code } } }`,
});

for (const [ctx, field] of [
  ['pricing', 'price'],
  ['inventory', 'availability'],
  ['promotions', 'promotions'],
] as const) {
  t.test(`${ctx} (new) fails: the rest of the graph still answers`, async (t) => {
    const w = await startWorld(t, { [ctx]: 100 }, { FALLBACK_CONTEXTS: '' });
    await faults(w.backends[ctx].url, { errorRate: 1 });
    const { r, body } = await gql(w, productsQuery(['1000001', '1000002', '1000003']));
    t.equal(r.statusCode, 200, 'execution ran: partial data is a 200');
    const products = body.data?.products as Record<string, unknown>[];
    t.equal(products.length, 3);
    for (const p of products) {
      t.type(p.name, 'string', 'catalog data present');
      t.equal(p[field], null, `${field} is null`);
    }
    t.equal(body.errors?.length, 1, 'one error for one cause, not one per product');
    t.match(body.errors?.[0]?.path, ['products', 0, field], 'at the path of a field it nulled');
    t.match(body.errors?.[0], { extensions: { code: 'GW_ERR_UPSTREAM_FAILED', context: ctx, backend: 'new' } });
    t.notMatch(r.body, STACK, 'no stack trace, no upstream body');
    t.notMatch(r.body, new RegExp(`${ctx.toUpperCase()}_INTERNAL_ERROR`), 'the upstream problem body is not passed on');
    t.match(r.headers['x-strangler-route'], new RegExp(`${ctx}=new`), 'the failing arm is reported');
  });
}

t.test('with the fallback policy (the default), a failing new service is served by legacy, and says so', async (t) => {
  const w = await startWorld(t, { pricing: 100 });
  await faults(w.backends.pricing.url, { errorRate: 1 });
  const { r, body } = await gql(w, productsQuery(['1000001']));
  t.equal(body.errors, undefined);
  t.match(body.data, { products: [{ price: { amount: Number } }] }, 'price from legacy');
  t.equal(r.headers['x-strangler-route'], 'pricing=legacy(fallback), inventory=legacy, promotions=legacy');
  t.equal(body.extensions?.route?.pricing, 'legacy(fallback)');
});

t.test('a drifted payload is GW_ERR_UPSTREAM_INVALID_PAYLOAD naming context and backend', async (t) => {
  const w = await startWorld(t, { inventory: 100 }, { FALLBACK_CONTEXTS: '' });
  await faults(w.backends.inventory.url, { driftRate: 1 });
  const { body } = await gql(w, productsQuery(['1000001', '1000002']));
  t.match(body.data, { products: [{ name: String, availability: null }, { name: String, availability: null }] });
  t.match(body.errors?.[0], { extensions: { code: 'GW_ERR_UPSTREAM_INVALID_PAYLOAD', context: 'inventory', backend: 'new' } });
});

t.test('a slow upstream is GW_ERR_UPSTREAM_TIMEOUT', async (t) => {
  const w = await startWorld(t, { pricing: 100 }, { UPSTREAM_TIMEOUT_MS: '300', FALLBACK_CONTEXTS: '' });
  await faults(w.backends.pricing.url, { latencyMs: 1500 });
  const started = Date.now();
  const { body } = await gql(w, productsQuery(['1000001']));
  t.ok(Date.now() - started < 1400, 'answered before the upstream would have');
  t.match(body.data, { products: [{ name: String, price: null }] });
  t.match(body.errors?.[0], { extensions: { code: 'GW_ERR_UPSTREAM_TIMEOUT', context: 'pricing', backend: 'new' } });
});

t.test('the monolith down: no catalog, so no products, with the catalog named', async (t) => {
  const w = await startWorld(t);
  await gql(w, productsQuery(['1000001'])); // the site list is cached from here on
  await faults(w.backends.legacy.url, { errorRate: 1 });
  const { r, body } = await gql(w, productsQuery(['1000001']));
  t.equal(r.statusCode, 200);
  t.equal(body.data, null, 'products is non-null, so the whole result is null');
  t.match(body.errors?.[0], { path: ['products'], extensions: { code: 'GW_ERR_UPSTREAM_FAILED', context: 'catalog', backend: 'legacy' } });
  t.notMatch(r.body, STACK);
});

t.test('bad arguments are field errors with GW_ERR codes', async (t) => {
  const w = await startWorld(t);
  const cases: [string, string, string][] = [
    ['unknown site', `{ product(site: "nowhere", sku: "1000001") { sku } }`, 'GW_ERR_SITE_NOT_FOUND'],
    ['malformed SKU', `{ product(site: "${SITE}", sku: "<script>") { sku } }`, 'GW_ERR_REQUEST_INVALID'],
    ['invalid cart', `{ evaluateCart(site: "${SITE}", cart: { entries: [{ sku: "1000001", quantity: 0 }] }) { total { amount } } }`, 'GW_ERR_REQUEST_INVALID'],
    ['unknown product in a cart', `{ evaluateCart(site: "${SITE}", cart: { entries: [{ sku: "1999999", quantity: 1 }] }) { total { amount } } }`, 'GW_ERR_PRODUCT_NOT_FOUND'],
  ];
  for (const [name, query, code] of cases) {
    const { r, body } = await gql(w, { query });
    t.equal(r.statusCode, 200, `${name}: execution result`);
    t.equal(body.errors?.[0]?.extensions.code, code, `${name}: ${code}`);
    t.type(body.errors?.[0]?.message, 'string');
    t.notMatch(r.body, STACK, `${name}: no stack`);
  }
});

t.test('documents that are not valid GraphQL', async (t) => {
  const w = await startWorld(t);
  for (const [name, query] of [
    ['syntax error', '{ products(site: '],
    ['unknown field', '{ nope }'],
  ]) {
    const legacyClient = await gql(w, { query });
    t.equal(legacyClient.r.statusCode, 200, `${name}: 200 for application/json (GraphQL over HTTP)`);
    t.equal(legacyClient.body.data, undefined, `${name}: no data entry`);
    t.equal(legacyClient.body.errors?.[0]?.extensions.code, 'GW_ERR_REQUEST_INVALID');
    const modernClient = await gql(w, { query }, { accept: 'application/graphql-response+json' });
    t.equal(modernClient.r.statusCode, 400, `${name}: 400 for application/graphql-response+json`);
    t.match(modernClient.r.headers['content-type'], /^application\/graphql-response\+json/);
  }
  const badVariables = await gql(w, { query: 'query Q($skus: [ID!]!) { products(site: "x", skus: $skus) { sku } }', variables: { skus: null } }, { accept: 'application/graphql-response+json' });
  t.equal(badVariables.r.statusCode, 400, 'variables that do not coerce');
  const notJson = await w.app.inject({ method: 'POST', url: '/graphql', headers: { 'content-type': 'application/json' }, payload: '{"query": ' });
  t.equal(notJson.statusCode, 400, 'a body that is not JSON');
  t.equal(notJson.json().errors[0].extensions.code, 'GW_ERR_REQUEST_MALFORMED_JSON');
});

t.test('limits: depth, aliases, complexity, list sizes and batch size are a 400 that says which', async (t) => {
  const w = await startWorld(t, {}, {});
  const skus = (n: number, from = 1000000) => Array.from({ length: n }, (_, i) => `"${from + i}"`).join(',');
  const nest = (depth: number) => `{ __schema { ${'types { fields { type { '.repeat(1)}${'ofType { '.repeat(depth)}name${' }'.repeat(depth)} } } } } }`;
  const cases: [string, unknown, string, RegExp][] = [
    ['too deep', { query: nest(12) }, 'depth', /query too deep: .*depth 17, the limit is 15/],
    ['too many aliases', { query: `{ ${Array.from({ length: 31 }, (_, i) => `a${i}: product(site: "${SITE}", sku: "1000001") { sku }`).join(' ')} }` }, 'aliases', /too many aliases: the document has 31, the limit is 30/],
    ['too complex', { query: `{ ${[0, 1, 2, 3].map((i) => `p${i}: products(site: "${SITE}", skus: [${skus(100, 1000000 + i * 100)}]) { sku name summary manufacturer categories { code name } price { amount currency formatted } availability { status quantity } promotions { code title } }`).join(' ')} }` }, 'complexity', /query too complex/],
    ['more than 100 SKUs', { query: `query P($s: [ID!]!) { products(site: "${SITE}", skus: $s) { sku } }`, variables: { s: Array.from({ length: 101 }, (_, i) => String(1000000 + i)) } }, 'list', /at most 100 SKUs/],
    ['batch too large', Array.from({ length: 11 }, () => ({ query: '{ __typename }' })), 'batch', /too many operations in one batch: 11, the limit is 10/],
  ];
  for (const [name, payload, limit, message] of cases) {
    const { r, body } = await gql(w, payload);
    t.equal(r.statusCode, 400, `${name}: 400`);
    t.equal(body.data, undefined, `${name}: nothing executed`);
    t.equal(body.errors?.[0]?.extensions.code, 'GW_ERR_REQUEST_INVALID', `${name}: code`);
    t.equal(body.errors?.[0]?.extensions.limit, limit, `${name}: names the limit`);
    t.match(body.errors?.[0]?.message, message, `${name}: says what was asked and what is allowed`);
  }
  const withinLimits = await gql(w, [{ query: `{ product(site: "${SITE}", sku: "1000001") { sku } }` }, { query: `{ product(site: "${SITE}", sku: "1000002") { sku } }` }]);
  t.equal(withinLimits.r.statusCode, 200, 'a batch within the limit runs');
  t.match(withinLimits.r.json(), [{ data: { product: { sku: '1000001' } } }, { data: { product: { sku: '1000002' } } }]);
  const introspection = await gql(w, { query: (await import('graphql')).getIntrospectionQuery() });
  t.equal(introspection.r.statusCode, 200, 'a full introspection (codegen, IDEs) is within the limits');
  t.ok(introspection.body.data?.__schema, 'schema introspected');
});

t.test('limits are configuration', async (t) => {
  const w = await startWorld(t, {}, { GRAPHQL_MAX_DEPTH: '3', GRAPHQL_MAX_BATCH: '1' });
  const deep = await gql(w, { query: `{ evaluateCart(site: "${SITE}", cart: { entries: [{ sku: "1000001", quantity: 1 }] }) { entries { unitPrice { amount } } } }` });
  t.equal(deep.r.statusCode, 400);
  t.match(deep.body.errors?.[0]?.message, /the limit is 3/);
  const batch = await w.app.inject({ method: 'POST', url: '/graphql', payload: [{ query: '{ __typename }' }] });
  t.equal(batch.statusCode, 400, 'batching off with GRAPHQL_MAX_BATCH=1');
});

t.test('queries compiled after a few runs (graphql-jit) answer and fail exactly like the first run', async (t) => {
  const w = await startWorld(t, { pricing: 100, inventory: 100 }, { FALLBACK_CONTEXTS: '' });
  const query = productsQuery(['1000001', '1000100', '1999999']);
  const first = await gql(w, query);
  for (let i = 0; i < 4; i++) t.same((await gql(w, query)).body.data, first.body.data, `run ${i + 2}: same data`);
  await faults(w.backends.pricing.url, { errorRate: 1 });
  const runs = [];
  for (let i = 0; i < 4; i++) runs.push((await gql(w, query)).body);
  for (const [i, body] of runs.entries()) {
    t.match(body.data, { products: [{ name: String, price: null, availability: { status: String } }, { price: null }, null] }, `failing run ${i + 1}: partial data`);
    t.same(body.errors, runs[0]?.errors, `failing run ${i + 1}: same errors`);
  }
  t.match(runs[0]?.errors, [{ path: ['products', 0, 'price'], extensions: { code: 'GW_ERR_UPSTREAM_FAILED', context: 'pricing' } }]);
});

/** n fragments, each spreading the next twice: 1.2 KB at n = 27, 2^n fields once expanded. */
function fragmentFanOut(n: number): string {
  let q = 'query Q { ...F0 }\n';
  for (let i = 0; i < n; i++) q += `fragment F${i} on Query { ...F${i + 1} ...F${i + 1} }\n`;
  return `${q}fragment F${n} on Query { __typename }\n`;
}

t.test('fragment fan-out is refused at once, and /healthz answers meanwhile', async (t) => {
  const w = await startWorld(t);
  await w.app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = w.app.server.address() as { port: number };
  const base = `http://127.0.0.1:${port}`;
  for (const n of [27, 40]) {
    const query = fragmentFanOut(n);
    const started = performance.now();
    const [gqlRes, health] = await Promise.all([
      fetch(`${base}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) }),
      // sent after the query, so it waits for whatever the query blocks
      new Promise((r) => setImmediate(r)).then(() => fetch(`${base}/healthz`)),
    ]);
    const ms = performance.now() - started;
    const body = (await gqlRes.json()) as GqlBody;
    t.equal(gqlRes.status, 400, `${n} fragments (${query.length} bytes): 400`);
    t.equal(body.errors?.[0]?.extensions.limit, 'complexity', `${n} fragments: the complexity limit`);
    t.equal(health.status, 200, `${n} fragments: /healthz answers`);
    t.ok(ms < 1000, `${n} fragments: both answered in ${ms.toFixed(0)} ms`);
    if (ms > 5000) return; // exponential: 40 fragments would block for days
  }
});

t.test('GET naming an operation the document does not have is refused as over POST', async (t) => {
  const w = await startWorld(t);
  const query = 'query A { __typename }';
  for (const accept of ['application/json', 'application/graphql-response+json']) {
    const post = await w.app.inject({ method: 'POST', url: '/graphql', headers: { accept }, payload: { query, operationName: 'B' } });
    for (let i = 0; i < 2; i++) {
      // the second time, mercurius has the document cached
      const get = await w.app.inject({ url: `/graphql?query=${encodeURIComponent(query)}&operationName=B`, headers: { accept } });
      t.equal(get.statusCode, post.statusCode, `${accept}: same status as POST (${post.statusCode})`);
      t.same(get.json().errors, post.json().errors, `${accept}: same error as POST`);
    }
  }
  const modern = await w.app.inject({ url: `/graphql?query=${encodeURIComponent(query)}&operationName=Query`, headers: { accept: 'application/graphql-response+json' } });
  t.equal(modern.statusCode, 400, 'a name that only appears in the document is not an operation either');
  t.equal(modern.json().errors[0].extensions.code, 'GW_ERR_REQUEST_INVALID');
  const named = await w.app.inject({ url: `/graphql?query=${encodeURIComponent(`${query} query B { __typename }`)}&operationName=B` });
  t.same(named.json().data, { __typename: 'Query' }, 'an operation that is there runs');
});

t.test('a document over the token limit is a 400 naming the limit, whatever the media type', async (t) => {
  const w = await startWorld(t);
  const query = `{ ${Array.from({ length: 3100 }, () => '__typename').join(' ')} }`;
  for (const accept of ['application/json', 'application/graphql-response+json', '*/*']) {
    const { r, body } = await gql(w, { query }, { accept });
    t.equal(r.statusCode, 400, `${accept}: 400`);
    t.equal(body.errors?.[0]?.extensions.code, 'GW_ERR_REQUEST_INVALID');
    t.equal(body.errors?.[0]?.extensions.limit, 'tokens', `${accept}: names the limit`);
    t.match(body.errors?.[0]?.message, /the limit is 3000/);
  }
});
