/**
 * The admin API against the real embedded world (flags in files): bearer auth, disabled
 * without ADMIN_TOKEN, route changes that routing sees at once, kill, validation, the flag file
 * rewritten without losing anything, and the audit trail surviving a rebuilt gateway.
 */
import t from 'tap';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startWorld, flagFile, type World } from '../helpers/world.js';
import { buildGateway } from '../../src/app.js';
import { loadConfig } from '../../src/config/load.js';
import type { AuditResponse, ChangeResponse, RoutesResponse } from '../../src/admin/schemas.js';

const TOKEN = 'test-admin-token-0123456789';
/** Load shedding is tested on its own; here a loaded CI machine must not turn answers into 503s. */
const NO_SHED = { SHED_EVENT_LOOP_DELAY_MS: '0' };
const AUTH = { authorization: `Bearer ${TOKEN}` };
const PRODUCT = '/api/v1/sites/electronics-spa/products/1000001';

async function tempDir(t: { teardown(fn: () => unknown): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'strangler-admin-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function adminWorld(t: Parameters<typeof startWorld>[0], env: Record<string, string> = {}): Promise<World & { auditPath: string }> {
  const dir = await tempDir(t);
  const auditPath = join(dir, 'var', 'audit.jsonl');
  const w = await startWorld(t, {}, { ...NO_SHED, ADMIN_TOKEN: TOKEN, AUDIT_LOG_PATH: auditPath, ...env });
  return Object.assign(w, { auditPath });
}

async function route(w: World, headers: Record<string, string> = { 'x-user-id': 'u-1' }, url = PRODUCT): Promise<string | undefined> {
  const r = await w.app.inject({ url, headers });
  return r.headers['x-strangler-route'] as string | undefined;
}

t.test('without ADMIN_TOKEN the admin API is disabled, never open', async (t) => {
  const w = await startWorld(t, {}, NO_SHED);
  for (const [method, url] of [
    ['GET', '/admin/routes'],
    ['PUT', '/admin/routes/pricing'],
    ['POST', '/admin/routes/pricing/kill'],
    ['GET', '/admin/audit'],
    ['GET', '/admin/anything'],
  ] as const) {
    const r = await w.app.inject({ method, url, headers: AUTH, payload: method === 'GET' ? undefined : { percent: 100 } });
    t.equal(r.statusCode, 403, `${method} ${url}`);
    t.match(r.headers['content-type'], /^application\/problem\+json/);
    t.equal(r.json().code, 'GW_ERR_ADMIN_DISABLED');
  }
  t.equal(await route(w), 'pricing=legacy, inventory=legacy, promotions=legacy', 'nothing changed');
});

t.test('bearer auth: 401 problem with a challenge for a missing, wrong or malformed token', async (t) => {
  const w = await adminWorld(t);
  const cases: [string, Record<string, string>, string][] = [
    ['no token', {}, 'Bearer realm="strangler-admin"'],
    ['wrong token', { authorization: 'Bearer not-the-admin-token-at-all' }, 'Bearer realm="strangler-admin", error="invalid_token"'],
    ['token prefix', { authorization: `Bearer ${TOKEN.slice(0, -1)}` }, 'Bearer realm="strangler-admin", error="invalid_token"'],
    ['token plus a char', { authorization: `Bearer ${TOKEN}x` }, 'Bearer realm="strangler-admin", error="invalid_token"'],
    ['basic scheme', { authorization: `Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}` }, 'Bearer realm="strangler-admin", error="invalid_token"'],
    ['bare token', { authorization: TOKEN }, 'Bearer realm="strangler-admin", error="invalid_token"'],
  ];
  for (const [name, headers, challenge] of cases) {
    const r = await w.app.inject({ url: '/admin/routes', headers });
    t.equal(r.statusCode, 401, name);
    t.equal(r.headers['www-authenticate'], challenge, `${name}: challenge`);
    t.match(r.headers['content-type'], /^application\/problem\+json/);
    t.match(r.json(), { status: 401, code: 'GW_ERR_ADMIN_UNAUTHORIZED' });
  }
  const put = await w.app.inject({ method: 'PUT', url: '/admin/routes/pricing', payload: { percent: 100 } });
  t.equal(put.statusCode, 401, 'a write without a token is refused before its body is looked at');
  t.equal(await route(w), 'pricing=legacy, inventory=legacy, promotions=legacy', 'and nothing changed');
  const probe = await w.app.inject({ url: '/admin/does-not-exist' });
  t.equal(probe.statusCode, 401, 'unknown admin paths do not reveal themselves without a token');
  const lower = await w.app.inject({ url: '/admin/routes', headers: { authorization: `bearer ${TOKEN}` } });
  t.equal(lower.statusCode, 200, 'the scheme is case-insensitive');
  const unknown = await w.app.inject({ url: '/admin/does-not-exist', headers: AUTH });
  t.equal(unknown.statusCode, 404);
  t.equal(unknown.json().code, 'GW_ERR_ROUTE_NOT_FOUND');
  t.equal(r401NoStore(await w.app.inject({ url: '/admin/routes', headers: AUTH })), 'no-store', 'admin answers are not cached');
});

function r401NoStore(r: { headers: Record<string, unknown> }): unknown {
  return r.headers['cache-control'];
}

t.test('GET /admin/routes: per context flag, rollout, stickiness, constraints, source', async (t) => {
  const w = await adminWorld(t);
  await w.setFlags(flagFile({ pricing: 25 }, { stickiness: 'userId', constraints: [{ contextName: 'baseSiteId', operator: 'IN', values: ['electronics-spa'] }] }));
  const r = await w.app.inject({ url: '/admin/routes', headers: AUTH });
  t.equal(r.statusCode, 200);
  const body = r.json() as RoutesResponse;
  t.equal(body.source, 'file');
  t.equal(body.location, w.flagsDir);
  t.equal(body.writable, true);
  t.equal(body.stale, null);
  t.same(
    body.routes.map((x) => x.context),
    ['pricing', 'inventory', 'promotions'],
  );
  t.match(body.routes[0], {
    context: 'pricing',
    flag: 'route.pricing',
    source: 'file',
    defined: true,
    enabled: true,
    rollout: 25,
    stickiness: 'userId',
    constraints: [{ contextName: 'baseSiteId', operator: 'IN', values: ['electronics-spa'] }],
    strategies: 1,
  });
  t.match(body.routes[1], { context: 'inventory', rollout: 0 });
});

t.test('PUT /admin/routes/{context}: routing follows at once; site and stickiness become the strategy', async (t) => {
  const w = await adminWorld(t);
  t.equal(await route(w), 'pricing=legacy, inventory=legacy, promotions=legacy');

  const r = await w.app.inject({
    method: 'PUT',
    url: '/admin/routes/pricing',
    headers: { ...AUTH, 'x-actor': 'alice', 'x-request-id': 'req-flip-1' },
    payload: { percent: 100, reason: 'canary done' },
  });
  t.equal(r.statusCode, 200, r.body);
  const res = r.json() as ChangeResponse;
  t.equal(res.effectiveWithinMs, 0, 'file flags are in force when the answer comes');
  t.match(res.change, {
    actor: 'alice',
    action: 'route',
    context: 'pricing',
    flag: 'route.pricing',
    source: 'admin',
    location: join(w.flagsDir, 'routes.json'),
    requested: { percent: 100 },
    before: { enabled: true, rollout: 0 },
    after: { enabled: true, rollout: 100 },
    reason: 'canary done',
    requestId: 'req-flip-1',
  });
  t.equal(await route(w), 'pricing=new, inventory=legacy, promotions=legacy', 'the very next request goes to the new pricing service');

  // site: a baseSiteId IN constraint; other sites stay on legacy.
  const site = await w.app.inject({ method: 'PUT', url: '/admin/routes/inventory', headers: AUTH, payload: { percent: 100, site: 'apparel-uk' } });
  t.equal(site.statusCode, 200, site.body);
  t.same((site.json() as ChangeResponse).change.after.constraints, [{ contextName: 'baseSiteId', operator: 'IN', values: ['apparel-uk'] }]);
  t.match(await route(w), /inventory=legacy/, 'electronics-spa is not in the site constraint');
  t.match(await route(w, { 'x-user-id': 'u-1' }, '/api/v1/sites/apparel-uk/products/3000001'), /inventory=new/, 'apparel-uk is');
  const allSites = await w.app.inject({ method: 'PUT', url: '/admin/routes/inventory', headers: AUTH, payload: { percent: 100, site: null } });
  t.same((allSites.json() as ChangeResponse).change.after.constraints, [], 'site: null drops the site constraint');
  t.match(await route(w), /inventory=new/);

  // stickiness: sessionId rollout routes by session; a request without one stays on legacy.
  const sticky = await w.app.inject({ method: 'PUT', url: '/admin/routes/promotions', headers: AUTH, payload: { percent: 100, stickiness: 'sessionId' } });
  t.equal((sticky.json() as ChangeResponse).change.after.stickiness, 'sessionId');
  t.match(await route(w, { 'x-user-id': 'u-1' }), /promotions=legacy/, 'no session: Unleash does not enable a sessionId rollout');
  t.match(await route(w, { 'x-session-id': 's-1' }), /promotions=new/);

  // partial rollout: about half the users, each sticky.
  await w.app.inject({ method: 'PUT', url: '/admin/routes/pricing', headers: AUTH, payload: { percent: 50, stickiness: 'userId' } });
  const arms = new Map<string, string | undefined>();
  for (let i = 0; i < 40; i++) arms.set(`user-${i}`, await route(w, { 'x-user-id': `user-${i}` }));
  const onNew = [...arms.values()].filter((h) => h?.includes('pricing=new')).length;
  t.ok(onNew > 8 && onNew < 32, `about half the users on new pricing (${onNew}/40)`);
  for (const [user, h] of [...arms].slice(0, 5)) t.equal(await route(w, { 'x-user-id': user }), h, `${user} is sticky`);
});

t.test('the flag file is rewritten in Unleash format, atomically, keeping every other flag and field', async (t) => {
  const w = await adminWorld(t);
  const file = flagFile({ inventory: 30 }) as { version: number; features: Record<string, unknown>[] };
  file.features[0] = { ...file.features[0], description: 'pricing route', impressionData: true, project: 'strangler' };
  file.features.push({ name: 'checkout.newFlow', enabled: true, strategies: [{ name: 'default' }], variants: [] });
  await w.setFlags(file);
  await writeFile(join(w.flagsDir, 'other.json'), JSON.stringify({ version: 1, features: [{ name: 'search.v2', enabled: false, strategies: [] }] }));
  await w.app.gw.flags.reload?.();

  const r = await w.app.inject({ method: 'PUT', url: '/admin/routes/pricing', headers: AUTH, payload: { percent: 40, stickiness: 'userId', site: 'electronics-spa' } });
  t.equal(r.statusCode, 200, r.body);
  const written = JSON.parse(await readFile(join(w.flagsDir, 'routes.json'), 'utf8')) as typeof file;
  t.equal(written.version, 1);
  t.same(
    written.features.map((f) => f.name),
    ['route.pricing', 'route.inventory', 'route.promotions', 'checkout.newFlow'],
  );
  t.match(written.features[0], {
    name: 'route.pricing',
    description: 'pricing route',
    impressionData: true,
    project: 'strangler',
    enabled: true,
    strategies: [
      {
        name: 'flexibleRollout',
        parameters: { rollout: '40', stickiness: 'userId', groupId: 'route.pricing' },
        constraints: [{ contextName: 'baseSiteId', operator: 'IN', values: ['electronics-spa'] }],
      },
    ],
  });
  t.same(written.features[1], file.features[1], 'other route flags untouched');
  t.same(written.features[3], file.features[3], 'unrelated flags untouched');
  t.same(JSON.parse(await readFile(join(w.flagsDir, 'other.json'), 'utf8')).features[0].name, 'search.v2', 'other files untouched');
  t.same(
    (await readdir(w.flagsDir)).sort(),
    ['other.json', 'routes.json'],
    'no temp file left behind',
  );
});

t.test('a flag missing from the files is created by the first change', async (t) => {
  const w = await adminWorld(t);
  const file = flagFile({}) as { version: number; features: { name: string }[] };
  await w.setFlags({ ...file, features: file.features.filter((f) => f.name !== 'route.promotions') });
  const before = (await w.app.inject({ url: '/admin/routes', headers: AUTH })).json() as RoutesResponse;
  t.match(before.routes[2], { context: 'promotions', defined: false, enabled: false });
  const r = await w.app.inject({ method: 'PUT', url: '/admin/routes/promotions', headers: AUTH, payload: { percent: 100 } });
  t.equal(r.statusCode, 200, r.body);
  t.match((r.json() as ChangeResponse).change, { before: { defined: false }, after: { defined: true, enabled: true, rollout: 100 } });
  t.match(await route(w), /promotions=new/);
});

t.test('kill: every request back to legacy at once; a later route re-enables', async (t) => {
  const w = await adminWorld(t);
  await w.app.inject({ method: 'PUT', url: '/admin/routes/pricing', headers: AUTH, payload: { percent: 100 } });
  t.match(await route(w), /pricing=new/);

  const k = await w.app.inject({ method: 'POST', url: '/admin/routes/pricing/kill', headers: { ...AUTH, 'x-actor': 'oncall' }, payload: { reason: 'pricing 5xx spike' } });
  t.equal(k.statusCode, 200, k.body);
  t.match((k.json() as ChangeResponse).change, {
    action: 'kill',
    actor: 'oncall',
    reason: 'pricing 5xx spike',
    before: { enabled: true, rollout: 100 },
    after: { enabled: false, rollout: 0 },
  });
  for (let i = 0; i < 10; i++) t.match(await route(w, { 'x-user-id': `user-${i}` }), /pricing=legacy/);

  const bare = await w.app.inject({ method: 'POST', url: '/admin/routes/inventory/kill', headers: AUTH });
  t.equal(bare.statusCode, 200, 'a kill needs no body');
  t.equal((bare.json() as ChangeResponse).change.reason, null);

  const again = await w.app.inject({ method: 'PUT', url: '/admin/routes/pricing', headers: AUTH, payload: { percent: 100 } });
  t.match((again.json() as ChangeResponse).change.after, { enabled: true, rollout: 100 });
  t.match(await route(w), /pricing=new/);
});

t.test('unknown context: 404 problem', async (t) => {
  const w = await adminWorld(t);
  for (const [method, url] of [
    ['PUT', '/admin/routes/checkout'],
    ['POST', '/admin/routes/checkout/kill'],
  ] as const) {
    const r = await w.app.inject({ method, url, headers: AUTH, payload: { percent: 10 } });
    t.equal(r.statusCode, 404, `${method} ${url}`);
    t.match(r.headers['content-type'], /^application\/problem\+json/);
    t.match(r.json(), { code: 'GW_ERR_ADMIN_CONTEXT_NOT_FOUND', detail: /unknown context "checkout" \(known: pricing, inventory, promotions\)/ });
  }
});

t.test('invalid bodies: 400 problem, nothing written', async (t) => {
  const w = await adminWorld(t);
  const original = await readFile(join(w.flagsDir, 'routes.json'), 'utf8');
  const bad: [string, unknown][] = [
    ['percent above 100', { percent: 101 }],
    ['negative percent', { percent: -1 }],
    ['fractional percent', { percent: 12.5 }],
    ['percent not a number', { percent: 'lots' }],
    ['percent missing', { stickiness: 'userId' }],
    ['unknown stickiness', { percent: 10, stickiness: 'random' }],
    ['malformed site', { percent: 10, site: 'Electronics SPA!' }],
    ['unknown field', { percent: 10, rollout: 10 }],
    ['reason too long', { percent: 10, reason: 'x'.repeat(501) }],
  ];
  for (const [name, payload] of bad) {
    const r = await w.app.inject({ method: 'PUT', url: '/admin/routes/pricing', headers: AUTH, payload: payload as object });
    t.equal(r.statusCode, 400, name);
    t.match(r.headers['content-type'], /^application\/problem\+json/);
    t.equal(r.json().code, 'GW_ERR_REQUEST_INVALID', name);
  }
  const kill = await w.app.inject({ method: 'POST', url: '/admin/routes/pricing/kill', headers: AUTH, payload: { percent: 0 } });
  t.equal(kill.statusCode, 400, 'kill takes only a reason');
  const notJson = await w.app.inject({ method: 'PUT', url: '/admin/routes/pricing', headers: { ...AUTH, 'content-type': 'application/json' }, payload: '{"percent":' });
  t.equal(notJson.statusCode, 400);
  t.equal(notJson.json().code, 'GW_ERR_REQUEST_MALFORMED_JSON');
  const text = await w.app.inject({ method: 'PUT', url: '/admin/routes/pricing', headers: { ...AUTH, 'content-type': 'text/plain' }, payload: 'percent=10' });
  t.equal(text.statusCode, 415);
  t.equal(await readFile(join(w.flagsDir, 'routes.json'), 'utf8'), original, 'flag file unchanged');
  const audit = (await w.app.inject({ url: '/admin/audit', headers: AUTH })).json() as AuditResponse;
  t.same(audit.entries, [], 'nothing audited');
});

t.test('broken flag files: a change is refused, nothing written', async (t) => {
  const w = await adminWorld(t);
  await writeFile(join(w.flagsDir, 'broken.json'), '{ "version": 1, "features": [ ');
  const r = await w.app.inject({ method: 'PUT', url: '/admin/routes/pricing', headers: AUTH, payload: { percent: 100 } });
  t.equal(r.statusCode, 409);
  t.match(r.json(), { code: 'GW_ERR_ADMIN_FLAG_WRITE_FAILED', detail: /broken\.json/ });
  t.match(await route(w), /pricing=legacy/);
});

t.test('a deleted flag file: the last good flags stay, reported stale in the admin API and /metrics', async (t) => {
  const w = await adminWorld(t);
  t.equal((await w.app.inject({ method: 'PUT', url: '/admin/routes/pricing', headers: AUTH, payload: { percent: 100 } })).statusCode, 200);
  const staleMetric = async () => /^gateway_flags_stale\{source="file"\} (\d)$/m.exec((await w.app.inject({ url: '/metrics' })).body)?.[1];
  t.equal(await staleMetric(), '0', 'gateway_flags_stale 0 while the files load');
  await rm(join(w.flagsDir, 'routes.json'));
  await t.rejects(w.app.gw.flags.reload!(), /routes\.json: deleted/);
  const routes = (await w.app.inject({ url: '/admin/routes', headers: AUTH })).json() as RoutesResponse;
  t.match(routes.stale, /routes\.json: deleted/, 'the admin API says the flags are stale, and why');
  t.match(routes.routes[0], { context: 'pricing', rollout: 100 }, 'and shows the flags still in force');
  t.match(await route(w), /pricing=new/, 'routing stays on the last good flags, not legacy');
  t.equal(await staleMetric(), '1', 'gateway_flags_stale 1');
});

t.test('audit: every change appended (fsynced) and readable after the gateway is rebuilt', async (t) => {
  const w = await adminWorld(t);
  const steps: [string, string, object][] = [
    ['PUT', '/admin/routes/pricing', { percent: 10, reason: 'start canary' }],
    ['PUT', '/admin/routes/pricing', { percent: 50, stickiness: 'userId' }],
    ['PUT', '/admin/routes/inventory', { percent: 100, site: 'apparel-uk' }],
    ['POST', '/admin/routes/pricing/kill', { reason: 'errors' }],
  ];
  for (const [i, [method, url, payload]] of steps.entries()) {
    const r = await w.app.inject({ method: method as 'PUT' | 'POST', url, headers: { ...AUTH, 'x-actor': `op-${i}`, 'x-request-id': `req-${i}` }, payload });
    t.equal(r.statusCode, 200, `${method} ${url}`);
  }
  const lines = (await readFile(w.auditPath, 'utf8')).trim().split('\n');
  t.equal(lines.length, 4, 'one JSON line per change, on disk before the answer');
  t.match(JSON.parse(lines[0]!), { actor: 'op-0', context: 'pricing', requestId: 'req-0', reason: 'start canary', before: { rollout: 0 }, after: { rollout: 10 } });

  const read = (await w.app.inject({ url: '/admin/audit', headers: AUTH })).json() as AuditResponse;
  t.same(
    read.entries.map((e) => [e.actor, e.action, e.context]),
    [
      ['op-3', 'kill', 'pricing'],
      ['op-2', 'route', 'inventory'],
      ['op-1', 'route', 'pricing'],
      ['op-0', 'route', 'pricing'],
    ],
    'newest first',
  );
  t.match(read.entries[2], { before: { rollout: 10, stickiness: 'default' }, after: { rollout: 50, stickiness: 'userId' }, reason: null, requestId: 'req-1' });
  const limited = (await w.app.inject({ url: '/admin/audit?limit=2', headers: AUTH })).json() as AuditResponse;
  t.same(
    limited.entries.map((e) => e.actor),
    ['op-3', 'op-2'],
  );
  const inventory = (await w.app.inject({ url: '/admin/audit?context=inventory', headers: AUTH })).json() as AuditResponse;
  t.same(
    inventory.entries.map((e) => e.actor),
    ['op-2'],
  );
  t.equal((await w.app.inject({ url: '/admin/audit?limit=0', headers: AUTH })).statusCode, 400);
  t.equal((await w.app.inject({ url: '/admin/audit?limit=5000', headers: AUTH })).statusCode, 400);

  // A crash mid-append leaves a torn last line: it is skipped, the rest still reads.
  await writeFile(w.auditPath, `${(await readFile(w.auditPath, 'utf8')).trimEnd()}\n{"id":"torn`);

  // A new gateway on the same files: the trail and the flags are what the first one left.
  const config = loadConfig({ ...NO_SHED, FLAGS_DIR: w.flagsDir, LOG_LEVEL: 'silent', ADMIN_TOKEN: TOKEN, AUDIT_LOG_PATH: w.auditPath });
  const b = w.backends;
  const app2 = await buildGateway({ config, upstreamUrls: { legacy: b.legacy.url, pricing: b.pricing.url, inventory: b.inventory.url, promotions: b.promotions.url }, logger: false });
  t.teardown(() => app2.close());
  const after = (await app2.inject({ url: '/admin/audit', headers: AUTH })).json() as AuditResponse;
  t.equal(after.entries.length, 4, 'all four changes survive the restart');
  t.equal(after.skipped, 1, 'the torn line is counted, not returned');
  t.equal(after.entries[0]!.actor, 'op-3');
  const r = await app2.inject({ url: '/api/v1/sites/apparel-uk/products/3000001', headers: { 'x-user-id': 'u-1' } });
  t.equal(r.headers['x-strangler-route'], 'pricing=legacy, inventory=new, promotions=legacy', 'the rebuilt gateway routes on the written flags');
  const more = await app2.inject({ method: 'PUT', url: '/admin/routes/promotions', headers: AUTH, payload: { percent: 5 } });
  t.equal(more.statusCode, 200);
  t.equal((await readFile(w.auditPath, 'utf8')).split('\n').filter((l) => l.startsWith('{"id":"') && l.endsWith('}')).length, 5, 'the rebuilt gateway appends to the same trail');
});

t.test('the audit trail records hand edits of the flag files too, and an admin change once', async (t) => {
  const w = await adminWorld(t);
  t.equal((await w.app.inject({ method: 'PUT', url: '/admin/routes/pricing', headers: { ...AUTH, 'x-actor': 'alice' }, payload: { percent: 10 } })).statusCode, 200);
  // an operator edits routes.json by hand: pricing to 30 %, inventory on for one site
  const edited = flagFile({ pricing: 30, inventory: 100 }) as { features: { name: string; strategies: { constraints: object[] }[] }[] };
  edited.features.find((f) => f.name === 'route.inventory')!.strategies[0]!.constraints.push({ contextName: 'baseSiteId', operator: 'IN', values: ['apparel-uk'] });
  await w.setFlags(edited);
  // the file is polled too: give the poll time to see the edit again, it must not record it twice
  await new Promise((r) => setTimeout(r, 600));
  const read = (await w.app.inject({ url: '/admin/audit', headers: AUTH })).json() as AuditResponse;
  t.match(
    read.entries,
    [
      { action: 'observed', source: 'file', context: 'inventory', actor: 'unknown', location: join(w.flagsDir, 'routes.json'), before: { rollout: 0, constraints: [] }, after: { rollout: 100, constraints: [{ contextName: 'baseSiteId', values: ['apparel-uk'] }] } },
      { action: 'observed', source: 'file', context: 'pricing', before: { rollout: 10 }, after: { rollout: 30 }, reason: null },
      { action: 'route', source: 'admin', context: 'pricing', actor: 'alice', before: { rollout: 0 }, after: { rollout: 10 } },
    ],
  );
  t.same(
    read.entries.map((e) => `${e.source} ${e.context}`).sort(),
    ['admin pricing', 'file inventory', 'file pricing'],
    'the admin change is not recorded again as a file change; promotions, unchanged, is not recorded',
  );
  t.notOk(read.entries[0]!.requestId, 'an observed change has no request');
  // the flags are then deleted: routing keeps the last good flags, so nothing changed
  await rm(join(w.flagsDir, 'routes.json'));
  await w.app.gw.flags.reload!().catch(() => undefined);
  t.equal(((await w.app.inject({ url: '/admin/audit', headers: AUTH })).json() as AuditResponse).entries.length, 3, 'a deleted file changes no route');
});

t.test('concurrent changes are serialized: none lost, every one audited', async (t) => {
  const w = await adminWorld(t);
  const calls = [];
  for (let i = 0; i < 12; i++) {
    const ctx = (['pricing', 'inventory', 'promotions'] as const)[i % 3];
    calls.push(w.app.inject({ method: 'PUT', url: `/admin/routes/${ctx}`, headers: AUTH, payload: { percent: i + 1 } }));
  }
  const res = await Promise.all(calls);
  t.same(
    res.map((r) => r.statusCode),
    Array(12).fill(200),
  );
  const routes = (await w.app.inject({ url: '/admin/routes', headers: AUTH })).json() as RoutesResponse;
  const final = routes.routes.map((r) => r.rollout);
  t.same(final, [10, 11, 12], 'the last write of each context wins, none is lost to an interleaved read-modify-write');
  const audit = (await w.app.inject({ url: '/admin/audit?limit=100', headers: AUTH })).json() as AuditResponse;
  t.equal(audit.entries.length, 12);
  for (const e of audit.entries) t.equal(e.after.rollout, e.requested?.percent);
});

t.test('the audit trail cannot be written: 500 problem that says the change was applied', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'not-a-dir'), 'x');
  const w = await startWorld(t, {}, { ...NO_SHED, ADMIN_TOKEN: TOKEN, AUDIT_LOG_PATH: join(dir, 'not-a-dir', 'audit.jsonl') });
  const r = await w.app.inject({ method: 'PUT', url: '/admin/routes/pricing', headers: AUTH, payload: { percent: 100 } });
  t.equal(r.statusCode, 500);
  t.match(r.json(), { code: 'GW_ERR_ADMIN_AUDIT_FAILED', detail: /was applied but could not be recorded/ });
  t.match(await route(w), /pricing=new/, 'the change is in force, as the error says');
});

