/**
 * The pure parts of observability: W3C traceparent parsing, URL redaction for logs, the OTLP
 * endpoint variables, and the metric families' exposition.
 */
import t from 'tap';
import { Registry } from 'prom-client';
import { formatTraceparent, parseTraceparent } from '../../src/observability/tracing.js';
import { redactUrl } from '../../src/observability/logger.js';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { HistogramFamily, ScalarFamily } from '../../src/observability/families.js';

const TID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SID = '00f067aa0ba902b7';

t.test('traceparent (W3C Trace Context §3.2)', async (t) => {
  t.same(parseTraceparent(`00-${TID}-${SID}-01`), { traceId: TID, spanId: SID, sampled: true, random: false });
  t.same(parseTraceparent(`00-${TID}-${SID}-00`), { traceId: TID, spanId: SID, sampled: false, random: false });
  t.same(parseTraceparent(`00-${TID}-${SID}-03`), { traceId: TID, spanId: SID, sampled: true, random: true }, 'level 2: bit 1 is random');
  t.same(parseTraceparent(`00-${TID}-${SID}-fe`), { traceId: TID, spanId: SID, sampled: false, random: true }, 'undefined flag bits ignored');
  t.same(parseTraceparent(`01-${TID}-${SID}-01-what-comes-next`)?.traceId, TID, 'a later version may append fields');
  for (const bad of [
    undefined,
    '',
    [`00-${TID}-${SID}-01`, `00-${TID}-${SID}-01`],
    `ff-${TID}-${SID}-01`,
    `00-${TID}-${SID}-01-x`,
    `00-${TID.toUpperCase()}-${SID}-01`,
    `00-${'0'.repeat(32)}-${SID}-01`,
    `00-${TID}-${'0'.repeat(16)}-01`,
    `00-${TID.slice(1)}-${SID}-01`,
    `00_${TID}_${SID}_01`,
  ]) {
    t.equal(parseTraceparent(bad), undefined, `rejected: ${JSON.stringify(bad)}`);
  }
  t.equal(formatTraceparent(TID, SID, true), `00-${TID}-${SID}-01`);
  t.equal(formatTraceparent(TID, SID, false, true), `00-${TID}-${SID}-02`);
  t.equal(formatTraceparent(TID, SID, true, true), `00-${TID}-${SID}-03`);
});

t.test('credentials in a logged URL are redacted, nothing else', async (t) => {
  t.equal(redactUrl('/occ/v2/x/carts?access_token=abc&fields=FULL'), '/occ/v2/x/carts?access_token=[redacted]&fields=FULL');
  t.equal(redactUrl('/a?fields=FULL&refresh_token=r&client_secret=s'), '/a?fields=FULL&refresh_token=[redacted]&client_secret=[redacted]');
  t.equal(redactUrl('/a?code=1000001&qty=2'), '/a?code=1000001&qty=2', 'an OCC product code is not a secret');
  t.equal(redactUrl('/no/query/token=x'), '/no/query/token=x');
});

t.test('OTLP endpoint variables follow the exporter spec', async (t) => {
  t.same(loadConfig({}).otel, { tracesUrl: undefined, serviceName: 'strangler-gateway' }, 'unset: nothing exported');
  t.equal(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }).otel.tracesUrl, 'http://collector:4318/v1/traces', 'base URL + v1/traces');
  t.equal(
    loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://traces.example/otlp' }).otel.tracesUrl,
    'https://traces.example/otlp',
    'the signal-specific URL is used as is',
  );
  t.equal(loadConfig({ OTEL_SERVICE_NAME: 'edge-gw' }).otel.serviceName, 'edge-gw');
  t.throws(() => loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }), ConfigError, 'not a URL: rejected at boot');
});

t.test('metric families expose what prom-client would', async (t) => {
  const registry = new Registry();
  const c = new ScalarFamily('demo_requests_total', 'Demo requests', ['route', 'status']).register(registry);
  const h = new HistogramFamily('demo_duration_seconds', 'Demo latency', ['route'], [0.1, 1]).register(registry);
  c.child('/a/:id', '200').inc();
  c.child('/a/:id', '200').inc(2);
  t.equal(c.child('/a/:id', '200'), c.child('/a/:id', '200'), 'one series per label set, kept by the caller');
  const s = h.child('/a/"quoted"');
  for (const v of [0.05, 0.1, 0.5, 3]) s.observe(v);
  t.throws(() => c.child('/a'), /expected 2 label values/);
  const text = await registry.metrics();
  t.match(text, '# TYPE demo_requests_total counter');
  t.match(text, 'demo_requests_total{route="/a/:id",status="200"} 3');
  t.match(text, '# TYPE demo_duration_seconds histogram');
  t.match(text, 'demo_duration_seconds_bucket{route="/a/\\"quoted\\"",le="0.1"} 2', 'le is inclusive; label values escaped');
  t.match(text, 'demo_duration_seconds_bucket{route="/a/\\"quoted\\"",le="1"} 3');
  t.match(text, 'demo_duration_seconds_bucket{route="/a/\\"quoted\\"",le="+Inf"} 4');
  t.match(text, 'demo_duration_seconds_sum{route="/a/\\"quoted\\""} 3.65');
  t.match(text, 'demo_duration_seconds_count{route="/a/\\"quoted\\""} 4');
});

t.test('across cluster workers, state gauges aggregate as max (stale on any worker is 1, not the worker count)', async (t) => {
  const { GatewayMetrics } = await import('../../src/observability/metrics.js');
  const { AggregatorRegistry } = await import('prom-client');
  const workers = [new GatewayMetrics(), new GatewayMetrics(), new GatewayMetrics()];
  let staleOn = new Set([0, 1]);
  workers.forEach((m, i) => m.watchFlags(() => ({ source: 'unleash', stale: staleOn.has(i) })));
  workers[0]!.httpRequests.child('GET', '/x', '200').inc(2);
  workers[1]!.httpRequests.child('GET', '/x', '200').inc(3);
  workers[2]!.breakerState.child('legacy').set(2);
  // what the primary does (src/observability/cluster-metrics.ts): collect every worker's registry, then aggregate
  const aggregate = async () => {
    const json = await Promise.all(workers.map((m) => m.registry.getMetricsAsJSON()));
    return AggregatorRegistry.aggregate(json).metrics();
  };
  let text = await aggregate();
  t.match(text, /^gateway_flags_stale\{source="unleash"\} 1$/m, 'two stale workers: 1');
  t.match(text, /^gateway_upstream_breaker_state\{upstream="legacy"\} 2$/m, 'the worst breaker');
  t.match(text, /^gateway_http_requests_total\{method="GET",route="\/x",status="200"\} 5$/m, 'counters add up');
  // read at collection, not at the last scrape a worker happened to serve
  staleOn = new Set();
  text = await aggregate();
  t.match(text, /^gateway_flags_stale\{source="unleash"\} 0$/m, 'recovered everywhere: 0');
});
