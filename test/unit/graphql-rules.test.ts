/**
 * The GraphQL surface's pure rules: abuse limits (depth, aliases, complexity, list sizes), the
 * site a request addresses, media type negotiation, and the GRAPHQL_* configuration.
 */
import t from 'tap';
import { getIntrospectionQuery, getOperationAST, parse } from 'graphql';
import { checkDocument, checkOperation, rootSites } from '../../src/graphql/limits.js';
import { prefersGraphqlResponse, responseContentType } from '../../src/graphql/http.js';
import { MAX_LIST_SIZE, type GraphqlLimits } from '../../src/config/graphql.js';
import { LimitError } from '../../src/graphql/errors.js';
import { ConfigError, loadConfig } from '../../src/config/load.js';

/** GRAPHQL_* are read by the one config loader, into `config.graphql`. */
const loadGraphqlConfig = (env: NodeJS.ProcessEnv) => loadConfig(env).graphql;

const LIMITS: GraphqlLimits = { depth: 15, aliases: 30, complexity: 5000, batch: 10, tokens: 3000, listSize: MAX_LIST_SIZE };

function limitOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return err instanceof LimitError ? err.limit : `not a limit: ${String(err)}`;
  }
}

function complexity(query: string, variables?: Record<string, unknown>, limits = LIMITS): number {
  const doc = parse(query);
  return checkOperation(getOperationAST(doc) as NonNullable<ReturnType<typeof getOperationAST>>, doc, variables, limits);
}

t.test('depth: fields nest, fragments do not add a level, cycles are refused', async (t) => {
  const shallow = parse('{ products(site: "s", skus: ["1"]) { price { amount } } }');
  t.equal(limitOf(() => checkDocument(shallow, { depth: 3, aliases: 0 })), undefined, 'depth 3 within 3');
  t.equal(limitOf(() => checkDocument(shallow, { depth: 2, aliases: 0 })), 'depth');
  const viaFragment = parse('query Q { products(site: "s", skus: ["1"]) { ...P } } fragment P on Product { price { amount } }');
  t.equal(limitOf(() => checkDocument(viaFragment, { depth: 3, aliases: 0 })), undefined, 'a spread is not a level');
  const cycle = parse('query Q { product(site: "s", sku: "1") { ...A } } fragment A on Product { ...B } fragment B on Product { ...A }');
  t.equal(limitOf(() => checkDocument(cycle, { depth: 15, aliases: 30 })), 'depth', 'spreading fragments forever is infinitely deep');
  t.equal(limitOf(() => checkDocument(parse(getIntrospectionQuery()), LIMITS)), undefined, 'a full introspection fits the default');
});

/** n fragments, each spreading the next twice: 1.2 KB at n = 27, 2^n fields once expanded. */
function fragmentFanOut(n: number, leaf = '__typename'): string {
  let q = 'query Q { ...F0 }\n';
  for (let i = 0; i < n; i++) q += `fragment F${i} on Query { ...F${i + 1} ...F${i + 1} }\n`;
  return `${q}fragment F${n} on Query { ${leaf} }\n`;
}

t.test('fragment fan-out: every check is linear in the document, and it is refused before validation', async (t) => {
  for (const n of [27, 40]) {
    const doc = parse(fragmentFanOut(n));
    const started = performance.now();
    t.equal(limitOf(() => checkDocument(doc, LIMITS)), 'complexity', `${n} fragments: too complex, from the document alone`);
    const op = getOperationAST(doc) as NonNullable<ReturnType<typeof getOperationAST>>;
    t.equal(limitOf(() => checkOperation(op, doc, undefined, LIMITS)), 'complexity', `${n} fragments: too complex for the operation`);
    t.equal(limitOf(() => rootSites(op, doc, undefined)), undefined);
    const ms = performance.now() - started;
    t.ok(ms < 250, `${n} fragments checked in ${ms.toFixed(1)} ms`);
    if (ms > 1000) return; // exponential: the next size would block for hours
  }
  // depth is measured once per fragment, and still right
  const deep = parse(`query Q { ...F0 } ${Array.from({ length: 30 }, (_, i) => `fragment F${i} on Query { ...F${i + 1} ...F${i + 1} }`).join(' ')} fragment F30 on Query { product(site: "s", sku: "1") { price { amount } } }`);
  t.equal(limitOf(() => checkDocument(deep, { depth: 2, aliases: 0 })), 'depth', 'depth through 30 fanned-out fragments');
  t.equal(limitOf(() => checkDocument(deep, { depth: 3, aliases: 0 })), undefined, 'depth 3 within 3');
  t.equal(complexity(fragmentFanOut(8)), 256, 'a fragment spread twice counts twice');
  t.equal(complexity('query Q($s: [ID!]!) { ...A } fragment A on Query { products(site: "s", skus: $s) { ...B } } fragment B on Product { sku ...C ...C } fragment C on Product { name }', { s: ['1', '2'] }), 2 + 2 * 3);
});

t.test('aliases are counted across the document, fragments included', async (t) => {
  const doc = parse('query Q { a: product(site: "s", sku: "1") { ...F } b: product(site: "s", sku: "2") { sku } } fragment F on Product { x: sku y: name }');
  t.equal(limitOf(() => checkDocument(doc, { depth: 15, aliases: 4 })), undefined);
  t.equal(limitOf(() => checkDocument(doc, { depth: 15, aliases: 3 })), 'aliases');
});