t.test('admin configuration: audit path, and where Unleash writes go', async (t) => {
  t.equal(loadConfig({}).auditLogPath, 'var/audit.jsonl');
  const base = { UNLEASH_URL: 'http://unleash:4242/api', UNLEASH_API_TOKEN: 'default:production.abc123' };
  t.match(loadConfig(base).flags, { source: 'unleash', admin: undefined }, 'no admin token: Unleash is read-only to the gateway');
  t.match(loadConfig({ ...base, UNLEASH_ADMIN_TOKEN: 'admin-secret' }).flags, { admin: { token: 'admin-secret', project: 'default', environment: 'production' } }, 'environment read from the client token');
  t.match(loadConfig({ ...base, UNLEASH_ADMIN_TOKEN: 'a', UNLEASH_ENVIRONMENT: 'staging', UNLEASH_PROJECT: 'shop' }).flags, { admin: { project: 'shop', environment: 'staging' } });
  t.match(loadConfig({ ...base, UNLEASH_API_TOKEN: 'opaque-token', UNLEASH_ADMIN_TOKEN: 'a' }).flags, { admin: { environment: 'development' } }, 'an opaque token: development');
  t.throws(() => loadConfig({ ADMIN_TOKEN: 'short' }), /ADMIN_TOKEN/, 'a guessable admin token is refused at boot');
});

