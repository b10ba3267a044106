/**
 * What the gateway writes to its log, captured from its real logger: credentials never, the
 * trace id and request id on every request line.
 */
import t from 'tap';
import pino from 'pino';
import { Writable } from 'node:stream';
import { startObservedWorld } from '../helpers/observability.js';
import { loggerOptions } from '../../src/observability/logger.js';

const SITE = 'electronics-spa';
const ADMIN_TOKEN = 'admin-token-sekrit-0123456789';
const BEARER = 'bearer-sekrit-4711';
const COOKIE = 'cookie-sekrit-0815';
const QUERY_TOKEN = 'query-sekrit-1234';
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const TRACEPARENT = `00-${TRACE_ID}-00f067aa0ba902b7-01`;
const SECRETS = [ADMIN_TOKEN, BEARER, COOKIE, QUERY_TOKEN, 'wrong-admin-sekrit-98765'];

t.test('tokens, cookies and credentials never reach the log; every request line carries its trace id', async (t) => {
  const w = await startObservedWorld(t, { rollouts: { pricing: 100 }, logs: true, env: { ADMIN_TOKEN } });
  const creds = { authorization: `Bearer ${BEARER}`, cookie: `JSESSIONID=${COOKIE}; strangler_session=${COOKIE}` };

  const product = await fetch(`${w.base}/api/v1/sites/${SITE}/products/1000001`, { headers: { ...creds, traceparent: TRACEPARENT, 'x-request-id': 'log-1' } });
  t.equal(product.status, 200);
  // a user's cart through the gateway's own client (Authorization forwarded to the monolith)
  await fetch(`${w.base}/occ/v2/${SITE}/users/current/carts/nope?access_token=${QUERY_TOKEN}&fields=FULL`, { headers: creds });
  // the passthrough (every header forwarded)
  await fetch(`${w.base}/occ/v2/${SITE}/users/current/carts?access_token=${QUERY_TOKEN}`, { headers: creds });
  // the admin API, with the right token and a wrong one (logged as a rejected call)
  t.equal((await fetch(`${w.base}/admin/routes`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).status, 200);
  t.equal((await fetch(`${w.base}/admin/routes`, { headers: { authorization: 'Bearer wrong-admin-sekrit-98765' } })).status, 401);
  // a handler or library that logs the headers it saw, or an error carrying them
  w.app.log.info({ headers: { authorization: `Bearer ${BEARER}`, cookie: COOKIE } }, 'headers seen');
  w.app.log.error({ err: Object.assign(new Error('upstream said no'), { headers: { authorization: `Bearer ${BEARER}` } }) }, 'an error with headers');
  w.app.log.info({ token: ADMIN_TOKEN, config: w.app.gw.config }, 'the config, tokens and all');
  // the monolith unreachable: error lines with the proxy's error objects
  await w.backends.legacy.app.close();
  const down = await fetch(`${w.base}/occ/v2/${SITE}/users/current/carts`, { headers: creds });
  t.equal(down.status, 503);

  const text = w.logText();
  t.ok(text.length > 0, 'the gateway logged');
  for (const secret of SECRETS) t.notOk(text.includes(secret), `never in the log: ${secret.slice(0, 6)}…`);
  t.ok(text.includes('[redacted]'), 'redacted values are marked');
  t.match(text, /access_token=\[redacted\]&fields=FULL/, 'credential query parameters redacted, the rest of the URL kept');

  const lines = w.logs;
  const requestLines = lines.filter((l) => 'reqId' in l);
  t.ok(requestLines.length >= 10, 'request lines captured');
  for (const l of requestLines) t.match(l, { trace_id: /^[0-9a-f]{32}$/, span_id: /^[0-9a-f]{16}$/ }, `trace id on: ${String(l.msg)}`);
  const mine = requestLines.filter((l) => l.reqId === 'log-1');
  t.same(
    mine.map((l) => l.msg),
    ['request completed'],
    'one access line per request',
  );
  t.match(mine[0], { method: 'GET', url: `/api/v1/sites/${SITE}/products/1000001`, statusCode: 200, responseTime: Number, route: { pricing: 'new' } }, 'the access line says what was asked, the answer and where each context was routed');
  for (const l of mine) t.equal(l.trace_id, TRACE_ID, `${String(l.msg)}: the inbound trace id`);
  t.equal(new Set(requestLines.map((l) => l.trace_id)).size, new Set(requestLines.map((l) => l.reqId)).size, 'one trace id per request');
});

t.test('the redaction paths cover headers as a log object carries them', async (t) => {
  const out: string[] = [];
  const stream = new Writable({
    write(c: Buffer, _e, done) {
      out.push(c.toString());
      done();
    },
  });
  const opts = loggerOptions('info', stream) as pino.LoggerOptions & { stream: Writable };
  const log = pino(opts, opts.stream);
  const headers = { authorization: `Bearer ${BEARER}`, cookie: COOKIE, 'proxy-authorization': `Basic ${BEARER}`, 'x-api-key': BEARER, 'set-cookie': COOKIE };
  log.info({ headers }, 'a handler logging the headers it saw');
  log.error({ err: Object.assign(new Error('no'), { headers }) }, 'an error carrying its request headers');
  log.info({ req: { method: 'GET', url: `/x?token=${QUERY_TOKEN}`, headers } }, 'a request-like object: the req serializer writes no headers');
  log.info({ authorization: BEARER, cookie: COOKIE, token: BEARER, password: BEARER, client_secret: BEARER, adminToken: ADMIN_TOKEN }, 'credential fields');
  log.info({ config: { adminToken: ADMIN_TOKEN, flags: { token: BEARER, admin: { token: BEARER } } } }, 'the config');
  await new Promise((r) => setImmediate(r));
  const text = out.join('');
  for (const secret of SECRETS) t.notOk(text.includes(secret), `never in the log: ${secret.slice(0, 6)}…`);
  t.equal(out.length, 5, 'every line written');
});