t.test('complexity: lists count by the size the request fixes', async (t) => {
  t.equal(complexity('{ product(site: "s", sku: "1") { sku name } }'), 3);
  t.equal(complexity('{ products(site: "s", skus: ["1", "2", "3"]) { sku name } }'), 3 + 3 * 2, 'literal list');
  t.equal(complexity('query Q($s: [ID!]!) { products(site: "s", skus: $s) { sku price { amount } } }', { s: ['1', '2'] }), 2 + 2 * 3, 'list in a variable');
  t.equal(complexity('{ searchProducts(site: "s", pageSize: 10) { products { sku } } }'), 10 + 10 * 2, 'pageSize');
  t.equal(complexity('{ evaluateCart(site: "s", cart: { entries: [{ sku: "1", quantity: 1 }] }) { total { amount } } }'), 2 + 2 * 2, 'cart entries, gifts allowed for');
  t.equal(complexity('query Q { products(site: "s", skus: ["1", "2"]) { ...F } } fragment F on Product { sku name }'), 2 + 2 * 2, 'fragments counted where spread');
  const hundred = Array.from({ length: 100 }, (_, i) => `"${i}"`).join(',');
  t.equal(limitOf(() => complexity(`{ a: products(site: "s", skus: [${hundred}]) { sku } b: products(site: "s", skus: [${hundred}]) { sku } }`, undefined, { ...LIMITS, complexity: 300 })), 'complexity');
  t.equal(limitOf(() => complexity('query Q($s: [ID!]!) { products(site: "s", skus: $s) { sku } }', { s: Array.from({ length: 101 }, String) })), 'list', '101 SKUs');
  t.equal(
    limitOf(() => complexity('query Q($c: CartInput!) { evaluateCart(site: "s", cart: $c) { total { amount } } }', { c: { entries: Array.from({ length: 101 }, () => ({ sku: '1', quantity: 1 })) } })),
    'list',
    '101 cart entries',
  );
});

t.test('the site a request addresses, literal or variable, through fragments', async (t) => {
  const doc = parse('query Q($site: String!) { a: product(site: $site, sku: "1") { sku } ... on Query { b: product(site: "apparel-uk", sku: "2") { sku } } ...R } fragment R on Query { evaluateCart(site: $site, cart: { entries: [] }) { currency } }');
  t.same(rootSites(getOperationAST(doc) as NonNullable<ReturnType<typeof getOperationAST>>, doc, { site: 'electronics-spa' }), ['electronics-spa', 'apparel-uk', 'electronics-spa']);
});

t.test('a query that is not a document is refused', async (t) => {
  t.throws(() => checkDocument(0 as never, LIMITS), { status: 400, code: 'GW_ERR_REQUEST_INVALID' });
});

t.test('media type negotiation (RFC 9110 q-values)', async (t) => {
  const cases: [string | undefined, boolean][] = [
    [undefined, false],
    ['*/*', false],
    ['application/json', false],
    ['application/graphql-response+json', true],
    ['application/graphql-response+json, application/json', true],
    ['application/json, application/graphql-response+json;q=0.9', false],
    ['application/graphql-response+json;q=0.9, application/json;q=0.8', true],
    ['application/graphql-response+json;q=0', false],
    ['text/html', false],
  ];
  for (const [accept, expected] of cases) t.equal(prefersGraphqlResponse(accept), expected, String(accept));
  t.equal(responseContentType('application/graphql-response+json'), 'application/graphql-response+json; charset=utf-8');
});

t.test('GRAPHQL_* configuration', async (t) => {
  const d = loadGraphqlConfig({});
  t.same(d.contexts, { pricing: 'local', inventory: 'local', promotions: 'local' }, 'every context local by default');
  t.same(d.extraSubgraphs, []);
  t.match(d.limits, { depth: 15, aliases: 30, complexity: 5000, batch: 10, listSize: 100 });
  t.equal(d.exposeSubgraphs, false);
  const c = loadGraphqlConfig({ GRAPHQL_SUBGRAPHS: ' pricing=remote ,reviews=http://127.0.0.1:9000/graphql,catalog=local', GRAPHQL_MAX_ALIASES: '5', GRAPHQL_EXPOSE_SUBGRAPHS: 'true' });
  t.same(c.contexts, { pricing: 'remote', inventory: 'local', promotions: 'local' });
  t.same(c.extraSubgraphs, [{ name: 'reviews', url: 'http://127.0.0.1:9000/graphql' }]);
  t.equal(c.limits.aliases, 5);
  t.equal(c.exposeSubgraphs, true);
  t.ok(Object.isFrozen(c) && Object.isFrozen(c.limits), 'frozen');
  const problems = (env: NodeJS.ProcessEnv) => {
    try {
      loadGraphqlConfig(env);
      return [];
    } catch (err) {
      t.ok(err instanceof ConfigError, 'a ConfigError');
      return (err as ConfigError).problems;
    }
  };
  t.match(problems({ GRAPHQL_SUBGRAPHS: 'reviews=x,reviews=http://a' }), [/http\(s\) URL/, /configured twice/], 'every problem, at once');
  t.match(problems({ GRAPHQL_MAX_BATCH: 'ten', GRAPHQL_EXPOSE_SUBGRAPHS: 'yes' }), [/GRAPHQL_MAX_BATCH/, /GRAPHQL_EXPOSE_SUBGRAPHS/]);
});
