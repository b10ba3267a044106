/**
 * The gateway against a real Unleash (unleash-server 7.5.1 on the machine's PostgreSQL): route
 * flags created through Unleash's Admin API, rollout changes made through our admin API, the
 * CLI and Unleash itself all reach routing within the refresh interval, Unleash stays the
 * source of truth, and routing carries on on the last known flags when Unleash goes down.
 *
 * Needs PostgreSQL (TEST_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/postgres);
 * skips with the reason without it, unless REQUIRE_SERVICES=1, which makes that a failure.
 * One Unleash instance for the whole file: its boot (migrations) is the slow part.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startWorld, type World } from '../helpers/world.js';
import { postgresUnavailable, startUnleash, POSTGRES_URL, type UnleashServer } from '../helpers/unleash-server.js';
import type { AuditEntry, ChangeResponse, RoutesResponse } from '../../src/admin/schemas.js';

const TOKEN = 'unleash-suite-admin-token-42';
const AUTH = { authorization: `Bearer ${TOKEN}` };
const REFRESH_MS = 300;
/** Room for a loaded 2-core CI machine on top of the refresh interval. */
const SLACK_MS = 4000;
/** Load shedding is tested on its own; here a loaded CI machine must not turn answers into 503s. */
const NO_SHED = { SHED_EVENT_LOOP_DELAY_MS: '0' };

t.setTimeout(600_000);

const unavailable = await postgresUnavailable();
if (unavailable) {
  const why = `needs PostgreSQL on ${new URL(POSTGRES_URL).host} for a real Unleash (${unavailable})`;
  if (process.env.REQUIRE_SERVICES === '1') t.fail(`${why}; REQUIRE_SERVICES=1 makes this a failure`);
  else t.plan(0, `${why}; set REQUIRE_SERVICES=1 to fail instead`);
} else {
  await suite();
}

async function routeHeader(w: World, user = 'u-1'): Promise<string> {
  const r = await w.app.inject({ url: '/api/v1/sites/electronics-spa/products/1000001', headers: { 'x-user-id': user } });
  if (r.statusCode !== 200) throw new Error(`product request failed: ${r.statusCode} ${r.body}`);
  return String(r.headers['x-strangler-route']);
}

/** Polls routing until `want` matches; returns how long it took. */
async function waitForRoute(w: World, want: RegExp, withinMs: number): Promise<number> {
  const start = Date.now();
  let last = '';
  while (Date.now() - start < withinMs) {
    last = await routeHeader(w);
    if (want.test(last)) return Date.now() - start;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`routing did not become ${want} within ${withinMs} ms (last: ${last})`);
}

