/**
 * Issue 20: one arm per shopper across every surface. Simulated shoppers walk a storefront's
 * journey (product page, search, add to cart, cart page, login with cart merge, cart page) the
 * way a Spartacus storefront calls OCC, under a 50 % rollout of every context, and each must see
 * one arm per context from its first request to its last (`x-strangler-route`), while the
 * arm-change counter stays at 0. Cookie-jar browsers, and bearer-only clients that keep no
 * cookie; bindings in memory (one gateway) and in Redis (two gateways taking turns).
 */
import t, { type Test } from 'tap';
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { startWorld, type World } from '../helpers/world.js';
import { upstreamUrlsOf } from '../../backends/index.js';
import { buildGateway } from '../../src/app.js';
import { loadConfig } from '../../src/config/load.js';
import { serviceGate, REDIS_URL } from '../helpers/services.js';

const SITE = 'electronics-spa';
const SHOPPERS = 200;
const FIELDS = 'fields=FULL&lang=en&curr=USD';
const ROLLOUT = { pricing: 50, inventory: 50, promotions: 50 };
/** The machine running the tests is shared: slow upstreams are not what this suite is about. */
const PATIENT = { UPSTREAM_TIMEOUT_MS: '15000', REQUEST_BUDGET_MS: '30000' };
/** shoppers walking at the same time */
const CONCURRENT = 10;

type Arms = Map<string, Set<string>>;

/** A shopper's browser or app: its cookies (a jar, or none), its bearer, what it was routed to. */
class Client {
  readonly cookies = new Map<string, string>();
  bearer: string | undefined;
  readonly arms: Arms = new Map();
  requests = 0;
  private turn = 0;

  constructor(
    private readonly gateways: readonly FastifyInstance[],
    readonly name: string,
    private readonly keepsCookies: boolean,
    private readonly userAgent: string,
  ) {}

  async call(method: 'GET' | 'POST', url: string, payload?: object | string, extra: Record<string, string> = {}): Promise<LightMyRequestResponse> {
    const headers: Record<string, string> = { 'user-agent': this.userAgent, accept: 'application/json', ...extra };
    if (this.cookies.size > 0) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    if (this.bearer !== undefined) headers.authorization = `Bearer ${this.bearer}`;
    if (typeof payload === 'string') headers['content-type'] = 'application/x-www-form-urlencoded';
    // several gateway instances: the load balancer sends each request to the next one
    const gw = this.gateways[this.turn++ % this.gateways.length]!;
    const r = await gw.inject({ method, url, headers, ...(payload === undefined ? {} : { payload }) });
    this.requests++;
    if (this.keepsCookies) {
      const set = r.headers['set-cookie'];
      for (const c of Array.isArray(set) ? set : set ? [set] : []) {
        const [pair] = c.split(';');
        const eq = pair!.indexOf('=');
        this.cookies.set(pair!.slice(0, eq).trim(), pair!.slice(eq + 1).trim());
      }
    }
    const route = r.headers['x-strangler-route'];
    if (typeof route === 'string') {
      for (const part of route.split(', ')) {
        const [context, arm] = part.split('=') as [string, string];
        // a read that fell back was still routed to new: the decision is what stickiness is about
        const decided = arm === 'legacy(fallback)' ? 'new' : arm;
        let seen = this.arms.get(context);
        if (!seen) this.arms.set(context, (seen = new Set()));
        seen.add(`${decided}`);
      }
    }
    return r;
  }
}

function ok(t: Test, r: LightMyRequestResponse, what: string): void {
  if (r.statusCode >= 300) t.fail(`${what}: ${r.statusCode} ${r.body.slice(0, 200)}`);
}

/**
 * The journey, as Spartacus calls OCC. With `previousCart`, the user already has a cart from an
 * earlier session, and the login merges the anonymous cart into it (`toMergeCartGuid`).
 */
