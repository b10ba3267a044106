/**
 * W3C trace context through the gateway, read where it lands: the traceparent each real backend
 * received. And OTLP export for real: a collector stand-in on loopback receives the spans.
 */
import t from 'tap';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startObservedWorld, type ObservedWorld, type Received } from '../helpers/observability.js';
import { parseTraceparent } from '../../src/observability/tracing.js';

const SITE = 'electronics-spa';
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CLIENT_PARENT = '00f067aa0ba902b7';
const INBOUND = `00-${TRACE_ID}-${CLIENT_PARENT}-01`;

/** What the backends received for one gateway request (by its x-request-id). */
function receivedFor(w: ObservedWorld, requestId: string): Received[] {
  return w.received.filter((r) => r.headers['x-request-id'] === requestId);
}

function traceparentOf(r: Received) {
  const tp = parseTraceparent(r.headers.traceparent);
  if (!tp) throw new Error(`${r.backend} ${r.url}: no valid traceparent (${String(r.headers.traceparent)})`);
  return tp;
}

t.test('an inbound traceparent is continued on every upstream call, each under a client span of the gateway', async (t) => {
  const w = await startObservedWorld(t, { rollouts: { pricing: 100, inventory: 100, promotions: 100 } });
  const r = await fetch(`${w.base}/api/v1/sites/${SITE}/products/1000001`, {
    headers: { traceparent: INBOUND, tracestate: 'vendor=opaque', 'x-request-id': 'trace-rest-1' },
  });
  t.equal(r.status, 200);
  t.equal(r.headers.get('x-request-id'), 'trace-rest-1', 'request id echoed');
  const calls = receivedFor(w, 'trace-rest-1');
  t.same(new Set(calls.map((c) => c.backend)), new Set(['legacy', 'pricing', 'inventory', 'promotions']), 'the request id reached every backend it called');
  const parents = new Set<string>();
  for (const c of calls) {
    const tp = traceparentOf(c);
    t.equal(tp.traceId, TRACE_ID, `${c.backend}: same trace`);
    t.not(tp.spanId, CLIENT_PARENT, `${c.backend}: the parent is the gateway's span, not the client's`);
    t.equal(tp.sampled, true, `${c.backend}: the client's sampled flag travels on`);
    t.equal(c.headers.tracestate, 'vendor=opaque', `${c.backend}: tracestate travels unchanged`);
    parents.add(tp.spanId);
  }
  t.equal(parents.size, calls.length, 'each call has a span of its own');

  // The legacy passthrough (the raw proxy) and an OCC cart write (the gateway's client).
  const proxied = await fetch(`${w.base}/occ/v2/basesites`, { headers: { traceparent: INBOUND, 'x-request-id': 'trace-proxy-1' } });
  t.equal(proxied.status, 200);
  const [p] = receivedFor(w, 'trace-proxy-1');
  t.ok(p, 'the proxied request reached legacy');
  t.equal(traceparentOf(p!).traceId, TRACE_ID, 'passthrough: same trace');
  t.not(traceparentOf(p!).spanId, CLIENT_PARENT, "passthrough: parent is the gateway's span");

  const created = await fetch(`${w.base}/occ/v2/${SITE}/users/anonymous/carts`, { method: 'POST', headers: { traceparent: INBOUND, 'x-request-id': 'trace-write-1' } });
  t.equal(created.status, 201);
  const [cw] = receivedFor(w, 'trace-write-1');
  t.equal(traceparentOf(cw!).traceId, TRACE_ID, 'cart write: same trace');
  t.not(traceparentOf(cw!).spanId, CLIENT_PARENT, "cart write: parent is the gateway's span");
});

