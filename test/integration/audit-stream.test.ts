/**
 * The shared audit trail (src/admin/audit-stream.ts) on a real Redis: every instance's changes in
 * one stream, each once whichever instances observe it, bounded, and an admin change refused
 * (503, nothing written) while the trail cannot be reached.
 */
import t from 'tap';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { RedisAuditStream } from '../../src/admin/audit-stream.js';
import type { AuditEntry, AuditResponse } from '../../src/admin/schemas.js';
import type { RouteState } from '../../src/routing/flag-provider.js';
import { serviceGate, REDIS_URL } from '../helpers/services.js';
import { startWorld, flagFile } from '../helpers/world.js';

const TOKEN = 'scale-audit-token-0123456789';
const AUTH = { authorization: `Bearer ${TOKEN}` };
const skip = await serviceGate(t, 'Redis', '127.0.0.1', 6379);

const state = (rollout: number): RouteState => ({ defined: true, enabled: true, rollout, stickiness: 'default', constraints: [], strategies: 1 });
const entry = (over: Partial<AuditEntry>): AuditEntry => ({
  id: randomUUID(),
  at: new Date().toISOString(),
  actor: 'test',
  action: 'observed',
  context: 'pricing',
  flag: 'strangler.pricing',
  source: 'unleash',
  location: 'unleash',
  before: state(0),
  after: state(50),
  reason: null,
  ...over,
});

