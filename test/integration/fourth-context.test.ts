/**
 * A fourth bounded context, `tax`, added from a test fixture (test/fixtures/tax/) by one
 * registration and nothing else: it is configured from the environment (TAX_URL), routed by its
 * flag, flipped and killed through the admin API, counted in /metrics and served through
 * GraphQL, by whichever arm the flag picks. This is the worked example of
 * docs/adding-a-context.md: if a surface of the gateway stops deriving from the registry, this
 * test fails.
 */
import t from 'tap';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerContext } from '../../src/contexts/registry.js';
import { taxContext } from '../fixtures/tax/context.js';
import { startTaxService } from '../fixtures/tax/service.js';
import { startBackends, upstreamUrlsOf } from '../../backends/index.js';
import { buildGateway } from '../../src/app.js';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { flagFile } from '../helpers/flags.js';

// The registration: the one line a new context adds (before any gateway is built).
registerContext(taxContext);

const TOKEN = 'fourth-context-admin-token';
const AUTH = { authorization: `Bearer ${TOKEN}` };
const SITE = 'electronics-spa';
const QUERY = `query Tax($site: String!, $skus: [ID!]!) { products(site: $site, skus: $skus) { sku price { amount } taxRate { basisPoints } } }`;

t.test('config derives TAX_URL and TAX_TIMEOUT_MS from the registered descriptor', async (t) => {
  const config = loadConfig({ TAX_URL: 'http://tax.internal:9000/', TAX_TIMEOUT_MS: '750', FALLBACK_CONTEXTS: 'tax' });
  t.equal(config.upstreams[taxContext.name], 'http://tax.internal:9000');
  t.equal(config.timeouts[taxContext.name], 750);
  t.same([...config.fallbackContexts], ['tax']);
  t.throws(() => loadConfig({ TAX_TIMEOUT_MS: '0' }), ConfigError, 'its timeout is validated like the others');
  t.throws(() => loadConfig({ FALLBACK_CONTEXTS: 'tax,vat' }), /unknown context\(s\) vat \(known: pricing, inventory, promotions, tax\)/);
});

t.test('tax is routed, flipped through the admin API, counted in metrics and served through GraphQL', async (t) => {
  const backends = await startBackends();
  const tax = await startTaxService();
  const dir = await mkdtemp(join(tmpdir(), 'strangler-tax-'));
  await writeFile(join(dir, 'routes.json'), JSON.stringify(flagFile({})));
  const config = loadConfig({
    FLAGS_DIR: dir,
    LOG_LEVEL: 'silent',
    SHED_EVENT_LOOP_DELAY_MS: '0',
    ADMIN_TOKEN: TOKEN,
    AUDIT_LOG_PATH: join(dir, 'audit.jsonl'),
    TAX_URL: tax.url,
  });
  const app = await buildGateway({ config, upstreamUrls: upstreamUrlsOf(backends), logger: false });
  t.teardown(async () => {
    await app.close();
    await backends.close();
    await tax.close();
    await rm(dir, { recursive: true, force: true });
  });

  const graphql = async (skus: string[]) => {
    const r = await app.inject({ method: 'POST', url: '/graphql', payload: { query: QUERY, variables: { site: SITE, skus } } });
    t.equal(r.statusCode, 200, r.body);
    const body = r.json() as { data: { products: { sku: string; taxRate: { basisPoints: number } | null }[] }; errors?: unknown; extensions?: { route?: Record<string, string> } };
    t.notOk(body.errors, 'no errors');
    return { header: String(r.headers['x-strangler-route']), body };
  };
  const lastSide = () => tax.calls.at(-1)?.side;

  // 0 %: the legacy arm answers, and says so
  const before = await graphql(['1000001', '1000010']);
  t.same(
    before.body.data.products.map((p) => [p.sku, p.taxRate?.basisPoints]),
    [['1000001', 700], ['1000010', 0]],
    'rates from the legacy arm (the monolith tax table, percent strings mapped to basis points)',
  );
  t.match(before.header, /(^|, )tax=legacy($|,)/, 'x-strangler-route names tax and its arm');
  t.equal(before.body.extensions?.route?.tax, 'legacy', 'GraphQL extensions.route too');
  t.equal(lastSide(), 'legacy', 'the legacy endpoint was called');

  // the admin API knows it
  const routes = await app.inject({ url: '/admin/routes', headers: AUTH });
  t.equal(routes.statusCode, 200);
  const tr = (routes.json() as { routes: { context: string; flag: string; rollout: number }[] }).routes.find((r) => r.context === 'tax');
  t.match(tr, { context: 'tax', flag: 'route.tax' }, 'GET /admin/routes lists tax');

  // flip it
  const put = await app.inject({ method: 'PUT', url: '/admin/routes/tax', headers: AUTH, payload: { percent: 100, reason: 'tax service ready' } });
  t.equal(put.statusCode, 200, put.body);
  t.match(put.json(), { change: { context: 'tax', flag: 'route.tax', action: 'route', requested: { percent: 100 } }, effectiveWithinMs: 0 });

  const after = await graphql(['1000001', '1000010']);
  t.same(
    after.body.data.products.map((p) => [p.sku, p.taxRate?.basisPoints]),
    [['1000001', 700], ['1000010', 0]],
    'the same rates from the new service',
  );
  t.match(after.header, /(^|, )tax=new($|,)/, 'routed to the new arm');
  t.equal(after.body.extensions?.route?.tax, 'new');
  t.equal(lastSide(), 'new', 'the new endpoint was called');

  // counted in metrics, by context, flag and backend, and its upstream
  const metrics = (await app.inject({ url: '/metrics' })).body;
  t.match(metrics, /gateway_flag_decisions_total\{context="tax",flag="route\.tax",backend="new"\} [1-9]/);
  t.match(metrics, /gateway_flag_decisions_total\{context="tax",flag="route\.tax",backend="legacy"\} [1-9]/);
  t.match(metrics, /gateway_context_requests_total\{context="tax",backend="new",route="\/graphql",status="200"\} 1/);
  t.match(metrics, /gateway_context_requests_total\{context="tax",backend="legacy",route="\/graphql",status="200"\} 1/);
  t.match(metrics, /gateway_upstream_call_duration_seconds_count\{upstream="tax",context="tax",outcome="ok"\} [1-9]/);

  // kill: back to legacy at once
  const kill = await app.inject({ method: 'POST', url: '/admin/routes/tax/kill', headers: AUTH });
  t.equal(kill.statusCode, 200, kill.body);
  const killed = await graphql(['1000002']);
  t.match(killed.header, /(^|, )tax=legacy($|,)/);
  t.equal(lastSide(), 'legacy');

  // a context that is not registered is still a 404
  const unknown = await app.inject({ method: 'PUT', url: '/admin/routes/vat', headers: AUTH, payload: { percent: 1 } });
  t.equal(unknown.statusCode, 404);
  t.match(unknown.json(), { code: 'GW_ERR_ADMIN_CONTEXT_NOT_FOUND' });

  // the canonical REST product does not touch tax: the header names only what a response used
  const rest = await app.inject({ url: `/api/v1/sites/${SITE}/products/1000001` });
  t.equal(rest.statusCode, 200);
  t.notMatch(String(rest.headers['x-strangler-route']), /tax=/);
});

t.test('the list is final once a gateway is built; names are checked', async (t) => {
  t.throws(() => registerContext({ ...taxContext, name: taxContext.name }), /already registered|after a gateway was built/);
  const { checkedName } = await import('../../src/contexts/names.js');
  t.throws(() => checkedName('Tax'), /must match/);
  t.throws(() => checkedName('legacy'), /reserved/);
});
