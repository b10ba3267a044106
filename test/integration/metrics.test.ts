/**
 * /metrics after real traffic through the real embedded world: the families an operator
 * dashboards and alerts on, with the values the traffic must have produced, and the exposition
 * checked by Prometheus's own promtool.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { put, scrape, startObservedWorld, sum } from '../helpers/observability.js';

const SITE = 'electronics-spa';
const PRODUCT_ROUTE = '/api/v1/sites/:site/products/:sku';
const get = (url: string, headers: Record<string, string> = {}) => fetch(url, { headers });

t.test('requests, contexts, decisions, upstream calls and breakers after real requests', async (t) => {
  const w = await startObservedWorld(t);
  for (const sku of ['1000001', '1000002']) t.equal((await get(`${w.base}/api/v1/sites/${SITE}/products/${sku}`)).status, 200);
  t.equal((await get(`${w.base}/occ/v2/${SITE}/products/1000001`)).status, 200);
  t.equal((await get(`${w.base}/occ/v2/${SITE}/products/9999999`)).status, 404, 'unknown product: the gateway says so');
  t.equal((await get(`${w.base}/occ/v2/basesites`)).status, 200, 'passthrough');
  t.equal((await get(`${w.base}/occ/v2/${SITE}/users/anonymous/carts/nope`)).status, 404, 'unknown cart (the OCC cart read)');
  t.equal((await get(`${w.base}/occ/v2/${SITE}/users/current/carts`)).status, 401, "the monolith's own 401, passed through");
  t.equal((await get(`${w.base}/no/such/path/123`)).status, 404);

  const { samples: s, contentType } = await scrape(w.base);
  t.match(contentType, /^text\/plain; version=0\.0\.4/, 'Prometheus text format');

  const product = { method: 'GET', route: PRODUCT_ROUTE };
  t.equal(sum(s, 'gateway_http_requests_total', { ...product, status: '200' }), 2, 'both SKUs count under one route pattern');
  t.equal(sum(s, 'gateway_http_request_duration_seconds_count', product), 2);
  t.equal(sum(s, 'gateway_http_request_duration_seconds_bucket', { ...product, le: '+Inf' }), 2);
  t.ok(sum(s, 'gateway_http_request_duration_seconds_sum', product) > 0, 'latency observed');
  // label values only: a sample's value (a byte count, a timestamp) may well contain "1000002"
  const labelValues = s.flatMap((x) => Object.values(x.labels));
  t.notOk(labelValues.some((v) => v.includes('1000002') || v.includes('/no/such/path')), 'no raw URL in any label');
  t.equal(sum(s, 'gateway_http_requests_total', { route: 'unmatched', status: '404' }), 1, 'unmatched paths share one label value');
  t.equal(sum(s, 'gateway_http_requests_total', { route: '/occ/v2/*', status: '200' }), 1, 'the passthrough under its own pattern');

  for (const context of ['pricing', 'inventory', 'promotions']) {
    t.equal(sum(s, 'gateway_context_requests_total', { context, backend: 'legacy', route: PRODUCT_ROUTE, status: '200' }), 2, `${context} answered by legacy twice`);
    t.ok(sum(s, 'gateway_flag_decisions_total', { context, flag: `route.${context}`, backend: 'legacy' }) >= 3, `${context} decisions counted`);
    t.equal(sum(s, 'gateway_flag_decisions_total', { context, backend: 'new' }), 0, `${context}: no request went to new, and the series exists at 0`);
  }
  t.ok(s.some((x) => x.name === 'gateway_flag_decisions_total' && x.labels.backend === 'new'), 'decision series exist before any decision');

  t.ok(sum(s, 'gateway_upstream_call_duration_seconds_count', { upstream: 'legacy', context: 'catalog', outcome: 'ok' }) >= 3, 'catalog calls timed');
  t.equal(sum(s, 'gateway_upstream_call_duration_seconds_count', { upstream: 'legacy', context: 'passthrough', outcome: 'ok' }), 1);
  t.equal(sum(s, 'gateway_upstream_call_duration_seconds_count', { upstream: 'legacy', context: 'passthrough', outcome: '4xx' }), 1);
  t.equal(sum(s, 'gateway_upstream_errors_total'), 0, 'a 4xx answer is not an upstream error');
  for (const upstream of ['legacy', 'pricing', 'inventory', 'promotions']) t.equal(sum(s, 'gateway_upstream_breaker_state', { upstream }), 0, `${upstream} breaker closed`);

  t.equal(sum(s, 'gateway_occ_errors_total', { status: '404', code: 'GW_ERR_PRODUCT_NOT_FOUND' }), 1, 'OCC error with its gateway code');
  t.equal(sum(s, 'gateway_occ_errors_total', { status: '404', code: 'GW_ERR_CART_NOT_FOUND' }), 1);
  t.equal(sum(s, 'gateway_occ_errors_total', { status: '401', code: 'LEGACY' }), 1, "the monolith's error, passed through");
  t.equal(sum(s, 'gateway_cart_evaluations_failed_total'), 0, 'a cart that does not exist is not a failed evaluation');
  t.equal(sum(s, 'gateway_occ_errors_total', { code: 'GW_ERR_ROUTE_NOT_FOUND' }), 0, 'a path outside /occ is not an OCC error');
  t.ok(sum(s, 'process_cpu_user_seconds_total') > 0, 'process metrics served alongside');
  t.ok(s.some((x) => x.name === 'nodejs_eventloop_lag_seconds'), 'event-loop lag');
});

t.test('a failing new pricing service: fallbacks, failed price lookups, legacy_fallback answers, and the open breaker at 2', async (t) => {
  const w = await startObservedWorld(t, { rollouts: { pricing: 100 }, env: { BREAKER_VOLUME: '5', BREAKER_RESET_MS: '60000' } });
  await put(w.backends.pricing.url, { errorRate: 1 });
  const N = 8;
  for (let i = 0; i < N; i++) {
    const r = await get(`${w.base}/api/v1/sites/${SITE}/products/${1000100 + i}`);
    t.equal(r.status, 200, 'legacy answers instead');
  }
  const { samples: s } = await scrape(w.base);
  t.equal(sum(s, 'gateway_fallbacks_total', { context: 'pricing' }), N, 'every failed read fell back');
  t.ok(sum(s, 'gateway_fallbacks_total', { context: 'pricing', reason: 'GW_ERR_UPSTREAM_FAILED' }) >= 5, 'the 5xx answers, by reason code');
  t.ok(sum(s, 'gateway_fallbacks_total', { context: 'pricing', reason: 'GW_ERR_UPSTREAM_UNAVAILABLE' }) >= 1, 'then the open breaker');
  t.equal(sum(s, 'gateway_price_lookups_failed_total', { backend: 'new' }), N);
  t.equal(sum(s, 'gateway_context_requests_total', { context: 'pricing', backend: 'legacy_fallback', status: '200' }), N);
  t.equal(sum(s, 'gateway_flag_decisions_total', { context: 'pricing', backend: 'new' }), N, 'the flag chose new each time');
  t.equal(sum(s, 'gateway_upstream_breaker_state', { upstream: 'pricing' }), 2, 'breaker open: 2');
  t.equal(sum(s, 'gateway_upstream_breaker_transitions_total', { upstream: 'pricing', state: 'open' }), 1);
  t.ok(sum(s, 'gateway_upstream_errors_total', { upstream: 'pricing', context: 'pricing', outcome: '5xx' }) >= 5);
  t.ok(sum(s, 'gateway_upstream_errors_total', { upstream: 'pricing', context: 'pricing', outcome: 'breaker_open' }) >= 1);
  t.equal(sum(s, 'gateway_upstream_breaker_state', { upstream: 'legacy' }), 0, 'legacy unaffected');
});

t.test('failures that reach the client: cart evaluations, invalid payloads, timeouts', async (t) => {
  const w = await startObservedWorld(t, { rollouts: { promotions: 100, inventory: 100 }, env: { FALLBACK_CONTEXTS: 'none', INVENTORY_TIMEOUT_MS: '200' } });
  const evaluate = () =>
    fetch(`${w.base}/api/v1/sites/${SITE}/carts/evaluate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ entries: [{ sku: '1000001', quantity: 2 }] }),
    });
  t.equal((await evaluate()).status, 200);
  await put(w.backends.promotions.url, { errorRate: 1 });
  t.equal((await evaluate()).status, 502);
  await put(w.backends.promotions.url, { driftRate: 1 });
  const drifted = await evaluate();
  t.equal(drifted.status, 502);
  t.equal(((await drifted.json()) as { code: string }).code, 'GW_ERR_UPSTREAM_INVALID_PAYLOAD');
  await put(w.backends.promotions.url, {});
  await put(w.backends.inventory.url, { latencyMs: 1000 });
  t.equal((await get(`${w.base}/api/v1/sites/${SITE}/products/1000001`)).status, 504);

  const { samples: s } = await scrape(w.base);
  t.equal(sum(s, 'gateway_cart_evaluations_failed_total', { surface: 'api' }), 2, 'the successful evaluation is not counted');
  t.equal(sum(s, 'gateway_cart_evaluations_failed_total', { surface: 'api', code: 'GW_ERR_UPSTREAM_FAILED' }), 1);
  t.equal(sum(s, 'gateway_cart_evaluations_failed_total', { surface: 'api', code: 'GW_ERR_UPSTREAM_INVALID_PAYLOAD' }), 1);
  t.equal(sum(s, 'gateway_upstream_invalid_payloads_total', { context: 'promotions', backend: 'new' }), 1, 'drift in the new service is visible');
  t.ok(sum(s, 'gateway_upstream_errors_total', { upstream: 'inventory', context: 'inventory', outcome: 'timeout' }) >= 1, 'the slow inventory call timed out');
  t.ok(sum(s, 'gateway_upstream_call_duration_seconds_sum', { upstream: 'inventory', outcome: 'timeout' }) >= 0.2, 'and its latency is the time it was given');
  t.equal(sum(s, 'gateway_http_requests_total', { route: PRODUCT_ROUTE, status: '504' }), 1);
});

const promtool = spawnSync('promtool', ['--version']).error === undefined;
const promtoolSkip = promtool ? false : process.env.CI === 'true' ? false : 'promtool is not installed (apt-get install prometheus); CI=true makes this a failure';

t.test('promtool check metrics accepts the exposition', { skip: promtoolSkip }, async (t) => {
  if (!promtool) return t.fail('promtool is not installed and CI=true (CI installs the prometheus package)');
  const w = await startObservedWorld(t, { rollouts: { pricing: 100 } });
  await get(`${w.base}/api/v1/sites/${SITE}/products/1000001`);
  await get(`${w.base}/occ/v2/basesites`);
  await get(`${w.base}/nope`);
  const { text } = await scrape(w.base);
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  t.equal(r.status, 0, 'promtool check metrics exits 0');
  t.same(`${r.stdout}${r.stderr}`.split('\n').filter(Boolean), [], 'with no finding, prom-client\'s default metrics included');
});
