/**
 * What a hostile or broken client can make the gateway do at its HTTP edge (issue 26): error
 * bodies stay small whatever the input, deep JSON is refused before anything recurses over it.
 */
import { tmpdir } from 'node:os';
import t from 'tap';
import { startObservedWorld } from '../helpers/observability.js';
import { rawExchange } from '../helpers/raw-http.js';

const SITE = 'electronics-spa';

t.test('a large invalid body answers a bounded error, in the response and in the log', async (t) => {
  const w = await startObservedWorld(t, { logs: true });
  // ~750 KB: 25,000 entries, each wrong twice over (50,000 schema errors)
  const body = JSON.stringify({ entries: Array.from({ length: 25_000 }, () => ({ sku: 'not a sku!', quantity: 'two' })) });
  t.ok(body.length > 700_000, `${Math.round(body.length / 1024)} KB body`);
  const started = performance.now();
  const r = await fetch(`${w.base}/api/v1/sites/${SITE}/carts/evaluate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const text = await r.text();
  t.comment(`answered ${text.length} bytes in ${(performance.now() - started).toFixed(0)} ms`);
  t.equal(r.status, 400);
  t.match(r.headers.get('content-type'), /^application\/problem\+json/);
  t.ok(text.length < 4096, `error body is ${text.length} bytes`);
  const problem = JSON.parse(text) as { code: string; detail: string; errors: { path: string }[]; errorCount: number };
  t.equal(problem.code, 'GW_ERR_REQUEST_INVALID');
  t.equal(problem.errors.length, 10, 'the first 10 errors');
  t.ok(problem.errorCount > 10_000, `and how many there were (${problem.errorCount})`);
  t.match(problem.detail, /\(and \d+ more\)$/, 'the detail says there are more');
  const line = w.logs.find((l) => l.code === 'GW_ERR_REQUEST_INVALID');
  t.ok(line, 'the rejection is logged');
  t.ok(JSON.stringify(line).length < 8192, `its log line is ${JSON.stringify(line).length} bytes`);
  t.ok(w.logText().length < 64 * 1024, `all log lines: ${w.logText().length} bytes`);
});

t.test('deeply nested JSON is a 400 on every surface, not a stack overflow', async (t) => {
  const w = await startObservedWorld(t);
  const deep = (n: number) => `{"product":{"code":"1000001"},"quantity":1,"x":${'['.repeat(n)}${']'.repeat(n)}}`;
  const post = (path: string, body: string) => fetch(`${w.base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  for (const n of [100, 10_000, 200_000]) {
    const occ = await post(`/occ/v2/${SITE}/users/anonymous/carts/abc/entries`, deep(n));
    t.equal(occ.status, 400, `OCC cart write, ${n} deep: 400`);
    t.match(await occ.json(), { errors: [{ type: 'ValidationError', reason: 'GW_ERR_REQUEST_INVALID', message: /nests deeper than 64/ }] });
    const rest = await post(`/api/v1/sites/${SITE}/carts/evaluate`, deep(n));
    t.equal(rest.status, 400, `canonical REST, ${n} deep: 400`);
    t.match(await rest.json(), { code: 'GW_ERR_REQUEST_INVALID', detail: /nests deeper than 64/ });
    const gql = await post('/graphql', `{"query":"{ __typename }","variables":{"v":${'['.repeat(n)}${']'.repeat(n)}}}`);
    t.equal(gql.status, 400, `GraphQL variables, ${n} deep: 400`);
  }
  const fine = await post(`/occ/v2/${SITE}/users/anonymous/carts/abc/entries`, '{"product":{"code":"1000001"},"quantity":1,"s":"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\""}');
  t.equal(fine.status, 404, 'brackets inside a string are not nesting (the cart does not exist)');
  const poisoned = await post(`/api/v1/sites/${SITE}/carts/evaluate`, '{"entries":[{"sku":"1000001","quantity":1}],"__proto__":{"x":1}}');
  t.equal(poisoned.status, 400, 'prototype poisoning is still refused');
});

t.test('Expect: 100-continue over the body limit is a 413 at once, without inviting the body', async (t) => {
  const w = await startObservedWorld(t);
  const port = Number(new URL(w.base).port);
  const head = (length: number) => `POST /api/v1/sites/${SITE}/carts/evaluate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\nExpect: 100-continue\r\n\r\n`;
  const refused = await rawExchange(port, head(5_000_000), 5000);
  t.match(refused, /^HTTP\/1\.1 413 /, 'the first thing the client hears is 413');
  t.notMatch(refused, /100 Continue/, 'no invitation to send the body');
  t.match(refused, /connection: close/i);
  t.match(JSON.parse(refused.slice(refused.indexOf('\r\n\r\n') + 4)), { status: 413, code: 'GW_ERR_REQUEST_TOO_LARGE' });
  const occ = await rawExchange(port, head(5_000_000).replace(`/api/v1/sites/${SITE}/carts/evaluate`, `/occ/v2/${SITE}/users/anonymous/carts`), 5000);
  t.match(JSON.parse(occ.slice(occ.indexOf('\r\n\r\n') + 4)), { errors: [{ reason: 'GW_ERR_REQUEST_TOO_LARGE' }] }, 'OCC ErrorList on /occ');
  const body = '{"entries":[{"sku":"1000001","quantity":1}]}';
  const invited = await rawExchange(port, `${head(body.length).replace('Expect', 'Connection: close\r\nExpect')}${body}`, 5000);
  t.match(invited, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 /, 'within the limit: invited, then served');
});

t.test('slow clients are cut off with a 408 (HEADERS_TIMEOUT_MS, REQUEST_TIMEOUT_MS)', async (t) => {
  const w = await startObservedWorld(t, { env: { HEADERS_TIMEOUT_MS: '1000', REQUEST_TIMEOUT_MS: '2000' } });
  const port = Number(new URL(w.base).port);
  for (const [name, text, bound] of [
    ['headers never finished', 'GET /healthz HTTP/1.1\r\nHost: x\r\n', 3000],
    ['body never finished', `POST /api/v1/sites/${SITE}/carts/evaluate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"entries":`, 4500],
  ] as const) {
    const started = performance.now();
    const out = await rawExchange(port, text, 10_000);
    const ms = performance.now() - started;
    t.match(out, /^HTTP\/1\.1 408 /, `${name}: 408`);
    t.match(out, /application\/problem\+json/);
    t.match(out, /"code":"GW_ERR_REQUEST_TIMEOUT"/);
    t.ok(ms < bound, `${name}: closed after ${ms.toFixed(0)} ms`);
  }
});

t.test('what the router and node refuse comes in the gateway error model too', async (t) => {
  const w = await startObservedWorld(t);
  const port = Number(new URL(w.base).port);
  const cases: [string, string, number, string][] = [
    ['bad percent-encoding', `GET /api/v1/sites/${SITE}/products/%E0%A4%A HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, 400, 'GW_ERR_REQUEST_INVALID'],
    ['path segment too long', `GET /api/v1/sites/${SITE}/products/${'a'.repeat(5000)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, 414, 'GW_ERR_REQUEST_URI_TOO_LONG'],
    ['not HTTP', 'GET / HTTP/1.1\r\nHost x\r\n\r\n', 400, 'GW_ERR_REQUEST_INVALID'],
    ['headers too large', `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431, 'GW_ERR_REQUEST_HEADERS_TOO_LARGE'],
    ['bad JSON', `POST /api/v1/sites/${SITE}/carts/evaluate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5\r\nConnection: close\r\n\r\n{"a":`, 400, 'GW_ERR_REQUEST_MALFORMED_JSON'],
  ];
  for (const [name, text, status, code] of cases) {
    const out = await rawExchange(port, text, 5000);
    t.match(out, new RegExp(`^HTTP/1\\.1 ${status} `), `${name}: ${status}`);
    t.match(out, /content-type: application\/problem\+json/i, `${name}: problem+json`);
    const problem = JSON.parse(out.slice(out.indexOf('\r\n\r\n') + 4)) as { code: string; status: number; detail: string };
    t.equal(problem.code, code, `${name}: ${code}`);
    t.equal(problem.status, status);
    t.ok(out.length < 2048, `${name}: nothing echoed at length (${out.length} bytes)`);
  }
  const occ = await rawExchange(port, `GET /occ/v2/${SITE}/products/%E0%A4%A HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, 5000);
  t.match(JSON.parse(occ.slice(occ.indexOf('\r\n\r\n') + 4)), { errors: [{ type: 'ValidationError', reason: 'GW_ERR_REQUEST_INVALID' }] }, 'OCC ErrorList on /occ');
});

t.test('the admin API takes a percentage as a number, not as a string to coerce', async (t) => {
  const token = 'edge-hardening-admin-token';
  const w = await startObservedWorld(t, { env: { ADMIN_TOKEN: token, AUDIT_LOG_PATH: `${tmpdir()}/edge-audit-${process.pid}-${Date.now()}.jsonl` } });
  const put = (body: string) =>
    fetch(`${w.base}/admin/routes/pricing`, { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body });
  for (const body of ['{"percent":"50"}', '{"percent":50.5}', '{"percent":true}', '{"percent":[50]}']) {
    const r = await put(body);
    t.equal(r.status, 400, `${body}: 400`);
    t.match(await r.json(), { code: 'GW_ERR_REQUEST_INVALID', errors: [{ path: 'body/percent' }] });
  }
  const state = (await (await fetch(`${w.base}/admin/routes`, { headers: { authorization: `Bearer ${token}` } })).json()) as { routes: { context: string; rollout: number }[] };
  t.equal(state.routes.find((r) => r.context === 'pricing')?.rollout, 0, 'nothing changed');
  const ok = await put('{"percent":50,"reason":"edge test"}');
  t.equal(ok.status, 200, 'a number is taken');
  const kill = await fetch(`${w.base}/admin/routes/pricing/kill`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
  t.equal(kill.status, 200, 'a kill without a body still works');
  const badKill = await fetch(`${w.base}/admin/routes/pricing/kill`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{"reason":5}' });
  t.equal(badKill.status, 400, 'a reason that is not a string is refused');
});

t.test('repeated identical errors are logged a few times a second, then counted', async (t) => {
  const w = await startObservedWorld(t, { logs: true });
  const n = 300;
  await Promise.all(Array.from({ length: n }, () => fetch(`${w.base}/api/v1/sites/${SITE}/products/not!a!sku`).then((r) => r.arrayBuffer())));
  const lines = () => w.logs.filter((l) => l.code === 'GW_ERR_REQUEST_INVALID');
  const counted = () => lines().reduce((sum, l) => sum + (l.event === 'log.suppressed' ? Number(l.suppressed) : 1), 0);
  // the summary of the last second is written when that second is over
  for (let i = 0; i < 50 && counted() < n; i++) await new Promise((r) => setTimeout(r, 100));
  const single = lines().filter((l) => l.event !== 'log.suppressed');
  const summaries = lines().filter((l) => l.event === 'log.suppressed');
  t.comment(`${n} rejected requests: ${single.length} error lines and ${summaries.length} summaries`);
  t.ok(single.length >= 10 && single.length <= 10 * (summaries.length + 1), `${single.length} lines, at most 10 per second`);
  t.ok(summaries.length >= 1, 'a summary line');
  t.equal(counted(), n, 'every rejection is accounted for');
  t.match(summaries[0]?.msg, /more GW_ERR_REQUEST_INVALID error lines/);
});