async function journey(t: Test, c: Client, i: number, anonymousToken: string | undefined, previousCart: string | undefined): Promise<void> {
  const sku = String(1000200 + (i % 50));
  c.bearer = anonymousToken;
  ok(t, await c.call('GET', `/occ/v2/${SITE}/products/${sku}?${FIELDS}`), `${c.name} product page`);
  ok(t, await c.call('GET', `/occ/v2/${SITE}/products/search?query=camera&pageSize=5&${FIELDS}`), `${c.name} search`);
  const created = await c.call('POST', `/occ/v2/${SITE}/users/anonymous/carts?fields=DEFAULT`);
  ok(t, created, `${c.name} create cart`);
  const guid = created.json().guid as string;
  ok(t, await c.call('POST', `/occ/v2/${SITE}/users/anonymous/carts/${guid}/entries?fields=DEFAULT`, { product: { code: sku }, quantity: 1 }), `${c.name} add to cart`);
  ok(t, await c.call('GET', `/occ/v2/${SITE}/users/anonymous/carts/${guid}?fields=DEFAULT`), `${c.name} mini cart`);
  ok(t, await c.call('GET', `/occ/v2/${SITE}/users/anonymous/carts/${guid}?fields=FULL`), `${c.name} cart page`);

  // login: the token (through the passthrough), the user's carts, then the merge
  c.bearer = undefined;
  const login = await c.call('POST', '/authorizationserver/oauth/token', `grant_type=password&username=${c.name}%40example.com&password=pw&client_id=mobile_android&client_secret=secret`);
  ok(t, login, `${c.name} login`);
  c.bearer = login.json().access_token as string;
  ok(t, await c.call('GET', `/occ/v2/${SITE}/users/current/carts?fields=carts(guid,code)`), `${c.name} user carts`);
  const merge = `/occ/v2/${SITE}/users/current/carts?fields=DEFAULT&oldCartId=${guid}${previousCart ? `&toMergeCartGuid=${previousCart}` : ''}`;
  const merged = await c.call('POST', merge);
  ok(t, merged, `${c.name} merge`);
  const code = merged.json().code as string;
  ok(t, await c.call('GET', `/occ/v2/${SITE}/users/current/carts/${code}?fields=FULL`), `${c.name} cart page after login`);
  ok(t, await c.call('GET', `/occ/v2/${SITE}/products/${sku}?${FIELDS}`), `${c.name} product page after login`);
  ok(t, await c.call('GET', `/occ/v2/${SITE}/users/current/carts/current?fields=FULL`), `${c.name} current cart`);
}

