/**
 * Shadow traffic and runtime parity on the embedded world (docs/parity.md): a value fault in the
 * new pricing service is flagged within the first 500 shadowed reads, while every client keeps
 * the routed arm's answer; with no fault nothing is a mismatch and a field that is noisy by
 * nature (a timestamp, in a context registered here) is classified noise; writes are never
 * shadowed; a failing shadow call changes no answer.
 */
import t from 'tap';
import { request } from 'undici';
import { startWorld, type World } from '../helpers/world.js';
import { registerContext } from '../../src/contexts/registry.js';
import { describeContext } from '../../src/contexts/descriptor.js';
import { checkedName, defineIdentity } from '../../src/contexts/names.js';
import type { SiteInfo } from '../../src/occ/legacy-sites.js';
import type { Scope } from '../../src/upstream/scope.js';
import type { SubgraphResolvers } from '../../src/graphql/executor.js';
import { entityKey } from '../../src/graphql/views.js';
import type { GatewayEvent } from '../../src/events/bus.js';
import type { ParityCounts } from '../../src/parity/types.js';
import { Redis } from 'ioredis';
import { run } from '../../src/cli/main.js';
import { REDIS_URL, serviceGate } from '../helpers/services.js';

// A context whose answers carry a field that differs on every call, as a timestamp does: both of
// its arms agree on everything else. Registered before any gateway is built.
interface Stamp {
  readonly value: number;
  readonly observedAt: string;
}
interface StampPort {
  stamps(scope: Scope, site: SiteInfo, skus: readonly string[]): Promise<Map<string, Stamp>>;
}
let tick = 0;
class StampArm implements StampPort {
  async stamps(_scope: Scope, _site: SiteInfo, skus: readonly string[]): Promise<Map<string, Stamp>> {
    return new Map(skus.map((sku) => [sku, { value: sku.length, observedAt: new Date(Date.UTC(2026, 0, 1) + ++tick).toISOString() }]));
  }
}
const stampResolvers: SubgraphResolvers = {
  fields: {
    Product: {
      stamp: async (product, _args, ctx) => {
        const { sku, site } = entityKey(product);
        const stamps = ctx.batch<Stamp>('stamp', async (siteId, skus) => {
          const { scope, site: info } = await ctx.bind(siteId);
          return ctx.gw.ports.of(stampContext, scope).stamps(scope, info, skus);
        });
        return (await stamps.get(site, sku)) ?? null;
      },
    },
  },
};
const stampContext = registerContext(
  describeContext<StampPort>(defineIdentity(checkedName('stamp'), 8191), {
    description: 'a test context whose answers carry a timestamp',
    port: { legacy: () => new StampArm(), new: () => new StampArm() },
    policy: { shadow: { samplePercent: 100 } },
    graphql: {
      sdl: `
type Stamp {
  value: Int!
  observedAt: String!
}
extend type Product @key(fields: "sku") {
  sku: ID! @external
  site: String! @external
  stamp: Stamp @requires(fields: "site")
}
`,
      resolvers: stampResolvers,
    },
  }),
);

const SITE = 'electronics-spa';
const TOKEN = 'shadow-parity-admin-token';
const AUTH = { authorization: `Bearer ${TOKEN}` };
const SKUS = Array.from({ length: 40 }, (_, i) => String(1000001 + i));
const ENV = {
  ADMIN_TOKEN: TOKEN,
  STAMP_URL: 'http://127.0.0.1:9', // the stamp arms call no upstream
  SHADOW_PRICING_PERCENT: '100',
  SHADOW_MAX_PER_SECOND: '100000',
  SHADOW_MAX_CONCURRENT: '256',
  SHADOW_MAX_EVENT_LOOP_DELAY_MS: '0', // comparisons counted exactly: no shedding on a busy test machine
  PARITY_ALARM_MIN_SAMPLES: '20',
  PARITY_ALARM_RATE: '0.2',
};