async function streamOf(t: { teardown(fn: () => unknown): void }, maxLen = 1000): Promise<{ key: string; trail: (name?: string) => RedisAuditStream }> {
  const key = `test:scale:audit:${randomUUID()}`;
  const opened: RedisAuditStream[] = [];
  const redis = new Redis(REDIS_URL);
  t.teardown(async () => {
    for (const s of opened) await s.close();
    const keys = await redis.keys(`${key}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });
  return {
    key,
    trail: () => {
      const s = new RedisAuditStream(REDIS_URL, key, maxLen);
      opened.push(s);
      return s;
    },
  };
}

t.test('instances observing one change record it once; an admin change is not recorded again by the others', { skip }, async (t) => {
  const { trail } = await streamOf(t);
  const [a, b, c] = [trail(), trail(), trail()];
  await Promise.all([a.connect(), b.connect(), c.connect()]);

  // a change made in Unleash's UI: all three observe it at about the same time
  const seen = await Promise.all([a, b, c].map((s, i) => s.appendObserved(entry({ instance: `gw-${i}`, before: state(0), after: state(50) }))));
  t.equal(seen.filter(Boolean).length, 1, 'exactly one instance recorded it');

  // an admin change through b: marked before the flag write, so nobody records it as observed
  await b.beginChange('pricing');
  t.equal(await c.appendObserved(entry({ instance: 'gw-2', before: state(50), after: state(100) })), false, 'c sees the new flags while the admin write is in progress: not recorded');
  await b.append(entry({ action: 'route', source: 'admin', instance: 'gw-1', before: state(50), after: state(100), reason: 'go' }));
  t.equal(await a.appendObserved(entry({ instance: 'gw-0', before: state(50), after: state(100) })), false, 'a observes it after: already recorded');

  // a slow instance that still sees an older change after the trail moved on
  t.equal(await c.appendObserved(entry({ instance: 'gw-2', before: state(0), after: state(50) })), false, 'a stale observation is not recorded');

  const { entries, skipped } = await c.recent(10, (e) => e.context === 'pricing');
  t.equal(skipped, 0);
  t.same(
    entries.map((e) => [e.action, e.after.rollout]),
    [
      ['route', 100],
      ['observed', 50],
    ],
    'newest first, each change once',
  );
  t.equal(entries[0]!.instance, 'gw-1', 'the admin entry names the instance it went through');

  // two admin changes of one context at once, on two instances: until both are recorded, nobody
  // records the context as observed
  await a.beginChange('promotions');
  await c.beginChange('promotions');
  await a.append(entry({ action: 'route', source: 'admin', context: 'promotions', flag: 'strangler.promotions', instance: 'gw-0', after: state(10) }));
  t.equal(await b.appendObserved(entry({ context: 'promotions', flag: 'strangler.promotions', instance: 'gw-1', before: state(10), after: state(20) })), false, "c's change still in progress");
  await c.append(entry({ action: 'route', source: 'admin', context: 'promotions', flag: 'strangler.promotions', instance: 'gw-2', before: state(10), after: state(20) }));
  t.equal(await b.appendObserved(entry({ context: 'promotions', flag: 'strangler.promotions', instance: 'gw-1', before: state(20), after: state(30) })), true, 'both done: a later change is recorded');

  // a context's admin change that failed: its mark is cleared, later observations record again
  await a.beginChange('inventory');
  await a.endChange('inventory');
  t.equal(await b.appendObserved(entry({ context: 'inventory', flag: 'strangler.inventory', instance: 'gw-1' })), true);
});

t.test('bounded, paged, filtered', { skip }, async (t) => {
  const { key, trail } = await streamOf(t, 100);
  const s = trail();
  await s.connect();
  for (let i = 0; i < 600; i++) await s.append(entry({ action: 'route', source: 'admin', context: i % 2 ? 'pricing' : 'inventory', after: state(i % 101), reason: String(i) }));
  const redis = new Redis(REDIS_URL);
  t.teardown(() => redis.disconnect());
  const len = await redis.xlen(key);
  t.ok(len >= 100 && len < 600, `MAXLEN ~ 100 trims: ${len} of 600 kept`);
  const { entries } = await s.recent(1000, (e) => e.context === 'pricing');
  t.equal(entries.length, Math.ceil(len / 2), 'every kept pricing entry, across pages');
  t.equal(entries[0]!.reason, '599', 'newest first');
  t.same((await s.recent(3)).entries.map((e) => e.reason), ['599', '598', '597']);
  await redis.xadd(key, '*', 'entry', '{"not":"an entry"}');
  t.match(await s.recent(2), { skipped: 1, entries: [{ reason: '599' }, { reason: '598' }] }, 'a record that does not match the schema is counted, not returned');
});

t.test('GET /admin/audit on another instance shows the change once, with the instance it went through', { skip }, async (t) => {
  const AUDIT_STREAM_KEY = `test:scale:audit:${randomUUID()}`;
  const env = { ADMIN_TOKEN: TOKEN, REDIS_URL, AUDIT_STREAM_KEY, SHED_EVENT_LOOP_DELAY_MS: '0' };
  const [a, b] = [await startWorld(t, {}, env), await startWorld(t, {}, env)];
  t.teardown(async () => {
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${AUDIT_STREAM_KEY}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });
  const put = await a.app.inject({ method: 'PUT', url: '/admin/routes/pricing', headers: AUTH, payload: { percent: 40, reason: 'canary' } });
  t.equal(put.statusCode, 200);
  // b's flag source gets the same change (the shared flag source, here: the same file)
  await b.setFlags(JSON.parse(await readFile(join(a.flagsDir, 'routes.json'), 'utf8')) as object);
  await b.app.gw.audit.idle();
  // then a change made where the flags live, seen by both
  const edited = flagFile({ pricing: 70 });
  await Promise.all([a.setFlags(edited), b.setFlags(edited)]);
  await Promise.all([a.app.gw.audit.idle(), b.app.gw.audit.idle()]);

  for (const [name, w] of [
    ['a', a],
    ['b', b],
  ] as const) {
    const r = await w.app.inject({ url: '/admin/audit', headers: AUTH });
    t.equal(r.statusCode, 200);
    const { entries } = r.json() as AuditResponse;
    t.same(
      entries.map((e) => [e.action, e.context, e.after.rollout]),
      [
        ['observed', 'pricing', 70],
        ['route', 'pricing', 40],
      ],
      `on ${name}: both changes, each once`,
    );
    t.equal(entries[1]!.reason, 'canary');
    t.match(entries[1]!.instance, /^.+:\d+$/, 'host:pid of the instance');
  }
});

t.test('the shared trail unreachable: an admin change is refused with a 503, nothing is written', async (t) => {
  // a port in this suite's range with nothing listening
  const w = await startWorld(t, {}, { ADMIN_TOKEN: TOKEN, REDIS_URL: 'redis://127.0.0.1:43299', SHED_EVENT_LOOP_DELAY_MS: '0' });
  const before = await readFile(join(w.flagsDir, 'routes.json'), 'utf8');
  const r = await w.app.inject({ method: 'PUT', url: '/admin/routes/pricing', headers: AUTH, payload: { percent: 100 } });
  t.equal(r.statusCode, 503);
  t.match(r.headers['content-type'], /^application\/problem\+json/);
  t.match(r.json(), { code: 'GW_ERR_ADMIN_AUDIT_UNAVAILABLE', detail: /nothing was changed/ });
  t.ok(r.headers['retry-after']);
  t.equal(await readFile(join(w.flagsDir, 'routes.json'), 'utf8'), before, 'flag file unchanged');
});