/** A cart the user left in an earlier session (another token), for the toMergeCartGuid merge. */
async function earlierCart(gw: FastifyInstance, user: string): Promise<string> {
  const login = await gw.inject({ method: 'POST', url: '/authorizationserver/oauth/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: `grant_type=password&username=${user}%40example.com&password=pw` });
  const authorization = `Bearer ${login.json().access_token as string}`;
  const cart = await gw.inject({ method: 'POST', url: `/occ/v2/${SITE}/users/current/carts`, headers: { authorization } });
  const { guid, code } = cart.json() as { guid: string; code: string };
  await gw.inject({ method: 'POST', url: `/occ/v2/${SITE}/users/current/carts/${code}/entries`, headers: { authorization }, payload: { product: { code: '1000300' }, quantity: 1 } });
  return guid;
}

async function clientToken(gw: FastifyInstance): Promise<string> {
  const r = await gw.inject({ method: 'POST', url: '/authorizationserver/oauth/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'grant_type=client_credentials&client_id=mobile_android&client_secret=secret' });
  return r.json().access_token as string;
}

async function metric(gw: FastifyInstance, name: string): Promise<Map<string, number>> {
  const text = (await gw.inject({ url: '/metrics' })).body;
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /\{([^}]*)\}\s+(\S+)$/.exec(line);
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

async function runShoppers(t: Test, gateways: FastifyInstance[], kind: 'cookie-jar' | 'bearer-only'): Promise<void> {
  const run = randomBytes(4).toString('hex');
  const clients: Client[] = [];
  // warm the catalog and search index first (they build on first use, on this test's event loop)
  for (const gw of gateways) {
    await gw.inject({ url: `/occ/v2/${SITE}/products/1000200?${FIELDS}`, headers: { 'x-user-id': 'warm-up' } });
    await gw.inject({ url: `/occ/v2/${SITE}/products/search?query=camera&pageSize=5&${FIELDS}`, headers: { 'x-user-id': 'warm-up' } });
  }
  for (let start = 0; start < SHOPPERS; start += CONCURRENT) {
    // a few shoppers at a time, each one's requests in order
    await Promise.all(
      Array.from({ length: CONCURRENT }, async (_, j) => {
        const i = start + j;
        const name = `${kind}-${run}-${i}`;
        // browsers differ by user agent; the apps are one build, one user agent
        const ua = kind === 'cookie-jar' ? `Mozilla/5.0 (shopper ${i}) Chrome/131.0` : 'ShopApp/4.2 (Android 14)';
        const c = new Client(gateways, name, kind === 'cookie-jar', ua);
        clients.push(c);
        const previous = i % 2 === 0 ? await earlierCart(gateways[0]!, name) : undefined;
        const anonymousToken = kind === 'bearer-only' ? await clientToken(gateways[0]!) : undefined;
        await journey(t, c, i, anonymousToken, previous);
      }),
    );
  }
  let mixed = 0;
  const onNew: Record<string, number> = {};
  for (const c of clients) {
    for (const [context, arms] of c.arms) {
      if (arms.size !== 1) {
        mixed++;
        if (mixed <= 5) t.fail(`${c.name}: ${context} served by ${[...arms].join(' and ')}`);
      }
      if (arms.has('new')) onNew[context] = (onNew[context] ?? 0) + 1;
    }
  }
  t.equal(mixed, 0, `${kind}: every shopper saw one arm per context, first request to last (${clients.length} shoppers, ${clients.reduce((s, c) => s + c.requests, 0)} requests)`);
  for (const context of ['pricing', 'inventory', 'promotions']) {
    t.equal(clients.filter((c) => c.arms.has(context)).length, SHOPPERS, `${context}: every shopper was routed`);
    const share = (onNew[context] ?? 0) / SHOPPERS;
    t.ok(share > 0.3 && share < 0.7, `${context}: the shoppers are spread over both arms (${Math.round(share * 100)} % on new)`);
  }
  for (const gw of gateways) {
    const changes = await metric(gw, 'gateway_stickiness_arm_changes_total');
    t.equal([...changes.values()].reduce((s, v) => s + v, 0), 0, 'the arm-change counter reads 0');
  }
}

async function secondGateway(t: Test, w: World, env: Record<string, string>): Promise<FastifyInstance> {
  const app = await buildGateway({ config: loadConfig({ FLAGS_DIR: w.flagsDir, LOG_LEVEL: 'silent', SHED_EVENT_LOOP_DELAY_MS: '0', ...env }), upstreamUrls: upstreamUrlsOf(w.backends), logger: false });
  await app.ready();
  t.teardown(() => app.close());
  return app;
}

const redisSkip = await serviceGate(t, 'Redis', '127.0.0.1', 6379);

t.test('200 cookie-jar shoppers keep one arm per context (bindings in memory)', async (t) => {
  const w = await startWorld(t, ROLLOUT, PATIENT);
  t.equal(w.app.gw.stickiness.store.kind, 'memory');
  await runShoppers(t, [w.app], 'cookie-jar');
  const sources = await metric(w.app, 'gateway_stickiness_source_total');
  for (const s of ['cookie', 'cart', 'bearer-hash']) t.ok((sources.get(`source="${s}"`) ?? 0) > 0, `decisions keyed by ${s}`);
});

t.test('200 bearer-only clients keep one arm per context (bindings in memory)', async (t) => {
  const w = await startWorld(t, ROLLOUT, PATIENT);
  await runShoppers(t, [w.app], 'bearer-only');
});

t.test('two gateways sharing bindings in Redis: shoppers alternate between them', { skip: redisSkip }, async (t) => {
  const env = { ...PATIENT, REDIS_URL, STICKY_REDIS_PREFIX: `test:sticky:${randomBytes(6).toString('hex')}:`, STICKY_SECRET: randomBytes(24).toString('hex') };
  const w = await startWorld(t, ROLLOUT, env);
  const b = await secondGateway(t, w, env);
  t.equal(w.app.gw.stickiness.store.kind, 'redis');
  await t.test('cookie-jar shoppers', (t) => runShoppers(t, [w.app, b], 'cookie-jar'));
  await t.test('bearer-only clients', (t) => runShoppers(t, [w.app, b], 'bearer-only'));
});

t.test('the same shopper on OCC, canonical REST and GraphQL gets the same arms', async (t) => {
  const w = await startWorld(t, ROLLOUT, PATIENT);
  let differing = 0;
  for (let i = 0; i < 30; i++) {
    const first = await w.app.inject({ url: `/occ/v2/${SITE}/products/1000004?${FIELDS}`, headers: { 'user-agent': `browser ${i}` } });
    const set = String(first.headers['set-cookie']);
    t.match(set, /^strangler_sticky=[^;]+; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Lax; Secure$/, 'the sticky cookie: HttpOnly, SameSite=Lax, Secure');
    const cookie = set.split(';')[0]!;
    // another device on another address would not matter: the cookie is what identifies it now
    const rest = await w.app.inject({ url: `/api/v1/sites/${SITE}/products/1000004`, headers: { cookie, 'user-agent': 'other' } });
    const gql = await w.app.inject({ method: 'POST', url: '/graphql', headers: { cookie, 'user-agent': 'other' }, payload: { query: `{ product(site: "${SITE}", sku: "1000004") { price { amount } availability { status } } }` } });
    t.notOk(rest.headers['set-cookie'], 'a valid cookie is not replaced');
    const arm = (r: LightMyRequestResponse, c: string) => new RegExp(`${c}=(\\w+)`).exec(String(r.headers['x-strangler-route']))?.[1];
    for (const c of ['pricing', 'inventory']) {
      if (arm(rest, c) !== arm(first, c) || arm(gql, c) !== arm(first, c)) differing++;
    }
  }
  t.equal(differing, 0, 'one arm per context on every surface');
});

t.test('bad input: tampered or foreign cookies are replaced, malformed bearers get a stable key, oversized ones a 431', async (t) => {
  const w = await startWorld(t, ROLLOUT, PATIENT);
  const url = `/api/v1/sites/${SITE}/products/1000004`;
  const first = await w.app.inject({ url, headers: { 'user-agent': 'ua-1' } });
  const good = String(first.headers['set-cookie']).split(';')[0]!;
  const [name, value] = good.split('=') as [string, string];
  const dot = value.lastIndexOf('.');
  const [id, sig] = [value.slice(0, dot), value.slice(dot + 1)];

  const tampered = await w.app.inject({ url, headers: { cookie: `${name}=${id.slice(0, -1)}${id.endsWith('A') ? 'B' : 'A'}.${sig}`, 'user-agent': 'ua-2' } });
  t.equal(tampered.statusCode, 200, 'a tampered cookie is no error');
  t.match(String(tampered.headers['set-cookie']), /^strangler_sticky=/, 'and it is replaced');
  const foreign = await w.app.inject({ url, headers: { cookie: `${name}=${id}.AAAAAAAAAAAAAAAAAAAAAA`, 'user-agent': 'ua-3' } });
  t.equal(foreign.statusCode, 200);
  t.ok(foreign.headers['set-cookie'], 'a cookie the gateway did not sign is replaced');
  t.not(String(foreign.headers['set-cookie']).split(';')[0], `${name}=${id}.AAAAAAAAAAAAAAAAAAAAAA`);

  const garbage = ['not-a-jwt', 'a.b.c', 'eyJhbGciOiJub25lIn0.eyJzdWIiOjEyM30.', '....'];
  for (const token of garbage) {
    const routes = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const r = await w.app.inject({ url, headers: { authorization: `Bearer ${token}`, 'user-agent': `ua-${i}` } });
      t.equal(r.statusCode, 200);
      t.notOk(r.headers['set-cookie'], 'a bearer is an identity: no cookie');
      routes.add(String(r.headers['x-strangler-route']));
    }
    t.equal(routes.size, 1, `bearer "${token}" always routes the same`);
  }

  const bigToken = await w.app.inject({ url, headers: { authorization: `Bearer ${'x'.repeat(9000)}` } });
  t.equal(bigToken.statusCode, 431);
  t.match(bigToken.headers['content-type'], /application\/problem\+json/);
  t.equal(bigToken.json().code, 'GW_ERR_REQUEST_HEADERS_TOO_LARGE');
  t.notMatch(bigToken.body, /xxxxxxxx/, 'the token is not echoed');
  const bigCookie = await w.app.inject({ url: `/occ/v2/${SITE}/products/1000004`, headers: { cookie: `${name}=${'y'.repeat(300)}` } });
  t.equal(bigCookie.statusCode, 431);
  t.equal(bigCookie.json().errors[0].reason, 'GW_ERR_REQUEST_HEADERS_TOO_LARGE', 'OCC clients get an ErrorList');
});

t.test('a JWT routes by its subject: the same user as x-user-id and the OCC path', async (t) => {
  const w = await startWorld(t, ROLLOUT, PATIENT);
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  let differing = 0;
  for (let i = 0; i < 20; i++) {
    const user = `jwt-user-${i}@example.com`;
    const jwt = `${b64({ alg: 'RS256' })}.${b64({ sub: user, exp: 1 })}.c2lnbmF0dXJl`;
    const viaJwt = await w.app.inject({ url: `/api/v1/sites/${SITE}/products/1000004`, headers: { authorization: `Bearer ${jwt}` } });
    const viaHeader = await w.app.inject({ url: `/api/v1/sites/${SITE}/products/1000004`, headers: { 'x-user-id': user } });
    if (viaJwt.headers['x-strangler-route'] !== viaHeader.headers['x-strangler-route']) differing++;
  }
  t.equal(differing, 0, 'the sub of a JWT and x-user-id name the same shopper');
  const sources = await metric(w.app, 'gateway_stickiness_source_total');
  t.equal(sources.get('source="jwt-sub"'), 20);
  t.equal(sources.get('source="header-user"'), 20);
});