t.test('GET /admin/routes shows the last minute of traffic per context', async (t) => {
  const w = await adminWorld(t, { FALLBACK_CONTEXTS: 'none' });
  await w.app.inject({ method: 'PUT', url: '/admin/routes/pricing', headers: AUTH, payload: { percent: 100 } });
  for (let i = 0; i < 12; i++) await w.app.inject({ url: PRODUCT });
  await fetch(`${w.backends.pricing.url}/__faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ errorRate: 1 }) });
  for (let i = 0; i < 4; i++) t.equal((await w.app.inject({ url: PRODUCT })).statusCode, 502);
  await new Promise((r) => setTimeout(r, 1100)); // the window counts full seconds only
  const routes = (await w.app.inject({ url: '/admin/routes', headers: AUTH })).json() as { routes: { context: string; traffic?: { reqPerSec: number; errorRate: number } }[] };
  const pricing = routes.routes.find((r) => r.context === 'pricing');
  t.ok(pricing?.traffic, 'traffic is reported');
  t.equal(Math.round((pricing?.traffic?.reqPerSec ?? 0) * 60), 16, '16 requests in the last minute');
  t.equal(pricing?.traffic?.errorRate, 0.25, '4 of them failed');
});

t.test('flag files with GATEWAY_INSTANCES > 1: a change is refused (409), never written to one host only', async (t) => {
  const w = await adminWorld(t, { GATEWAY_INSTANCES: '3' });
  const before = await readFile(join(w.flagsDir, 'routes.json'), 'utf8');
  const r = await w.app.inject({ method: 'PUT', url: '/admin/routes/pricing', headers: AUTH, payload: { percent: 100 } });
  t.equal(r.statusCode, 409);
  t.match(r.headers['content-type'], /^application\/problem\+json/);
  t.match(r.json(), { code: 'GW_ERR_ADMIN_FLAGS_READ_ONLY', detail: /single-host mode and GATEWAY_INSTANCES=3/ });
  t.equal(await readFile(join(w.flagsDir, 'routes.json'), 'utf8'), before, 'the flag file is untouched');
  t.equal(((await w.app.inject({ url: '/admin/routes', headers: AUTH })).json() as RoutesResponse).writable, false, '/admin/routes says so');
  t.equal(await route(w), 'pricing=legacy, inventory=legacy, promotions=legacy', 'routing unchanged');
});
