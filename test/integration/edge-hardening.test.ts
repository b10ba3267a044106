/**
 * What a hostile or broken client can make the gateway do at its HTTP edge (issue 26): error
 * bodies stay small whatever the input, deep JSON is refused before anything recurses over it.
 */
import t from 'tap';
import { startObservedWorld } from '../helpers/observability.js';

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
