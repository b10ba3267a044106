/**
 * The data cache's shared Redis tier with two gateway instances on the same simulators and the
 * same Redis (real, 127.0.0.1:6379): what one instance fetched the other serves from Redis, and
 * a price change announced on each instance's bus is visible through both within 1 s.
 */
import t from 'tap';
import { Redis } from 'ioredis';
import { getProduct } from '../../backends/kit/seed.js';
import { upstreamUrlsOf } from '../../backends/index.js';
import { buildGateway } from '../../src/app.js';
import { loadConfig } from '../../src/config/load.js';
import type { DomainEvent } from '../../src/events/bus.js';
import { serviceGate, REDIS_URL } from '../helpers/services.js';
import { startWorld } from '../helpers/world.js';

const SITE = 'electronics-spa';
const redisSkip = await serviceGate(t, 'Redis', '127.0.0.1', 6379);

t.test('two instances share the Redis tier; a price change is visible on both within 1 s', { skip: redisSkip }, async (t) => {
  const prefix = `test:cache:${process.pid}:${Date.now()}:`;
  const env = { CACHE_ENABLED: 'true', REDIS_URL, CACHE_REDIS_PREFIX: prefix };
  const a = await startWorld(t, { pricing: 100 }, env);
  const b = await buildGateway({
    config: loadConfig({ FLAGS_DIR: a.flagsDir, LOG_LEVEL: 'silent', SHED_EVENT_LOOP_DELAY_MS: '0', ...env }),
    upstreamUrls: upstreamUrlsOf(a.backends),
    logger: false,
  });
  await b.ready();
  const redis = new Redis(REDIS_URL);
  t.teardown(async () => {
    await b.close();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  const sku = '1000031';
  const p = getProduct(SITE, sku) as { priceMinor: number };
  const before = p.priceMinor;
  t.teardown(() => {
    p.priceMinor = before;
  });
  const url = `/api/v1/sites/${SITE}/products/${sku}`;
  const headers = { 'x-session-id': 'shopper-r' };
  const fromA = await a.app.inject({ url, headers });
  t.equal(fromA.json().price.amount, before);
  // instance A writes to Redis after its turn of the event loop: wait until the entry is there
  for (let i = 0; i < 50 && (await redis.exists(`${prefix}pricing:${SITE}:${sku}`)) === 0; i++) await new Promise((r) => setTimeout(r, 20));
  t.equal(await redis.exists(`${prefix}pricing:${SITE}:${sku}`), 1, 'A wrote its pricing copy to Redis');

  p.priceMinor = before + 4321; // the pricing service now says so; nobody has been told
  const fromB = await b.inject({ url, headers });
  t.equal(fromB.json().price.amount, before, 'B served A’s copy from Redis (it never asked the pricing service)');
  const metricsB = (await b.inject({ url: '/metrics' })).body;
  t.match(metricsB, /gateway_cache_hits_total\{ns="pricing",tier="redis"\} 1/);

  // the event, delivered on each instance's bus (the AMQP consumer's job in production)
  const event: DomainEvent = { id: 'evt-r1', type: 'price.changed', at: new Date().toISOString(), context: 'pricing', data: { site: SITE, sku } };
  const t0 = Date.now();
  a.app.gw.events.deliver(event);
  b.gw.events.deliver(event);
  const seen = { a: -1, b: -1 };
  while (Date.now() - t0 < 1000 && (seen.a < 0 || seen.b < 0)) {
    const [ra, rb] = await Promise.all([a.app.inject({ url, headers }), b.inject({ url, headers })]);
    if (seen.a < 0 && ra.json().price.amount === before + 4321) seen.a = Date.now() - t0;
    if (seen.b < 0 && rb.json().price.amount === before + 4321) seen.b = Date.now() - t0;
    if (seen.a < 0 || seen.b < 0) await new Promise((r) => setTimeout(r, 10));
  }
  t.ok(seen.a >= 0 && seen.a < 1000, `visible through A within 1 s (${seen.a} ms)`);
  t.ok(seen.b >= 0 && seen.b < 1000, `visible through B within 1 s (${seen.b} ms)`);
});
