/**
 * Remembered routing decisions (src/routing/decision-memo.ts): a remembered decision is always
 * the one unleash-client gives, a flag change is seen by the very next decision, and flags whose
 * verdict is not a function of the context (random stickiness, dates, …) are never remembered.
 */
import t from 'tap';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Context } from 'unleash-client';
import type { FlagProvider } from '../../src/routing/flag-provider.js';
import { createFlagProvider } from '../../src/routing/flags.js';
import { decide } from '../../src/routing/decide.js';
import { AUDIT_EVERY, memoizable, RoutingDecisions } from '../../src/routing/decision-memo.js';
import { flagFile, referenceUnleash, type FlagOptions, type Rollouts } from '../helpers/flags.js';

const silent = { info() {}, warn() {}, error() {} };
type Teardown = { teardown(fn: () => unknown): void };
const tables = new URL('../fixtures/decisions/', import.meta.url);

async function provider(t: Teardown, flags: object): Promise<{ flags: FlagProvider; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'memo-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'routes.json'), JSON.stringify(flags));
  const p = await createFlagProvider({ source: 'file', dir }, silent);
  t.teardown(() => p.close());
  return { flags: p, dir };
}

function decisions(t: Teardown, flags: FlagProvider, max?: number): RoutingDecisions {
  const d = new RoutingDecisions(flags, undefined, max);
  t.teardown(() => d.close());
  return d;
}

const rollout = (r: Rollouts, o?: FlagOptions) => flagFile(r, o);
const user = (id: string): Context => ({ userId: id, properties: { channel: 'occ', baseSiteId: 'electronics-spa' } });

t.test('every decision table: remembered decisions equal a fresh unleash-client, asked twice', async (t) => {
  for (const file of (await readdir(tables)).filter((f) => f.endsWith('.json')).sort()) {
    const table = JSON.parse(await readFile(new URL(file, tables), 'utf8')) as { flags: { features: object[] }; cases: { context: Context }[] };
    const { flags } = await provider(t, table.flags);
    const memo = decisions(t, flags);
    t.ok(memo.memo.ok, `${file}: remembered`);
    const reference = await referenceUnleash(t, table.flags.features as object[]);
    for (const round of ['first', 'remembered']) {
      for (const [i, c] of table.cases.entries()) {
        // a context with neither userId nor sessionId under default stickiness is random: not
        // compared (and not remembered, checked below)
        if (!c.context.userId && !c.context.sessionId) continue;
        t.same(memo.decide(c.context), decide((f, ctx) => reference.isEnabled(f, ctx), c.context), `${file} case ${i} (${round})`);
      }
    }
  }
});

t.test('a flip is seen by the next decision, and taken back the same way; only the flipped flag is asked again', async (t) => {
  const { flags } = await provider(t, rollout({ pricing: 0, inventory: 100 }));
  const asked: string[] = [];
  const counting: FlagProvider = Object.create(flags, {
    isEnabled: { value: (flag: string, ctx: Context) => (asked.push(flag), flags.isEnabled(flag, ctx)) },
  }) as FlagProvider;
  const memo = decisions(t, counting);
  const users = Array.from({ length: 50 }, (_, i) => user(`u-${i}`));
  for (const u of users) t.equal(memo.decide(u).pricing, 'legacy');
  t.equal(memo.size, 50, 'all 50 remembered');
  t.equal(asked.length, 150, 'three flags asked per context');
  asked.length = 0;
  for (const u of users) memo.decide(u);
  t.equal(asked.length, Math.floor(50 / AUDIT_EVERY) * 3, 'then only the audit of one hit in AUDIT_EVERY asks');
  asked.length = 0;
  await flags.setRoute('route.pricing', { percent: 100 });
  for (const u of users) t.equal(memo.decide(u).pricing, 'new', 'new pricing right after the write');
  t.same([...new Set(asked)], ['route.pricing'], 'only the changed flag was asked again…');
  t.equal(asked.length, 50, '…once per context (stale entries are not audited)');
  await flags.setRoute('route.pricing', { percent: 0 });
  for (const u of users) t.equal(memo.decide(u).pricing, 'legacy', 'rolled back right after the write');
  for (const u of users) t.equal(memo.decide(u).inventory, 'new', 'other contexts untouched');
  const fresh = decisions(t, flags);
  for (const u of users) t.same(memo.decide(u), fresh.decide(u), 'the same as a memo that never saw the flips');
});