const total = (c: ParityCounts) => c.match + c.mismatch + c.noise + c.error + c.shed;

/** Waits until the context has `n` verdicts (the shadow runs after the answer, off the request path). */
async function settled(w: World, context: 'pricing' | 'stamp', n: number): Promise<ParityCounts> {
  const ctx = context === 'pricing' ? 'pricing' : stampContext.name;
  for (let i = 0; i < 500; i++) {
    const c = w.app.gw.parity!.counts(ctx);
    if (total(c) >= n) return c;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`${context}: ${total(w.app.gw.parity!.counts(ctx))} verdicts, waited for ${n}`);
}

async function faults(w: World, body: object): Promise<void> {
  const r = await request(`${w.backends.pricing.url}/__faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  await r.body.dump();
  if (r.statusCode !== 200) throw new Error(`PUT /__faults ${JSON.stringify(body)}: ${r.statusCode}`);
}

const priceOf = async (w: World, sku: string) => {
  const r = await w.app.inject({ url: `/api/v1/sites/${SITE}/products/${sku}`, headers: { 'x-request-id': `shadow-${sku}-${Math.random().toString(36).slice(2)}` } });
  return { status: r.statusCode, price: (r.json() as { price?: { amount: number; currency: string } }).price, requestId: String(r.headers['x-request-id']) };
};

t.test('a 2 % value fault in the new pricing service is flagged within 500 shadowed reads; clients keep legacy answers', async (t) => {
  const w = await startWorld(t, {}, ENV); // pricing routed to legacy for everyone; the new arm is the shadow
  const alarms: GatewayEvent[] = [];
  w.app.gw.events.onEmit((e) => {
    if (e.type === 'parity.alarm') alarms.push(e);
  });
  const clean = new Map<string, number>();
  for (const sku of SKUS.slice(0, 10)) clean.set(sku, (await priceOf(w, sku)).price!.amount);
  t.same(await settled(w, 'pricing', 10), { match: 10, mismatch: 0, noise: 0, error: 0, shed: 0 }, 'no fault: every comparison matches');

  await faults(w, { valueSkewRate: 0.02, valueSkewMinor: 1 });
  let shadowed = 10;
  let served = 0;
  while (w.app.gw.parity!.counts('pricing').mismatch === 0 && shadowed < 510) {
    const batch = await Promise.all(SKUS.slice(0, 10).map((sku) => priceOf(w, sku)));
    for (const [i, r] of batch.entries()) {
      t.equal(r.status, 200);
      if (r.price!.amount !== clean.get(SKUS[i]!)) t.fail(`client saw a skewed price for ${SKUS[i]}`);
      served++;
    }
    shadowed += batch.length;
    await settled(w, 'pricing', shadowed);
  }
  const counts = w.app.gw.parity!.counts('pricing');
  t.ok(counts.mismatch >= 1, `mismatch flagged after ${shadowed - 10} shadowed reads with the fault (${JSON.stringify(counts)})`);
  t.ok(shadowed - 10 <= 500, 'within the first 500');
  t.equal(counts.noise, 0, 'a fault of the new arm is not noise: legacy asked twice agrees with itself');
  t.ok(served > 0);

  const detail = await w.app.inject({ url: '/admin/parity/pricing', headers: AUTH });
  t.equal(detail.statusCode, 200);
  const body = detail.json();
  t.equal(body.context, 'pricing');
  t.equal(body.shadowPercent, 100);
  t.same(body.sharedCounts, body.counts, 'no REDIS_URL: shared counts are this instance’s');
  t.same(body.fields, [{ path: 'prices.*.amount', mismatches: counts.mismatch }], 'the mismatching field, by pattern');
  const sample = body.samples[0];
  t.match(sample, { servedBy: 'legacy', requestId: /^shadow-/ });
  t.equal(sample.differences.length, 1);
  const d = sample.differences[0];
  t.match(d.path, /^prices\.\d+\.amount$/);
  t.equal(d.modern - d.legacy, 1, 'off by one minor unit');

  // the business signal: money involved, per currency
  const metrics = (await w.app.inject({ url: '/metrics' })).body;
  t.match(metrics, /gateway_parity_price_difference_minor_total\{context="pricing",currency="[A-Z]{3}"\} \d+/);
  t.match(metrics, new RegExp(`gateway_parity_total\\{context="pricing",result="mismatch"\\} ${counts.mismatch}`));

  // the alarm: every answer wrong for a moment, the rate crosses PARITY_ALARM_RATE
  t.equal(alarms.length, 0, 'no alarm below PARITY_ALARM_RATE');
  await faults(w, { valueSkewRate: 1 });
  for (let i = 0; i < 40 && alarms.length === 0; i++) {
    const before = total(w.app.gw.parity!.counts('pricing'));
    await Promise.all(SKUS.slice(0, 20).map((sku) => priceOf(w, sku)));
    await settled(w, 'pricing', before + 20);
  }
  await Promise.all(SKUS.slice(0, 20).map((sku) => priceOf(w, sku)));
  await settled(w, 'pricing', total(w.app.gw.parity!.counts('pricing')));
  t.equal(alarms.length, 1, 'one parity.alarm while the rate stays above the threshold');
  t.match(alarms[0], { context: 'pricing', data: { threshold: 0.2, window: 60000 } });
  t.ok((alarms[0]!.data.mismatchRate as number) >= 0.2);

  const list = await w.app.inject({ url: '/admin/parity', headers: AUTH });
  t.equal(list.statusCode, 200);
  t.match(list.json().contexts.find((c: { context: string }) => c.context === 'pricing'), { shadowPercent: 100, counts: { mismatch: w.app.gw.parity!.counts('pricing').mismatch } });
  const unknown = await w.app.inject({ url: '/admin/parity/nope', headers: AUTH });
  t.equal(unknown.statusCode, 404);
  t.match(unknown.headers['content-type'], /application\/problem\+json/);
  t.equal(unknown.json().code, 'GW_ERR_ADMIN_CONTEXT_NOT_FOUND');

  // the operator's view: strangler parity [ctx]
  await w.app.listen({ host: '127.0.0.1', port: 0 });
  const env = { GATEWAY_URL: `http://127.0.0.1:${(w.app.server.address() as { port: number }).port}`, ADMIN_TOKEN: TOKEN };
  const strangler = async (argv: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await run(argv, env, { out: (s) => void out.push(s), err: (s) => void err.push(s) });
    return { code, out: out.join('\n'), err: err.join('\n') };
  };
  const all = await strangler(['parity']);
  t.equal(all.code, 0, all.err);
  t.match(all.out, /^CONTEXT +SHADOW +MATCH +MISMATCH +NOISE +ERROR +SHED +MISMATCH RATE$/m);
  t.match(all.out, new RegExp(`^pricing +100% +\\d+ +${w.app.gw.parity!.counts('pricing').mismatch} +0 +0 +0 +\\d+\\.\\d\\d%$`, 'm'));
  t.match(all.out, /^inventory +0% +0 +0 +0 +0 +0 +-$/m);
  const one = await strangler(['parity', 'pricing']);
  t.equal(one.code, 0, one.err);
  t.match(one.out, /^pricing: shadow 100% of reads, compared on the gateway's loop$/m);
  t.match(one.out, /^prices\.\*\.amount +\d+$/m, 'the mismatching field');
  t.match(one.out, /request shadow-\S+ +trace [0-9a-f]{32} +served by legacy/, 'a sample with its ids');
  t.match(one.out, /prices\.\d+\.amount: legacy \d+ {2}new \d+/);
  const nope = await strangler(['parity', 'nope']);
  t.equal(nope.code, 4, 'unknown context: exit 4');
});

t.test('no fault: zero mismatches, and a noisy field is classified noise', async (t) => {
  const w = await startWorld(t, { pricing: 50 }, ENV);
  // half the shoppers on each arm: both directions of the shadow
  for (let i = 0; i < 60; i++) {
    const r = await w.app.inject({ url: `/api/v1/sites/${SITE}/products/${SKUS[i % SKUS.length]}`, headers: { 'x-user-id': `u${i}` } });
    t.equal(r.statusCode, 200);
  }
  const pricing = await settled(w, 'pricing', 60);
  t.same(pricing, { match: 60, mismatch: 0, noise: 0, error: 0, shed: 0 });

  const query = `query Q($site: String!, $skus: [ID!]!) { products(site: $site, skus: $skus) { sku stamp { value observedAt } } }`;
  for (let i = 0; i < 10; i++) {
    const r = await w.app.inject({ method: 'POST', url: '/graphql', payload: { query, variables: { site: SITE, skus: SKUS.slice(i, i + 3) } } });
    t.equal(r.statusCode, 200);
    t.notOk(r.json().errors, 'answered');
  }
  const stamp = await settled(w, 'stamp', 10);
  t.same(stamp, { match: 0, mismatch: 0, noise: 10, error: 0, shed: 0 }, 'the timestamp differs every time: noise, never a mismatch');
  const detail = (await w.app.inject({ url: `/admin/parity/${stampContext.name}`, headers: AUTH })).json();
  t.same(detail.noise, ['stamps.*.observedAt'], 'learned per field pattern');
  t.same(detail.fields, []);
  t.same(detail.samples, []);
});

t.test('writes are never shadowed; a failing shadow call changes no answer', async (t) => {
  const w = await startWorld(t, {}, ENV);
  const created = await w.app.inject({ method: 'POST', url: `/occ/v2/${SITE}/users/anonymous/carts` });
  t.equal(created.statusCode, 201);
  const guid = created.json().guid as string;
  for (const code of SKUS.slice(0, 5)) {
    const r = await w.app.inject({ method: 'POST', url: `/occ/v2/${SITE}/users/anonymous/carts/${guid}/entries`, payload: { product: { code }, quantity: 1 } });
    t.equal(r.statusCode, 200);
  }
  const ev = await w.app.inject({ method: 'POST', url: `/api/v1/sites/${SITE}/carts/evaluate`, payload: { entries: [{ sku: SKUS[0], quantity: 2 }] } });
  t.equal(ev.statusCode, 200);
  await new Promise((r) => setTimeout(r, 100));
  t.same(w.app.gw.parity!.counts('pricing'), { match: 0, mismatch: 0, noise: 0, error: 0, shed: 0 }, 'cart writes priced without a shadow call');
  const read = await priceOf(w, SKUS[0]!);
  t.equal(read.status, 200);
  t.equal(total(await settled(w, 'pricing', 1)), 1, 'a read of the same product is shadowed');

  const baseline = await Promise.all(SKUS.slice(0, 10).map((sku) => priceOf(w, sku)));
  await settled(w, 'pricing', 11);
  await faults(w, { errorRate: 1 });
  const during = await Promise.all(SKUS.slice(0, 10).map((sku) => priceOf(w, sku)));
  t.same(
    during.map((r) => [r.status, r.price]),
    baseline.map((r) => [r.status, r.price]),
    'the new service failing every shadow call: the same answers',
  );
  const c = await settled(w, 'pricing', 21);
  t.equal(c.error, 10, 'each failed shadow call counted as an error, not a verdict');
  t.equal(c.mismatch, 0);
});

t.test('past the concurrency cap shadows are shed and counted; the clients wait for none of them', async (t) => {
  const w = await startWorld(t, {}, { ...ENV, SHADOW_MAX_CONCURRENT: '1' }); // pricing served by legacy; the new arm is the shadow
  const clean = await Promise.all(SKUS.slice(0, 10).map((sku) => priceOf(w, sku)));
  await settled(w, 'pricing', 10);
  const before = w.app.gw.parity!.counts('pricing');
  await faults(w, { latencyMs: 1500 }); // the shadow arm answers after 1.5 s
  const started = Date.now();
  const during = await Promise.all(
    SKUS.slice(0, 10).map(async (sku) => {
      const t0 = Date.now();
      const r = await priceOf(w, sku);
      return { ...r, ms: Date.now() - t0 };
    }),
  );
  t.ok(Date.now() - started < 1500, `ten reads answered in ${Date.now() - started} ms, before the one admitted shadow call could have returned`);
  t.same(
    during.map((r) => [r.status, r.price]),
    clean.map((r) => [r.status, r.price]),
    'the same answers',
  );
  const c = await settled(w, 'pricing', total(before) + 10);
  t.equal(c.shed - before.shed, 9, 'one shadow call in flight at a time: the other nine shed');
  t.equal(c.match - before.match, 1, 'the admitted one still compared');
  const metrics = (await w.app.inject({ url: '/metrics' })).body;
  t.match(metrics, new RegExp(`gateway_parity_total\\{context="pricing",result="shed"\\} ${c.shed}\n`), 'shed shadows are in the metrics');
});

t.test('while the event loop is late, sampled reads are shed, not shadowed; once it is on time again they are shadowed', async (t) => {
  const w = await startWorld(t, {}, { ...ENV, SHADOW_MAX_EVENT_LOOP_DELAY_MS: '40' });
  const busy = (ms: number) => {
    const until = Date.now() + ms;
    while (Date.now() < until);
  };
  const blocker = setInterval(() => busy(100), 20); // the loop 100 ms late, again and again
  await new Promise((r) => setTimeout(r, 700)); // a half-second window of it has been read
  const late = await Promise.all(SKUS.slice(0, 5).map((sku) => priceOf(w, sku)));
  clearInterval(blocker);
  t.same(late.map((r) => r.status), [200, 200, 200, 200, 200], 'the clients are answered');
  const c = await settled(w, 'pricing', 5);
  t.same(c, { match: 0, mismatch: 0, noise: 0, error: 0, shed: 5 }, 'every shadow shed while the loop was late');
  await new Promise((r) => setTimeout(r, 1200)); // two quiet windows
  for (const sku of SKUS.slice(0, 5)) await priceOf(w, sku);
  const after = await settled(w, 'pricing', 10);
  t.equal(after.match + after.shed, 10);
  t.ok(after.match >= 1, `on time again: shadowed and compared (${after.match} of 5; a busy test machine may still shed some)`);
});

const redisSkip = await serviceGate(t, 'Redis', '127.0.0.1', 6379);

t.test('sharedCounts sum every instance through Redis', { skip: redisSkip }, async (t) => {
  const prefix = `strangler:parity:test-${process.pid}-${Date.now()}:`;
  const redis = new Redis(REDIS_URL);
  t.teardown(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });
  const env = { ...ENV, REDIS_URL, PARITY_REDIS_PREFIX: prefix };
  const [a, b] = await Promise.all([startWorld(t, {}, env), startWorld(t, {}, env)]);
  for (const sku of SKUS.slice(0, 6)) await priceOf(a, sku);
  for (const sku of SKUS.slice(0, 4)) await priceOf(b, sku);
  await settled(a, 'pricing', 6);
  await settled(b, 'pricing', 4);
  let shared: ParityCounts | undefined;
  for (let i = 0; i < 100; i++) {
    shared = await a.app.gw.parity!.sharedCounts('pricing');
    if (shared.match >= 10) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  t.same(shared, { match: 10, mismatch: 0, noise: 0, error: 0, shed: 0 }, 'both instances counted');
  t.same(await b.app.gw.parity!.sharedCounts('pricing'), shared, 'whichever instance is asked');
  t.same(a.app.gw.parity!.counts('pricing').match, 6, 'counts stay this instance’s');
  const body = (await b.app.inject({ url: '/admin/parity/pricing', headers: AUTH })).json();
  t.same(body.sharedCounts, shared);
  t.equal(body.counts.match, 4);
});
