/**
 * Rollouts across instances, with real Redis: the lease lets one controller step at a time and
 * passes on when its holder leaves, the per-arm figures are summed over instances, and a kill
 * override set on one instance holds on the other. Two gateways share the flag files and the
 * simulators (two instances on one host); keys live under a prefix unique to the run.
 */
import t from 'tap';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { buildGateway } from '../../src/app.js';
import { loadConfig } from '../../src/config/load.js';
import { upstreamUrlsOf } from '../../backends/index.js';
import { ArmRecorder } from '../../src/rollout/figures.js';
import { RedisLease } from '../../src/rollout/store.js';
import type { GatewayEvent } from '../../src/events/bus.js';
import type { FastifyInstance } from 'fastify';
import { REDIS_URL, serviceGate } from '../helpers/services.js';
import { AUTH, SITE, TOKEN, sleep } from '../helpers/rollout.js';
import { startWorld } from '../helpers/world.js';

const REDIS = REDIS_URL;

const skip = await serviceGate(t, 'Redis', '127.0.0.1', 6379);

t.test('rollouts with Redis', { skip }, async (t) => {
  const prefix = `test:rollout:${randomUUID()}:`;
  const redis = new Redis(REDIS);
  t.teardown(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });

  t.test('the lease: one holder, renewed by it, passed on when released or lapsed', async (t) => {
    const a = new RedisLease(redis, `${prefix}lease-unit`, 'a', 300);
    const b = new RedisLease(redis, `${prefix}lease-unit`, 'b', 300);
    t.equal(await a.hold(), true, 'a acquires');
    t.equal(await b.hold(), false, 'b cannot');
    t.equal(await a.hold(), true, 'a renews');
    await a.release();
    t.equal(await b.hold(), true, 'released: b acquires');
    await sleep(450);
    t.equal(await a.hold(), true, 'b stopped renewing: lapsed, a acquires');
    await b.release();
    t.equal(await a.hold(), true, 'b cannot release what it does not hold');
  });

  t.test('figures are summed over instances', async (t) => {
    const one = new ArmRecorder(redis, `${prefix}sum:`, 60_000);
    const two = new ArmRecorder(redis, `${prefix}sum:`, 60_000);
    t.teardown(() => (one.close(), two.close()));
    one.record('pricing', 'modern', false, 200, 4);
    one.record('pricing', 'legacy', false, 503, 8);
    two.record('pricing', 'modern', true, 200, 40);
    await two.flush();
    const f = await one.read('pricing');
    t.match(f, { modern: { requests: 2, errors: 0, fallbacks: 1 }, legacy: { requests: 1, errors: 1 } });
    t.equal(f.modern.latency.reduce((s, n) => s + n, 0), 2);
  });

  t.test('two gateways: one controller steps, the other takes over when it leaves; the kill override reaches both', async (t) => {
    const env = {
      ADMIN_TOKEN: TOKEN,
      REDIS_URL: REDIS,
      ROLLOUT_REDIS_PREFIX: prefix,
      ROLLOUT_TICK_MS: '3600000',
      ROLLOUT_MIN_SAMPLES: '3',
      ROLLOUT_P99_FLOOR_MS: '1000',
      STICKY_REDIS_PREFIX: `${prefix}sticky:`,
      IDEMPOTENCY_REDIS_PREFIX: `${prefix}idem:`,
    };
    const w = await startWorld(t, {}, { ...env, AUDIT_LOG_PATH: `/tmp/${prefix.replace(/:/g, '-')}a.jsonl` });
    const b = await buildGateway({
      config: loadConfig({ ...env, FLAGS_DIR: w.flagsDir, LOG_LEVEL: 'silent', SHED_EVENT_LOOP_DELAY_MS: '0', AUDIT_LOG_PATH: `/tmp/${prefix.replace(/:/g, '-')}b.jsonl` }),
      upstreamUrls: upstreamUrlsOf(w.backends),
      logger: false,
    });
    await b.ready();
    t.teardown(() => b.close());
    const a = w.app;
    const seen = new Map<FastifyInstance, GatewayEvent[]>([
      [a, []],
      [b, []],
    ]);
    for (const [app, list] of seen) app.gw.events.onEmit((e) => e.type.startsWith('rollout.') && list.push(e));

    let user = 0;
    const round = async (apps: FastifyInstance[]) => {
      for (let i = 0; i < 30; i++) {
        const app = apps[i % apps.length]!;
        const r = await app.inject({ url: `/api/v1/sites/${SITE}/products/1000001`, headers: { 'x-user-id': `multi-${user++}` } });
        t.equal(r.statusCode, 200);
      }
      for (const app of apps) await app.gw.rollouts.controller.tick();
    };

    const start = await a.inject({ method: 'POST', url: '/admin/rollouts/pricing', headers: AUTH, payload: { steps: [30, 60, 100], hold: '100ms', guardrails: { p99Ratio: { minSamples: 4 } } } });
    t.equal(start.statusCode, 201);
    t.match((await b.inject({ url: '/admin/rollouts/pricing', headers: AUTH })).json(), { status: 'running', percent: 30 }, 'the other instance reads the same rollout');
    t.equal((await b.inject({ method: 'POST', url: '/admin/rollouts/pricing', headers: AUTH, payload: { steps: [5], hold: 0 } })).statusCode, 409, 'and refuses a second start');

    await a.gw.rollouts.controller.tick(); // a takes the lease
    for (let i = 0; i < 40; i++) {
      await round([a, b]);
      if (seen.get(a)!.some((e) => e.type === 'rollout.step')) break;
    }
    t.same(seen.get(a)!.map((e) => [e.type, e.data.percent]), [['rollout.started', 30], ['rollout.step', 60]], 'a, the lease holder, stepped');
    t.same(seen.get(b), [], 'b did not');

    await a.gw.rollouts.controller.close(); // a leaves: releases the lease
    for (let i = 0; i < 60; i++) {
      await round([a, b]);
      const s = (await b.inject({ url: '/admin/rollouts/pricing', headers: AUTH })).json();
      if (s.status !== 'running') break;
    }
    t.same(seen.get(b)!.map((e) => [e.type, e.data.percent]), [['rollout.step', 100], ['rollout.completed', 100]], 'b took over and finished');
    const done = (await a.inject({ url: '/admin/rollouts/pricing', headers: AUTH })).json();
    t.match(done, { status: 'completed', percent: 100, limits: { p99Ratio: { minSamples: 4 } } });
    t.match(
      done.guardrails.find((g: { name: string }) => g.name === 'p99Ratio'),
      { minSamples: 4, ok: true },
      "b judged the last step by the rollout's own limits (its own ROLLOUT_MIN_SAMPLES is 3)",
    );

    // the kill override set on b holds on a (a reads the shared overrides every 500 ms)
    await b.inject({ method: 'PUT', url: '/admin/routes/pricing/override', headers: AUTH, payload: { reason: 'incident 42' } });
    await a.gw.rollouts.overrides.refresh();
    const routed = await a.inject({ url: `/api/v1/sites/${SITE}/products/1000001`, headers: { 'x-user-id': 'after-kill' } });
    t.match(routed.headers['x-strangler-route'], /^pricing=legacy/);
    t.match((await a.inject({ url: '/admin/overrides', headers: AUTH })).json(), { overrides: [{ context: 'pricing', reason: 'incident 42' }] });
  });
});