t.test('a flag file edited on disk (hot reload) empties the memo too', async (t) => {
  const { flags, dir } = await provider(t, rollout({ pricing: 0 }));
  const memo = decisions(t, flags);
  t.equal(memo.decide(user('u-1')).pricing, 'legacy');
  await writeFile(join(dir, 'routes.json'), JSON.stringify(rollout({ pricing: 100 })));
  const start = Date.now();
  while (memo.decide(user('u-1')).pricing !== 'new' && Date.now() - start < 3000) await new Promise((r) => setTimeout(r, 20));
  t.equal(memo.decide(user('u-1')).pricing, 'new', 'the reloaded file decides');
});

t.test('default stickiness: a request with neither userId nor sessionId is evaluated, not remembered', async (t) => {
  const { flags } = await provider(t, rollout({ pricing: 50 }));
  const memo = decisions(t, flags);
  t.same(memo.memo, { ok: true, needsStickyId: true });
  const anonymous: Context = { remoteAddress: '10.0.0.1', properties: { channel: 'occ' } };
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) seen.add(memo.decide(anonymous).pricing);
  t.equal(memo.size, 0, 'nothing remembered');
  t.same([...seen].sort(), ['legacy', 'new'], 'still random per request, as unleash-client decides it');
  memo.decide({ sessionId: 'cart-1', properties: { channel: 'occ' } });
  t.equal(memo.size, 1, 'a session id makes it sticky, so it is remembered');
});

t.test('userId stickiness does not need the id: a context without one is remembered (it always gets legacy)', async (t) => {
  const { flags } = await provider(t, rollout({ pricing: 50 }, { stickiness: 'userId' }));
  const memo = decisions(t, flags);
  t.same(memo.memo, { ok: true, needsStickyId: false });
  t.equal(memo.decide({ properties: { channel: 'occ' } }).pricing, 'legacy');
  t.equal(memo.size, 1);
});

t.test('random stickiness: never remembered', async (t) => {
  const { flags } = await provider(t, rollout({ pricing: 50 }, { stickiness: 'random' }));
  const memo = decisions(t, flags);
  t.same(memo.memo, { ok: false, reason: 'route.pricing uses random stickiness' });
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) seen.add(memo.decide(user('u-1')).pricing);
  t.same([...seen].sort(), ['legacy', 'new'], 'the same user still lands on both arms');
  t.equal(memo.size, 0);
});

t.test('contexts that differ in any field are different keys, however the values split', async (t) => {
  const { flags } = await provider(t, rollout({ pricing: 50 }, { stickiness: 'userId' }));
  const memo = decisions(t, flags);
  memo.decide({ userId: 'ab', sessionId: 'c', properties: {} });
  memo.decide({ userId: 'a', sessionId: 'bc', properties: {} });
  memo.decide({ userId: 'a', properties: { sessionId: 'bc' } });
  memo.decide({ userId: 'a', properties: { baseSiteId: 'x', currency: 'USD' } });
  memo.decide({ userId: 'a', properties: { baseSiteId: 'x', currency: 'EUR' } });
  t.equal(memo.size, 5);
});

t.test('the memo is bounded: the oldest context is forgotten first', async (t) => {
  const { flags } = await provider(t, rollout({ pricing: 30 }, { stickiness: 'userId' }));
  const memo = decisions(t, flags, 3);
  for (let i = 0; i < 10; i++) memo.decide(user(`u-${i}`));
  t.equal(memo.size, 3);
  const fresh = decisions(t, flags);
  for (let i = 0; i < 10; i++) t.same(memo.decide(user(`u-${i}`)), fresh.decide(user(`u-${i}`)), `u-${i} decided alike`);
});