t.test('without a valid inbound traceparent the gateway starts one trace per request, unsampled', async (t) => {
  const w = await startObservedWorld(t);
  await fetch(`${w.base}/api/v1/sites/${SITE}/products/1000001`, { headers: { 'x-request-id': 'fresh-1' } });
  await fetch(`${w.base}/api/v1/sites/${SITE}/products/1000002`, { headers: { 'x-request-id': 'fresh-2' } });
  const first = receivedFor(w, 'fresh-1').map(traceparentOf);
  const second = receivedFor(w, 'fresh-2').map(traceparentOf);
  t.ok(first.length >= 1 && second.length >= 1);
  t.equal(new Set(first.map((tp) => tp.traceId)).size, 1, "one trace for the request's calls");
  t.not(first[0]!.traceId, second[0]!.traceId, 'a new trace per request');
  t.notOk(first[0]!.sampled, 'not sampled: nothing records it without an exporter');

  const invalid = [
    `ff-${TRACE_ID}-${CLIENT_PARENT}-01`, // version ff is forbidden
    `00-${TRACE_ID.toUpperCase()}-${CLIENT_PARENT}-01`, // hex must be lowercase
    `00-${'0'.repeat(32)}-${CLIENT_PARENT}-01`, // all-zero trace id
    `00-${TRACE_ID}-${CLIENT_PARENT}-01-extra`, // version 00 has exactly four fields
  ];
  for (const [i, tp] of invalid.entries()) {
    await fetch(`${w.base}/api/v1/sites/${SITE}/products/1000001`, { headers: { traceparent: tp, tracestate: 'vendor=x', 'x-request-id': `bad-${i}` } });
    const [c] = receivedFor(w, `bad-${i}`);
    t.not(traceparentOf(c!).traceId, TRACE_ID, `rejected: ${tp}`);
    t.notOk(c!.headers.tracestate, 'and its tracestate is dropped with it (W3C §3.3)');
  }
  await fetch(`${w.base}/api/v1/sites/${SITE}/products/1000001`, { headers: { traceparent: `00-${TRACE_ID}-${CLIENT_PARENT}-00`, 'x-request-id': 'unsampled' } });
  const [u] = receivedFor(w, 'unsampled');
  t.equal(traceparentOf(u!).traceId, TRACE_ID);
  t.notOk(traceparentOf(u!).sampled, "the client's unsampled decision is kept");
});

t.test('tracestate is forwarded only when valid (W3C Trace Context level 2, §3.3)', async (t) => {
  const w = await startObservedWorld(t);
  const members = (n: number) => Array.from({ length: n }, (_, i) => `k${i}=v${i}`).join(',');
  const cases: [name: string, sent: string, forwarded: string | undefined][] = [
    ['32 members (the maximum)', members(32), members(32)],
    ['33 members', members(33), undefined],
    ['an empty header', '', undefined],
    ['only whitespace and commas', ' , ,', undefined],
    ['optional whitespace and empty members are dropped', ' a=1 ,, b=2\t', 'a=1,b=2'],
    ['multi-tenant keys and every allowed value character', 'tenant_1@sys-2=!"#+-./09:<>AZ[]^_`az{}~, x*y/z=v a', 'tenant_1@sys-2=!"#+-./09:<>AZ[]^_`az{}~,x*y/z=v a'],
    ['an uppercase key', 'Vendor=1', undefined],
    ['a key with a space', 'foo =1', undefined],
    ['a key starting with a digit (simple key)', '1vendor=1', undefined],
    ['a key of 257 characters', `${'k'.repeat(257)}=1`, undefined],
    ['a system id of 15 characters', `t@${'s'.repeat(15)}=1`, undefined],
    ['a value with "="', 'vendor=a=b', undefined],
    ['a value of 257 characters', `vendor=${'v'.repeat(257)}`, undefined],
    ['a member without "="', 'vendor', undefined],
    ['an empty value', 'vendor=', undefined],
  ];
  for (const [i, [name, sent, forwarded]] of cases.entries()) {
    const id = `ts-${i}`;
    const r = await fetch(`${w.base}/api/v1/sites/${SITE}/products/1000001`, { headers: { traceparent: INBOUND, tracestate: sent, 'x-request-id': id } });
    t.equal(r.status, 200, `${name}: answered`);
    const calls = receivedFor(w, id);
    t.ok(calls.length >= 1, `${name}: reached a backend`);
    for (const c of calls) {
      t.equal(traceparentOf(c).traceId, TRACE_ID, `${name}: the trace itself continues`);
      t.equal(c.headers.tracestate, forwarded, `${name}: ${forwarded === undefined ? 'not forwarded' : 'forwarded'} (${c.backend})`);
    }
  }
  // The passthrough proxy forwards the request's headers: the same rule applies there.
  await fetch(`${w.base}/occ/v2/basesites`, { headers: { traceparent: INBOUND, tracestate: members(33), 'x-request-id': 'ts-proxy-bad' } });
  t.equal(receivedFor(w, 'ts-proxy-bad')[0]?.headers.tracestate, undefined, 'passthrough: an invalid tracestate is not forwarded');
  await fetch(`${w.base}/occ/v2/basesites`, { headers: { traceparent: INBOUND, tracestate: 'a=1 , b=2', 'x-request-id': 'ts-proxy-ok' } });
  t.equal(receivedFor(w, 'ts-proxy-ok')[0]?.headers.tracestate, 'a=1,b=2', 'passthrough: a valid one is');
  // An OCC cart write (the gateway's own client): tracestate travels with its traceparent.
  const created = await fetch(`${w.base}/occ/v2/${SITE}/users/anonymous/carts`, { method: 'POST', headers: { traceparent: INBOUND, tracestate: 'a=1 , b=2', 'x-request-id': 'ts-write' } });
  t.equal(created.status, 201);
  t.equal(receivedFor(w, 'ts-write')[0]?.headers.tracestate, 'a=1,b=2', 'cart write: a valid tracestate travels on');
});