function cli(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  const { NODE_OPTIONS: _l, ...base } = process.env;
  return new Promise((resolve) => {
    execFile(process.execPath, [join(process.cwd(), 'bin', 'strangler.js'), ...args], { env: { ...base, ...env }, timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

async function suite(): Promise<void> {
  let unleash: UnleashServer;
  try {
    unleash = await startUnleash();
  } catch (err) {
    t.fail(`could not start unleash-server: ${(err as Error).message}`);
    return;
  }
  t.teardown(() => unleash.close());
  t.comment(`unleash-server at ${unleash.url}, database ${unleash.database}`);

  // The route flags as an operator would create them in Unleash; promotions is left out on
  // purpose: the admin API creates it on first use.
  await unleash.admin.createRouteFlag('route.pricing', { rollout: 0, stickiness: 'userId' });
  await unleash.admin.createRouteFlag('route.inventory', { rollout: 0, constraints: [{ contextName: 'baseSiteId', operator: 'IN', values: ['electronics-spa'] }] });

  const dir = await mkdtemp(join(tmpdir(), 'strangler-unleash-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const auditPath = join(dir, 'audit.jsonl');
  const w = await startWorld(t, {}, {
    ...NO_SHED,
    UNLEASH_URL: unleash.url,
    UNLEASH_API_TOKEN: unleash.clientToken,
    UNLEASH_ADMIN_TOKEN: unleash.adminToken,
    UNLEASH_REFRESH_MS: String(REFRESH_MS),
    ADMIN_TOKEN: TOKEN,
    AUDIT_LOG_PATH: auditPath,
  });
  const bound = REFRESH_MS + 1000 + SLACK_MS;

  await t.test('the gateway routes on the flags Unleash holds', async (t) => {
    t.equal(w.app.gw.flags.source, 'unleash');
    t.equal(await routeHeader(w), 'pricing=legacy, inventory=legacy, promotions=legacy');
    const routes = (await w.app.inject({ url: '/admin/routes', headers: AUTH })).json() as RoutesResponse;
    t.match(routes, { source: 'unleash', writable: true, stale: null, location: `${unleash.url} (project default, environment development)` });
    t.match(routes.routes, [
      { context: 'pricing', source: 'unleash', defined: true, enabled: true, rollout: 0, stickiness: 'userId', constraints: [] },
      { context: 'inventory', defined: true, rollout: 0, stickiness: 'default', constraints: [{ contextName: 'baseSiteId', operator: 'IN', values: ['electronics-spa'] }] },
      { context: 'promotions', defined: false },
    ]);
  });

  await t.test('a change through the admin API is written to Unleash and routes within the refresh interval', async (t) => {
    const r = await w.app.inject({
      method: 'PUT',
      url: '/admin/routes/pricing',
      headers: { ...AUTH, 'x-actor': 'alice' },
      payload: { percent: 100, reason: 'pricing canary complete' },
    });
    t.equal(r.statusCode, 200, r.body);
    const res = r.json() as ChangeResponse;
    t.equal(res.effectiveWithinMs, REFRESH_MS + 1000, 'the answer says when routing will follow');
    t.match(res.change, {
      source: 'admin',
      actor: 'alice',
      location: `${unleash.url}/admin/projects/default/features/route.pricing`,
      before: { enabled: true, rollout: 0, stickiness: 'userId' },
      after: { enabled: true, rollout: 100, stickiness: 'userId' },
    });
    const env = await unleash.admin.featureEnvironment('route.pricing');
    t.match(env, { enabled: true, strategies: [{ name: 'flexibleRollout', parameters: { rollout: '100', stickiness: 'userId' } }] }, 'Unleash holds the change');
    t.equal(env!.strategies.length, 1, 'the existing strategy was updated, not duplicated');
    const took = await waitForRoute(w, /pricing=new/, bound);
    t.ok(took <= bound, `routing followed in ${took} ms (refresh ${REFRESH_MS} ms)`);
    await w.app.gw.audit.idle();
    const audit = (await readFile(auditPath, 'utf8')).trim().split('\n');
    t.equal(audit.length, 1, 'recorded once: the gateway then fetching the same change from Unleash adds nothing');
    t.match(JSON.parse(audit[0]!), { source: 'admin', location: `${unleash.url}/admin/projects/default/features/route.pricing`, context: 'pricing', reason: 'pricing canary complete' });
  });

  await t.test('a change made in Unleash directly routes within the refresh interval', async (t) => {
    await unleash.admin.setRollout('route.inventory', 100);
    const took = await waitForRoute(w, /inventory=new/, bound);
    t.ok(took <= bound, `routing followed in ${took} ms`);
    const routes = (await w.app.inject({ url: '/admin/routes', headers: AUTH })).json() as RoutesResponse;
    t.match(routes.routes[1], { context: 'inventory', rollout: 100 }, 'GET /admin/routes shows what the gateway routes on');
    await w.app.gw.audit.idle();
    const audit = (await readFile(auditPath, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as AuditEntry);
    t.equal(audit.length, 2, 'the change made in Unleash is in the audit trail');
    t.match(audit[1], {
      action: 'observed',
      source: 'unleash',
      context: 'inventory',
      location: `${unleash.url}/admin/projects/default/features/route.inventory`,
      before: { rollout: 0, constraints: [{ contextName: 'baseSiteId', values: ['electronics-spa'] }] },
      after: { rollout: 100, constraints: [{ contextName: 'baseSiteId', values: ['electronics-spa'] }] },
    });
    t.not(audit[1]!.actor, 'unknown', `the actor comes from Unleash's event log: ${audit[1]!.actor}`);
  });

  await t.test('a route flag missing in Unleash is created by the first change', async (t) => {
    const r = await w.app.inject({ method: 'PUT', url: '/admin/routes/promotions', headers: AUTH, payload: { percent: 100, site: 'electronics-spa' } });
    t.equal(r.statusCode, 200, r.body);
    t.match((r.json() as ChangeResponse).change, {
      before: { defined: false },
      after: { defined: true, enabled: true, rollout: 100, constraints: [{ contextName: 'baseSiteId', operator: 'IN', values: ['electronics-spa'] }] },
    });
    await waitForRoute(w, /promotions=new/, bound);
  });

  await t.test('strangler kill through the CLI: Unleash disabled, routing back on legacy', async (t) => {
    await w.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = w.app.server.address() as { port: number };
    const r = await cli(['kill', 'pricing', '--reason', 'incident 42', '--actor', 'oncall'], { GATEWAY_URL: `http://127.0.0.1:${port}`, ADMIN_TOKEN: TOKEN });
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, /^pricing: KILLED, every request goes to legacy \(was on 100% userId, now off 0% userId\)$/m);
    t.match(r.stdout, new RegExp(`in force within ${REFRESH_MS + 1000} ms`));
    const env = await unleash.admin.featureEnvironment('route.pricing');
    t.match(env, { enabled: false, strategies: [{ parameters: { rollout: '0' } }] }, 'Unleash: environment off, rollout 0');
    const took = await waitForRoute(w, /pricing=legacy/, bound);
    t.comment(`kill reached routing in ${took} ms`);
    await w.app.gw.audit.idle();
    const audit = (await readFile(auditPath, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as AuditEntry);
    t.same(
      audit.map((e) => `${e.source} ${e.action} ${e.context}`),
      ['admin route pricing', 'unleash observed inventory', 'admin route promotions', 'admin kill pricing'],
      'every admin change once (its steps in Unleash and the fetch that brings it back add nothing), the Unleash change once',
    );
    const status = await cli(['status'], { GATEWAY_URL: `http://127.0.0.1:${port}`, ADMIN_TOKEN: TOKEN });
    t.match(status.stdout, /flags {4}unleash: http:\/\/127\.0\.0\.1:\d+\/api \(project default, environment development\)/);
    t.match(status.stdout, /^pricing +route\.pricing +off +0% +userId +- +unleash /m);
  });

  await t.test('a gateway without UNLEASH_ADMIN_TOKEN cannot write, and says so', async (t) => {
    const ro = await startWorld(t, {}, { ...NO_SHED, UNLEASH_URL: unleash.url, UNLEASH_API_TOKEN: unleash.clientToken, UNLEASH_REFRESH_MS: String(REFRESH_MS), ADMIN_TOKEN: TOKEN, AUDIT_LOG_PATH: join(dir, 'ro.jsonl') });
    const routes = (await ro.app.inject({ url: '/admin/routes', headers: AUTH })).json() as RoutesResponse;
    t.equal(routes.writable, false);
    t.match(routes.routes[1], { context: 'inventory', rollout: 100 }, 'it reads the same flags');
    const r = await ro.app.inject({ method: 'PUT', url: '/admin/routes/inventory', headers: AUTH, payload: { percent: 0 } });
    t.equal(r.statusCode, 409);
    t.match(r.json(), { code: 'GW_ERR_ADMIN_FLAGS_READ_ONLY', detail: /UNLEASH_ADMIN_TOKEN is not set/ });
  });

  await t.test('Unleash goes down: routing continues on the last known flags', async (t) => {
    const before = await routeHeader(w);
    t.equal(before, 'pricing=legacy, inventory=new, promotions=new');
    await unleash.kill();
    t.notOk(unleash.running, 'Unleash is down');
    // Until the gateway has seen fetches fail (unleash-client retries a refused fetch for a
    // few seconds before reporting it) and for at least several refresh intervals: the flags
    // in force must not change.
    const start = Date.now();
    let mismatches = 0;
    let n = 0;
    while ((Date.now() - start < REFRESH_MS * 8 || !w.app.gw.flags.lastError) && Date.now() - start < 30_000) {
      if ((await routeHeader(w, `user-${n % 7}`)) !== before) mismatches++;
      n++;
      await new Promise((r) => setTimeout(r, 100));
    }
    t.equal(mismatches, 0, `${n} requests over ${Date.now() - start} ms of outage all routed on the last known flags`);
    t.ok(w.app.gw.flags.lastError, 'the failing fetches were noticed');
    const routes = (await w.app.inject({ url: '/admin/routes', headers: AUTH })).json() as RoutesResponse;
    t.type(routes.stale, 'string', 'GET /admin/routes reports the flag source as failing');
    t.match(routes.routes, [{ rollout: 0, enabled: false }, { rollout: 100 }, { rollout: 100 }], 'and the flags still in force');
    const ready = await w.app.inject({ url: '/readyz' });
    t.match(ready.json(), { checks: { flags: /^stale: / } });
    const r = await w.app.inject({ method: 'PUT', url: '/admin/routes/pricing', headers: AUTH, payload: { percent: 50 } });
    t.equal(r.statusCode, 503, 'a change cannot be written while Unleash is down');
    t.match(r.json(), { code: 'GW_ERR_ADMIN_FLAG_SOURCE_UNAVAILABLE', detail: /Unleash is unreachable/ });
    t.equal(r.headers['retry-after'], '1');
    t.equal(await routeHeader(w), before, 'and routing is unchanged');
  });
}