t.test('memoizable: what makes a route flag depend on more than the context', async (t) => {
  const flag = (over: object, strategy: object = {}) => [
    { name: 'route.pricing', enabled: true, strategies: [{ name: 'flexibleRollout', parameters: { rollout: '50', stickiness: 'userId' }, constraints: [], ...strategy }], ...over },
  ];
  const check = (defs: object[]) => memoizable(defs as Parameters<typeof memoizable>[0]);
  t.same(check([]), { ok: true, needsStickyId: false }, 'no flags: always legacy');
  t.same(check(flag({})), { ok: true, needsStickyId: false });
  t.same(check(flag({}, { parameters: { rollout: '50' } })), { ok: true, needsStickyId: true }, 'no stickiness parameter means default');
  t.same(check(flag({ enabled: false }, { parameters: { rollout: '50', stickiness: 'random' } })), { ok: true, needsStickyId: false }, 'a disabled flag is always off');
  t.same(check(flag({}, { name: 'gradualRolloutRandom', parameters: { percentage: '50' } })), { ok: false, reason: 'route.pricing uses the gradualRolloutRandom strategy' });
  t.same(check(flag({}, { name: 'myCustomStrategy' })), { ok: false, reason: 'route.pricing uses the myCustomStrategy strategy' });
  t.same(check(flag({}, { name: 'userWithId', parameters: { userIds: 'a,b' } })), { ok: true, needsStickyId: false });
  t.same(
    check(flag({}, { constraints: [{ contextName: 'currentTime', operator: 'DATE_AFTER', value: '2026-12-01T00:00:00Z', values: [], inverted: false }] })),
    { ok: false, reason: 'route.pricing has a DATE_AFTER constraint' },
    'dates compare with the clock',
  );
  t.same(
    check(flag({}, { segments: [{ id: 1, constraints: [{ contextName: 'currentTime', operator: 'DATE_BEFORE', value: '2027-01-01T00:00:00Z', values: [], inverted: false }] }] })),
    { ok: false, reason: 'route.pricing has a DATE_BEFORE constraint' },
    'segment constraints count too',
  );
  t.same(check(flag({}, { constraints: [{ contextName: 'baseSiteId', operator: 'IN', values: ['electronics-spa'], inverted: false }] })), { ok: true, needsStickyId: false });
  t.same(check(flag({ dependencies: [{ feature: 'other' }] })), { ok: false, reason: 'route.pricing depends on other flags' });
  t.same(check(flag({ impressionData: true })), { ok: false, reason: 'route.pricing has impression data (an event per evaluation)' });
  t.same(check([{ name: 'unrelated', enabled: true, strategies: [{ name: 'gradualRolloutRandom', parameters: {}, constraints: [] }] }]), { ok: true, needsStickyId: false }, 'only route flags matter');
});

t.test('a flag set the memo cannot remember is evaluated per request, and remembering resumes once fixed', async (t) => {
  const dated = {
    version: 1,
    features: [
      {
        name: 'route.pricing',
        enabled: true,
        strategies: [{ name: 'flexibleRollout', parameters: { rollout: '100', stickiness: 'userId' }, constraints: [{ contextName: 'currentTime', operator: 'DATE_AFTER', value: '2020-01-01T00:00:00.000Z' }] }],
      },
    ],
  };
  const { flags, dir } = await provider(t, dated);
  const logged: object[] = [];
  const memo = new RoutingDecisions(flags, { info: (o) => void logged.push(o), warn: (o) => void logged.push(o) });
  t.teardown(() => memo.close());
  t.equal(memo.decide(user('u-1')).pricing, 'new', 'the constraint holds (now is after 2020)');
  t.equal(memo.size, 0, 'not remembered');
  t.match(logged, [{ event: 'routing.memo', remembered: false, reason: 'route.pricing has a DATE_AFTER constraint' }]);
  await writeFile(join(dir, 'routes.json'), JSON.stringify(rollout({ pricing: 100 }, { stickiness: 'userId' })));
  await flags.reload?.();
  memo.decide(user('u-1'));
  t.equal(memo.size, 1, 'remembered again');
  t.match(logged[1], { event: 'routing.memo', remembered: true });
});

t.test('the audit of one hit in AUDIT_EVERY forgets everything when unleash-client disagrees', async (t) => {
  const { flags } = await provider(t, rollout({ pricing: 100 }, { stickiness: 'userId' }));
  let lie = false; // a verdict that changed without a change event: what the rules must never let through
  const drifting: FlagProvider = Object.create(flags, {
    isEnabled: { value: (flag: string, ctx: Context) => (lie ? !flags.isEnabled(flag, ctx) : flags.isEnabled(flag, ctx)) },
  }) as FlagProvider;
  const logged: object[] = [];
  const memo = new RoutingDecisions(drifting, { info: (o) => void logged.push(o), warn: (o) => void logged.push(o) });
  t.teardown(() => memo.close());
  t.equal(memo.decide(user('u-1')).pricing, 'new');
  lie = true;
  for (let i = 0; i < AUDIT_EVERY; i++) memo.decide(user('u-1'));
  t.match(logged, [{ event: 'routing.memo', remembered: true }, { event: 'routing.memo_mismatch', context: 'pricing', remembered: 'new', evaluated: 'legacy' }]);
  t.equal(memo.size, 0, 'forgotten');
  t.equal(memo.decide(user('u-1')).pricing, 'legacy', 'asked again');
});