t.test("the random trace flag (level 2, bit 1) travels with the caller's trace", async (t) => {
  const w = await startObservedWorld(t, { rollouts: { pricing: 100 } });
  for (const flags of ['02', '03', '00', '01']) {
    const id = `random-${flags}`;
    await fetch(`${w.base}/api/v1/sites/${SITE}/products/1000001`, { headers: { traceparent: `00-${TRACE_ID}-${CLIENT_PARENT}-${flags}`, 'x-request-id': id } });
    const calls = receivedFor(w, id);
    t.ok(calls.length >= 2, 'legacy and pricing were called');
    for (const c of calls) t.match(c.headers.traceparent, new RegExp(`^00-${TRACE_ID}-[0-9a-f]{16}-${flags}$`), `flags ${flags} reach ${c.backend}`);
  }
  // Flags this version does not define are not passed on (W3C: set to zero).
  await fetch(`${w.base}/api/v1/sites/${SITE}/products/1000001`, { headers: { traceparent: `00-${TRACE_ID}-${CLIENT_PARENT}-ff`, 'x-request-id': 'random-ff' } });
  for (const c of receivedFor(w, 'random-ff')) t.match(c.headers.traceparent, /-03$/, `unknown flags are cleared (${c.backend})`);
  // A trace the gateway starts has ids from a random generator: it says so.
  await fetch(`${w.base}/api/v1/sites/${SITE}/products/1000001`, { headers: { 'x-request-id': 'random-own' } });
  for (const c of receivedFor(w, 'random-own')) t.match(c.headers.traceparent, /-02$/, `a new trace is random, not sampled (${c.backend})`);
});

interface OtlpAttribute {
  key: string;
  value: { stringValue?: string; intValue?: number | string; boolValue?: boolean };
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: OtlpAttribute[];
  status?: { code?: number };
}
interface OtlpExport {
  resourceSpans: { resource: { attributes: OtlpAttribute[] }; scopeSpans: { spans: OtlpSpan[] }[] }[];
}

function attrs(list: OtlpAttribute[]): Record<string, string | number | boolean | undefined> {
  const out: Record<string, string | number | boolean | undefined> = {};
  for (const a of list) out[a.key] = a.value.stringValue ?? (a.value.intValue !== undefined ? Number(a.value.intValue) : a.value.boolValue);
  return out;
}

const SPAN_KIND_SERVER = 2;
const SPAN_KIND_CLIENT = 3;

