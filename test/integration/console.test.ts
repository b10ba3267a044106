/**
 * The operator console's server side against the real embedded world: closed without
 * ADMIN_TOKEN, the token-for-session exchange (wrong or missing token, tampered, expired or
 * logged-out session refused), CSRF on every write, a console write landing in the audit trail
 * under the operator's name, the live snapshot per arm, and the SSE stream (snapshots, bus
 * events, closed with the gateway).
 */
import t from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startWorld, type World } from '../helpers/world.js';
import type { AuditResponse } from '../../src/admin/schemas.js';
import type { Session, Snapshot } from '../../src/console/schemas.js';

const TOKEN = 'console-admin-token-0123456789';
const PRODUCT = '/api/v1/sites/electronics-spa/products/1000001';

async function consoleWorld(t: Parameters<typeof startWorld>[0], env: Record<string, string> = {}): Promise<World> {
  const dir = await mkdtemp(join(tmpdir(), 'strangler-console-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return startWorld(t, {}, { ADMIN_TOKEN: TOKEN, AUDIT_LOG_PATH: join(dir, 'audit.jsonl'), ...env });
}

interface Login {
  cookie: string;
  setCookie: string;
  session: Session;
}

async function login(w: World, name = 'carol', token = TOKEN): Promise<Login> {
  const r = await w.app.inject({ method: 'POST', url: '/console/api/login', payload: { token, name } });
  if (r.statusCode !== 200) throw new Error(`login: ${r.statusCode} ${r.body}`);
  const setCookie = String(r.headers['set-cookie']);
  return { cookie: setCookie.split(';')[0]!, setCookie, session: r.json<Session>() };
}

const routeOf = async (w: World, user = 'u-1') => (await w.app.inject({ url: PRODUCT, headers: { 'x-user-id': user } })).headers['x-strangler-route'];

t.test('without ADMIN_TOKEN the console is closed: 404, as if absent', async (t) => {
  const w = await startWorld(t, {}, {});
  for (const [method, url] of [
    ['GET', '/console'],
    ['GET', '/console/'],
    ['GET', '/console/assets/index.js'],
    ['POST', '/console/api/login'],
    ['GET', '/console/api/session'],
    ['GET', '/console/api/stream'],
    ['PUT', '/console/api/admin/routes/pricing'],
  ] as const) {
    const r = await w.app.inject({ method, url, payload: method === 'GET' ? undefined : { token: TOKEN, name: 'x', percent: 100 } });
    t.equal(r.statusCode, 404, `${method} ${url}`);
    t.match(r.headers['content-type'], /^application\/problem\+json/);
    t.equal(r.json().code, 'GW_ERR_ROUTE_NOT_FOUND');
    t.notOk(r.headers['set-cookie'], 'no session handed out');
  }
});

t.test('login: a missing or wrong token is refused; the right one gives an HttpOnly SameSite=Strict cookie with an expiry', async (t) => {
  const w = await consoleWorld(t, { CONSOLE_SESSION_TTL_S: '600' });
  const missing = await w.app.inject({ method: 'POST', url: '/console/api/login', payload: { name: 'carol' } });
  t.equal(missing.statusCode, 400);
  t.equal(missing.json().code, 'GW_ERR_REQUEST_INVALID');
  const wrong = await w.app.inject({ method: 'POST', url: '/console/api/login', payload: { token: 'not-the-admin-token-at-all', name: 'carol' } });
  t.equal(wrong.statusCode, 401);
  t.match(wrong.headers['content-type'], /^application\/problem\+json/);
  t.equal(wrong.json().code, 'GW_ERR_CONSOLE_UNAUTHORIZED');
  t.notOk(wrong.headers['set-cookie']);
  const noName = await w.app.inject({ method: 'POST', url: '/console/api/login', payload: { token: TOKEN, name: '  ' } });
  t.equal(noName.statusCode, 400, 'a name is required: it goes into the audit trail');

  const before = Date.now();
  const { setCookie, cookie, session } = await login(w);
  t.match(setCookie, /^strangler_console=[^;]+; Path=\/console; Max-Age=600; HttpOnly; SameSite=Strict$/, 'no Secure over plain http');
  const behindTls = await w.app.inject({ method: 'POST', url: '/console/api/login', headers: { 'x-forwarded-proto': 'https' }, payload: { token: TOKEN, name: 'carol' } });
  t.match(String(behindTls.headers['set-cookie']), /; HttpOnly; SameSite=Strict; Secure$/, 'Secure behind a TLS-terminating proxy');
  t.equal(session.actor, 'carol');
  const exp = Date.parse(session.expiresAt);
  t.ok(exp >= before + 600_000 && exp <= Date.now() + 600_000, 'expires after CONSOLE_SESSION_TTL_S');
  const again = await w.app.inject({ url: '/console/api/session', headers: { cookie } });
  t.equal(again.statusCode, 200);
  t.same(again.json(), session, 'the page recovers its session (and CSRF token) after a reload');
  t.equal(again.headers['cache-control'], 'no-store');
});

t.test('a missing, tampered, expired or logged-out session is refused', async (t) => {
  const w = await consoleWorld(t, { CONSOLE_SESSION_TTL_S: '3' });
  const reads = ['/console/api/session', '/console/api/snapshot', '/console/api/stream', '/console/api/admin/routes'];
  for (const url of reads) {
    const r = await w.app.inject({ url });
    t.equal(r.statusCode, 401, `${url} without a session`);
    t.equal(r.json().code, 'GW_ERR_CONSOLE_UNAUTHORIZED');
  }
  const { cookie } = await login(w, 'carol');
  // another name under the same signature: the payload no longer matches its MAC
  const [payload, mac] = cookie.slice('strangler_console='.length).split('.');
  const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as Record<string, unknown>;
  const forged = Buffer.from(JSON.stringify({ ...claims, actor: 'mallory', exp: Date.now() + 86_400_000 })).toString('base64url');
  const tampered = await w.app.inject({ url: '/console/api/session', headers: { cookie: `strangler_console=${forged}.${mac}` } });
  t.equal(tampered.statusCode, 401, 'tampered claims');
  // a session of a gateway with another ADMIN_TOKEN
  const other = await consoleWorld(t, { ADMIN_TOKEN: 'another-admin-token-0123456789' });
  const foreign = await login(other, 'carol', 'another-admin-token-0123456789');
  t.equal((await w.app.inject({ url: '/console/api/session', headers: { cookie: foreign.cookie } })).statusCode, 401, 'signed under another token');

  t.equal((await w.app.inject({ url: '/console/api/session', headers: { cookie } })).statusCode, 200, 'valid until it expires');
  await new Promise((r) => setTimeout(r, 3100));
  for (const url of reads) {
    const r = await w.app.inject({ url, headers: { cookie } });
    t.equal(r.statusCode, 401, `${url} with an expired session`);
    t.match(r.json().detail, /expired/);
  }

  const fresh = await login(w, 'carol');
  const out = await w.app.inject({ method: 'POST', url: '/console/api/logout', headers: { cookie: fresh.cookie, 'x-csrf-token': fresh.session.csrfToken } });
  t.equal(out.statusCode, 204);
  t.match(String(out.headers['set-cookie']), /^strangler_console=; Path=\/console; Max-Age=0; HttpOnly; SameSite=Strict/);
  t.equal((await w.app.inject({ url: '/console/api/session', headers: { cookie: fresh.cookie } })).statusCode, 401, 'the old cookie no longer works after logout');
});

t.test('every write needs the session CSRF token, from the console origin; without it nothing changes', async (t) => {
  const w = await consoleWorld(t);
  const a = await login(w, 'carol');
  const b = await login(w, 'dave');
  const put = (headers: Record<string, string>) => w.app.inject({ method: 'PUT', url: '/console/api/admin/routes/pricing', headers: { cookie: a.cookie, ...headers }, payload: { percent: 100, reason: 'x' } });
  const cases: [string, Record<string, string>][] = [
    ['missing', {}],
    ['forged', { 'x-csrf-token': 'A'.repeat(43) }],
    ["another session's", { 'x-csrf-token': b.session.csrfToken }],
    ['right token, foreign origin', { 'x-csrf-token': a.session.csrfToken, origin: 'https://evil.example' }],
  ];
  for (const [what, headers] of cases) {
    const r = await put(headers);
    t.equal(r.statusCode, 403, `${what} CSRF token`);
    t.match(r.headers['content-type'], /^application\/problem\+json/);
    t.equal(r.json().code, 'GW_ERR_CONSOLE_CSRF_REJECTED');
  }
  for (const url of ['/console/api/admin/routes/pricing/kill', '/console/api/logout']) {
    const r = await w.app.inject({ method: 'POST', url, headers: { cookie: a.cookie }, payload: {} });
    t.equal(r.statusCode, 403, `POST ${url} without CSRF token`);
  }
  t.equal(await routeOf(w), 'pricing=legacy, inventory=legacy, promotions=legacy', 'no refused write changed routing');
  const audit = (await w.app.inject({ url: '/admin/audit', headers: { authorization: `Bearer ${TOKEN}` } })).json<AuditResponse>();
  t.equal(audit.entries.length, 0, 'nor the audit trail');
  t.equal((await w.app.inject({ url: '/console/api/session', headers: { cookie: a.cookie } })).statusCode, 200, 'a refused logout did not log out');
});

t.test('a console write goes through the admin API and lands in the audit trail under the operator', async (t) => {
  const w = await consoleWorld(t);
  const { cookie, session } = await login(w, 'carol');
  // the console's own origin, also as an https page behind a TLS-terminating proxy
  const headers = { cookie, 'x-csrf-token': session.csrfToken, origin: 'https://localhost' };
  const r = await w.app.inject({ method: 'PUT', url: '/console/api/admin/routes/pricing', headers, payload: { percent: 100, stickiness: 'userId', reason: 'canary ok' } });
  t.equal(r.statusCode, 200, r.body);
  t.match(r.json(), { change: { actor: 'carol', action: 'route', context: 'pricing', reason: 'canary ok', after: { rollout: 100, stickiness: 'userId' } } });
  t.match(await routeOf(w), /pricing=new/, 'routing follows at once');

  // the admin API's own validation answers through the relay
  const bad = await w.app.inject({ method: 'PUT', url: '/console/api/admin/routes/pricing', headers, payload: { percent: '50' } });
  t.equal(bad.statusCode, 400);
  t.equal(bad.json().code, 'GW_ERR_REQUEST_INVALID');
  const unknown = await w.app.inject({ method: 'POST', url: '/console/api/admin/routes/nope/kill', headers, payload: { reason: 'x' } });
  t.equal(unknown.statusCode, 404);
  t.equal(unknown.json().code, 'GW_ERR_ADMIN_CONTEXT_NOT_FOUND');

  const kill = await w.app.inject({ method: 'POST', url: '/console/api/admin/routes/pricing/kill', headers, payload: { reason: 'errors up' } });
  t.equal(kill.statusCode, 200);
  t.match(await routeOf(w), /pricing=legacy/, 'killed');

  const viaConsole = await w.app.inject({ url: '/console/api/admin/audit?context=pricing', headers: { cookie } });
  t.equal(viaConsole.statusCode, 200);
  const entries = viaConsole.json<AuditResponse>().entries;
  t.match(entries, [
    { action: 'kill', actor: 'carol', reason: 'errors up' },
    { action: 'route', actor: 'carol', reason: 'canary ok' },
  ]);
  t.equal(entries.length, 2);
  // rollouts are on every gateway now (docs/rollouts.md): the console reads them through the admin API
  const rollouts = await w.app.inject({ url: '/console/api/admin/rollouts', headers: { cookie } });
  t.equal(rollouts.statusCode, 200);
  t.same(rollouts.json(), { rollouts: [] });
  // shadow comparison is on every gateway (docs/parity.md): the console reads it through the admin API
  const parity = await w.app.inject({ url: '/console/api/admin/parity', headers: { cookie } });
  t.equal(parity.statusCode, 200);
  t.match(parity.json(), { contexts: [{ context: 'pricing', shadowPercent: 0, counts: { match: 0, mismatch: 0 } }] });
});

t.test('the snapshot shows each arm of a context from the live counters', async (t) => {
  const w = await consoleWorld(t);
  const { cookie, session } = await login(w);
  await w.app.inject({ method: 'PUT', url: '/console/api/admin/routes/inventory', headers: { cookie, 'x-csrf-token': session.csrfToken }, payload: { percent: 100 } });
  for (let i = 0; i < 8; i++) await routeOf(w, `s-${i}`);
  const snap = (await w.app.inject({ url: '/console/api/snapshot', headers: { cookie } })).json<Snapshot>();
  t.same(snap.flags, { source: 'file', location: w.flagsDir, writable: true, stale: null });
  const inv = snap.contexts.find((c) => c.context === 'inventory')!;
  const pri = snap.contexts.find((c) => c.context === 'pricing')!;
  t.match(inv, { route: { enabled: true, rollout: 100 }, breakers: { legacy: 'closed', new: 'closed' }, share: { new: 1, legacy: 0 }, parity: { match: 0, mismatch: 0, noise: 0, error: 0, shed: 0 } });
  t.equal(inv.arms.new.requests, 8);
  t.equal(inv.arms.new.errorRate, 0);
  t.ok(inv.arms.new.p50Ms !== null && inv.arms.new.p99Ms! >= inv.arms.new.p50Ms, 'latency quantiles');
  t.match(pri, { route: { rollout: 0 }, share: { legacy: 1, new: 0 } });
  t.equal(pri.arms.legacy.requests, 8);
  t.equal(pri.arms.new.p50Ms, null, 'no latency without requests');
});

t.test('the snapshot says when flags are read-only or stale, and the relay passes the refusal on', async (t) => {
  const shared = await consoleWorld(t, { GATEWAY_INSTANCES: '2' });
  const a = await login(shared);
  const snap = (await shared.app.inject({ url: '/console/api/snapshot', headers: { cookie: a.cookie } })).json<Snapshot>();
  t.equal(snap.flags.writable, false, 'flag files on several instances: read-only');
  const refused = await shared.app.inject({ method: 'PUT', url: '/console/api/admin/routes/pricing', headers: { cookie: a.cookie, 'x-csrf-token': a.session.csrfToken }, payload: { percent: 100, reason: 'x' } });
  t.equal(refused.statusCode, 409);
  t.equal(refused.json().code, 'GW_ERR_ADMIN_FLAGS_READ_ONLY');

  const w = await consoleWorld(t);
  const b = await login(w);
  await t.rejects(w.setFlags({ version: 1, features: 'not a list' }), /features/);
  const stale = (await w.app.inject({ url: '/console/api/snapshot', headers: { cookie: b.cookie } })).json<Snapshot>();
  t.type(stale.flags.stale, 'string', 'the flag source is failing: routing runs on the last known flags');
  t.equal(stale.flags.writable, true);
  t.equal(await routeOf(w), 'pricing=legacy, inventory=legacy, promotions=legacy', 'still routing');
});

t.test('the SSE stream pushes snapshots and gateway events, and ends when the gateway closes', async (t) => {
  const w = await consoleWorld(t);
  await w.app.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(w.app.server.address() as { port: number }).port}`;
  const { cookie } = await login(w);
  const refused = await fetch(`${base}/console/api/stream`);
  t.equal(refused.status, 401);
  await refused.arrayBuffer();

  const res = await fetch(`${base}/console/api/stream`, { headers: { cookie } });
  t.equal(res.status, 200);
  t.match(res.headers.get('content-type'), /^text\/event-stream/);
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  const until = async (re: RegExp) => {
    while (!re.test(text)) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`stream ended before ${re}: ${text.slice(-300)}`);
      text += decoder.decode(value, { stream: true });
    }
  };
  await until(/event: snapshot\ndata: (.+)\n\n/);
  const first = JSON.parse(/event: snapshot\ndata: (.+)\n\n/.exec(text)![1]!) as Snapshot;
  t.same(
    first.contexts.map((c) => c.context),
    ['pricing', 'inventory', 'promotions'],
  );
  w.app.gw.events.emit('kill.set', { percent: 0, reason: 'test' }, { context: 'pricing', actor: 'carol' });
  await until(/event: gateway-event\ndata: .*"kill\.set".*\n\n/);
  t.match(text, /"context":"pricing","actor":"carol","data":\{"percent":0,"reason":"test"\}/);
  // a second snapshot: the stream is live, not one answer
  await until(/event: snapshot[\s\S]*event: snapshot/);

  const closed = w.app.close();
  await until(/event: end\ndata: \{"reason":"closing"\}/);
  await closed;
  t.pass('the gateway closed with a stream open');
});