t.test('spans are exported over OTLP/HTTP to the configured endpoint, with the strangler attributes', async (t) => {
  const exports: { path: string; contentType: string | undefined; body: OtlpExport }[] = [];
  const collector = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      exports.push({ path: req.url ?? '', contentType: req.headers['content-type'], body: JSON.parse(body) as OtlpExport });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise((resolve) => collector.close(resolve)));
  const port = (collector.address() as AddressInfo).port;

  const w = await startObservedWorld(t, {
    rollouts: { pricing: 100, inventory: 100 },
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, OTEL_SERVICE_NAME: 'gateway-under-test' },
  });
  const r = await fetch(`${w.base}/api/v1/sites/${SITE}/products/1000001`, { headers: { traceparent: INBOUND, 'x-request-id': 'otlp-1' } });
  t.equal(r.status, 200);
  await w.app.telemetry.tracing.flush();

  t.ok(exports.length >= 1, 'the collector received an export');
  t.equal(exports[0]!.path, '/v1/traces', 'OTLP/HTTP traces path under the endpoint');
  t.match(exports[0]!.contentType, /application\/json/);
  const resources = exports.flatMap((e) => e.body.resourceSpans);
  t.equal(attrs(resources[0]!.resource.attributes)['service.name'], 'gateway-under-test');
  const spans = resources.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans)).filter((s) => s.traceId === TRACE_ID);

  const server = spans.find((s) => s.kind === SPAN_KIND_SERVER);
  t.ok(server, 'the inbound request has a SERVER span in the inbound trace');
  t.equal(server!.parentSpanId, CLIENT_PARENT, "its parent is the client's span");
  t.equal(server!.name, 'GET /api/v1/sites/:site/products/:sku');
  t.match(attrs(server!.attributes), {
    'http.request.method': 'GET',
    'http.route': '/api/v1/sites/:site/products/:sku',
    'http.response.status_code': 200,
    'strangler.route': 'pricing=new, inventory=new, promotions=legacy',
    'strangler.request_id': 'otlp-1',
  });

  const clients = spans.filter((s) => s.kind === SPAN_KIND_CLIENT);
  const calls = receivedFor(w, 'otlp-1');
  t.equal(calls.length, 3, 'catalog (legacy), pricing and inventory (new) were called');
  t.equal(clients.length, calls.length, 'a CLIENT span per upstream call');
  for (const c of clients) t.equal(c.parentSpanId, server!.spanId, `${c.name}: child of the server span`);
  const pricing = clients.find((c) => attrs(c.attributes)['strangler.context'] === 'pricing');
  t.match(attrs(pricing!.attributes), {
    'strangler.context': 'pricing',
    'strangler.backend': 'new',
    'strangler.flag': 'route.pricing',
    'strangler.upstream': 'pricing',
    'strangler.outcome': 'ok',
    'http.request.method': 'GET',
    'http.response.status_code': 200,
    'server.address': '127.0.0.1',
  });
  const inventory = clients.find((c) => attrs(c.attributes)['strangler.context'] === 'inventory');
  t.match(attrs(inventory!.attributes), { 'strangler.backend': 'new', 'strangler.flag': 'route.inventory', 'strangler.upstream': 'inventory' });
  const catalog = clients.find((c) => attrs(c.attributes)['strangler.context'] === 'catalog');
  t.match(attrs(catalog!.attributes), { 'strangler.backend': 'legacy', 'strangler.upstream': 'legacy' });
  t.notOk(attrs(catalog!.attributes)['strangler.flag'], 'the catalog is not migrated: no flag');

  // What the backends saw is what the spans say: each one's parent is its CLIENT span.
  const clientIds = new Set(clients.map((c) => c.spanId));
  for (const c of calls) t.ok(clientIds.has(traceparentOf(c).spanId), `${c.backend} ${c.url}: parent is an exported CLIENT span`);
  const [atPricing] = calls.filter((c) => c.backend === 'pricing');
  t.equal(traceparentOf(atPricing!).spanId, pricing!.spanId, "the pricing service's parent is the pricing CLIENT span");

  // Recording spans keep level 2's random flag too (the SDK itself keeps only the sampled bit).
  await fetch(`${w.base}/api/v1/sites/${SITE}/products/1000001`, { headers: { traceparent: `00-${TRACE_ID}-${CLIENT_PARENT}-03`, 'x-request-id': 'otlp-random' } });
  for (const c of receivedFor(w, 'otlp-random')) t.match(c.headers.traceparent, /-03$/, `sampled and random reach ${c.backend}`);
});

t.test('a failing call is an error span; a client-sampled-out request is not recorded', async (t) => {
  const exported: OtlpSpan[] = [];
  const collector = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      for (const rs of (JSON.parse(body) as OtlpExport).resourceSpans) for (const ss of rs.scopeSpans) exported.push(...ss.spans);
      res.writeHead(200).end('{}');
    });
  });
  await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise((resolve) => collector.close(resolve)));
  const w = await startObservedWorld(t, {
    rollouts: { pricing: 100 },
    env: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `http://127.0.0.1:${(collector.address() as AddressInfo).port}/v1/traces` },
  });
  await fetch(`${w.base}/__warm`); // a first request before faults: site registry cached
  await fetch(`${w.backends.pricing.url}/__faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ errorRate: 1 }) });
  const r = await fetch(`${w.base}/api/v1/sites/${SITE}/products/1000001`, { headers: { traceparent: INBOUND } });
  t.equal(r.status, 200, 'legacy answered (fallback)');
  const other = '11111111111111111111111111111111';
  await fetch(`${w.base}/api/v1/sites/${SITE}/products/1000001`, { headers: { traceparent: `00-${other}-${CLIENT_PARENT}-00` } });
  await w.app.telemetry.tracing.flush();

  const failed = exported.find((s) => s.traceId === TRACE_ID && attrs(s.attributes)['strangler.upstream'] === 'pricing');
  t.match(attrs(failed!.attributes), { 'strangler.outcome': '5xx', 'error.type': '5xx', 'http.response.status_code': 500 });
  t.equal(failed!.status?.code, 2, 'span status ERROR');
  const server = exported.find((s) => s.traceId === TRACE_ID && s.kind === SPAN_KIND_SERVER);
  t.equal(attrs(server!.attributes)['strangler.route'], 'pricing=legacy(fallback), inventory=legacy, promotions=legacy', 'the fallback is on the server span');
  t.notOk(
    exported.some((s) => s.traceId === other),
    "sampled=0 from the client: nothing recorded (parent-based sampling), yet its trace id still travels",
  );
});
