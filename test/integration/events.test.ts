/**
 * Issue 22, domain events over RabbitMQ (docs/events.md), against real brokers: the shared one
 * on 127.0.0.1:5672 for the event flow, and a node this test starts on its own ports
 * (43310/43311) for stopping and restarting the broker under a running gateway.
 */
import t, { type Test } from 'tap';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { connect, type Channel } from 'amqplib';
import { startBackends, upstreamUrlsOf, type Backends } from '../../backends/index.js';
import { buildGateway } from '../../src/app.js';
import { loadConfig } from '../../src/config/load.js';
import type { DomainEvent, GatewayEvent } from '../../src/events/bus.js';
import { flagFile, type Rollouts } from '../helpers/flags.js';
import { metricOf, until } from '../helpers/observability.js';
import { REQUIRE_SERVICES, serviceGate } from '../helpers/services.js';
import { rabbitAvailable, startOwnRabbit } from '../helpers/rabbit.js';

const SHARED_AMQP = process.env.TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const SITE = 'electronics-spa';
const SKU = '1000007';

interface Gw {
  app: FastifyInstance;
  flagsDir: string;
}

async function gateway(t: Test, backends: Backends, amqpUrl: string, rollouts: Rollouts = {}): Promise<Gw> {
  const flagsDir = await mkdtemp(join(tmpdir(), 'strangler-events-'));
  await writeFile(join(flagsDir, 'routes.json'), JSON.stringify(flagFile(rollouts)));
  const config = loadConfig({
    FLAGS_DIR: flagsDir,
    AUDIT_LOG_PATH: join(flagsDir, 'audit.jsonl'),
    LOG_LEVEL: 'silent',
    SHED_EVENT_LOOP_DELAY_MS: '0',
    AMQP_URL: amqpUrl,
    AMQP_RECONNECT_MIN_MS: '50',
    AMQP_RECONNECT_MAX_MS: '1000',
  });
  const app = await buildGateway({ config, upstreamUrls: upstreamUrlsOf(backends), logger: false });
  await app.ready();
  t.teardown(async () => {
    await app.close();
    await rm(flagsDir, { recursive: true, force: true });
  });
  await until('the gateway to connect to the broker', () => app.gw.broker?.status().state === 'connected');
  return { app, flagsDir };
}

const sharedSkip = await serviceGate(t, 'RabbitMQ', '127.0.0.1', 5672);

const ownSkip: false | string = (() => {
  const missing = rabbitAvailable();
  if (missing === undefined) return false;
  if (REQUIRE_SERVICES) {
    t.fail(`${missing} and REQUIRE_SERVICES=1`);
    return `${missing} (failed: REQUIRE_SERVICES=1)`;
  }
  return `${missing}; skipped`;
})();

// The node boots in 15-25 s: start it now, so it boots while the shared-broker tests run.
const ownRabbit = ownSkip === false ? startOwnRabbit({ port: 43310, distPort: 43311 }) : undefined;
ownRabbit?.catch(() => undefined); // reported by the test that awaits it
t.teardown(async () => {
  await (await ownRabbit?.catch(() => undefined))?.close();
});

t.test('a price changed through the pricing simulator reaches the bus of two gateway instances, once each', { skip: sharedSkip }, async (t) => {
  const backends = await startBackends({ amqpUrl: SHARED_AMQP });
  t.teardown(() => backends.close());
  const gws = [await gateway(t, backends, SHARED_AMQP, { pricing: 100 }), await gateway(t, backends, SHARED_AMQP, { pricing: 100 })];
  const received: DomainEvent[][] = gws.map(() => []);
  const receivedAt: number[][] = gws.map(() => []);
  gws.forEach((g, i) =>
    g.app.gw.events.onDomain((e) => {
      received[i]!.push(e);
      receivedAt[i]!.push(Date.now());
    }),
  );

  const sent = Date.now();
  const res = await fetch(`${backends.pricing.url}/__changes/sites/${SITE}/prices/${SKU}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ amount: 4242 }),
  });
  t.equal(res.status, 200);
  const reply = (await res.json()) as { event: DomainEvent; published: boolean };
  t.equal(reply.published, true, 'the simulator had the broker confirm the event');
  t.match(reply.event, { type: 'price.changed', context: 'pricing', data: { site: SITE, sku: SKU } });

  const mine = (i: number) => received[i]!.filter((e) => e.id === reply.event.id);
  await until('both instances to receive the event', () => mine(0).length > 0 && mine(1).length > 0, 10_000);
  const latest = Math.max(...gws.map((_g, i) => receivedAt[i]![received[i]!.findIndex((e) => e.id === reply.event.id)]!)) - sent;
  t.comment(`price change → bus of both instances in ${latest} ms (change request included)`);
  t.ok(latest < 5000, 'well within the issue\'s 1 s on an idle machine; bounded loosely here (shared CPU)');
  for (const i of [0, 1]) {
    t.equal(mine(i).length, 1, `instance ${i} delivered it once`);
    t.match(mine(i)[0], { type: 'price.changed', context: 'pricing', data: { site: SITE, sku: SKU }, at: reply.event.at });
    t.ok((await metricOf(gws[i]!.app, 'gateway_events_consumed_total', { type: 'price.changed' })) >= 1);
    t.ok((await metricOf(gws[i]!.app, 'gateway_events_lag_seconds_count', { type: 'price.changed' })) >= 1, 'event lag observed');
  }
  // the change is the service's data now, through the gateway too
  const price = await gws[0]!.app.inject(`/api/v1/sites/${SITE}/products/${SKU}`);
  t.equal(price.statusCode, 200);
  t.match(price.json(), { price: { amount: 4242 } }, 'the gateway (pricing on the new service) serves the changed price');

  // without a broker the simulator still changes its data, and says it did not publish
  const quiet = await startBackends();
  t.teardown(() => quiet.close());
  const q = await fetch(`${quiet.inventory.url}/__changes/sites/${SITE}/stock/${SKU}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ quantity: 0 }) });
  t.match(await q.json(), { published: false, event: { type: 'stock.changed', data: { site: SITE, sku: SKU } } });
  const stock = await fetch(`${quiet.inventory.url}/v1/sites/${SITE}/availability/${SKU}`);
  t.match(await stock.json(), { availability: { status: 'OUT_OF_STOCK', quantity: 0 } });
});

t.test('an event replayed 10 times is delivered once; a malformed message is rejected, not delivered', { skip: sharedSkip }, async (t) => {
  const backends = await startBackends();
  t.teardown(() => backends.close());
  const { app } = await gateway(t, backends, SHARED_AMQP);
  const delivered: DomainEvent[] = [];
  app.gw.events.onDomain((e) => delivered.push(e));

  const conn = await connect(SHARED_AMQP);
  t.teardown(() => conn.close());
  const ch = await conn.createConfirmChannel();
  await ch.assertExchange('commerce.events', 'topic', { durable: true });
  const event = { id: randomUUID(), type: 'promotion.changed', at: new Date().toISOString(), context: 'promotions', data: { site: SITE, code: 'SPRING' } };
  const dupBefore = await metricOf(app, 'gateway_events_duplicates_total', { type: 'promotion.changed' });
  const rejBefore = await metricOf(app, 'gateway_events_rejected_total');
  for (let i = 0; i < 10; i++) ch.publish('commerce.events', 'promotion.changed', Buffer.from(JSON.stringify(event)));
  ch.publish('commerce.events', 'price.changed', Buffer.from('{"not":"an event"'));
  ch.publish('commerce.events', 'price.changed', Buffer.from(JSON.stringify({ ...event, id: randomUUID(), type: 'price.changed', context: 'no-such-context' })));
  await ch.waitForConfirms();

  await until('the 9 replays to be counted as duplicates', async () => (await metricOf(app, 'gateway_events_duplicates_total', { type: 'promotion.changed' })) - dupBefore >= 9);
  await until('the 2 malformed messages to be rejected', async () => (await metricOf(app, 'gateway_events_rejected_total')) - rejBefore >= 2);
  t.equal(delivered.filter((e) => e.id === event.id).length, 1, 'delivered once');
  t.same(delivered.find((e) => e.id === event.id), event, 'as published');
  t.notOk(delivered.some((e) => e.context === ('no-such-context' as string)), 'an event of an unknown context is not delivered');
});

t.test('the broker stopped and restarted: the gateway keeps serving, reports degraded, loses no gateway event', { skip: ownSkip, timeout: 170_000 }, async (t) => {
  const rabbit = await ownRabbit!;
  const backends = await startBackends();
  t.teardown(() => backends.close());
  const { app, flagsDir } = await gateway(t, backends, rabbit.url);

  // what someone bound to gateway.events sees: a durable queue, so it outlives the broker restart
  const watchQueue = `gw-test-${randomUUID()}`;
  const declare = async (): Promise<{ close(): Promise<void>; ch: Channel }> => {
    const c = await connect(rabbit.url);
    const ch = await c.createChannel();
    await ch.assertExchange('gateway.events', 'topic', { durable: true });
    await ch.assertQueue(watchQueue, { durable: true });
    await ch.bindQueue(watchQueue, 'gateway.events', '#');
    return { close: () => c.close(), ch };
  };
  await (await declare()).close();

  const emitted: GatewayEvent[] = [];
  app.gw.events.onEmit((e) => emitted.push(e));
  // a route change the gateway observes (the flag file edited) is a route.changed event
  await writeFile(join(flagsDir, 'routes.json'), JSON.stringify(flagFile({ pricing: 100 })));
  await app.gw.flags.reload?.();
  await until('route.changed to be emitted', () => emitted.some((e) => e.type === 'route.changed'));
  t.match(emitted.find((e) => e.type === 'route.changed'), { context: 'pricing', data: { action: 'observed', source: 'file' } });
  app.gw.events.emit('kill.set', { reason: 'before the outage' }, { context: 'inventory', actor: 'test' });
  await until('the outbox to drain', () => app.gw.broker!.status().outbox === 0);

  await rabbit.stop();
  await until('the gateway to notice the broker is gone', () => app.gw.broker!.status().state !== 'connected');
  for (let i = 0; i < 5; i++) app.gw.events.emit('rollout.step', { step: i }, { context: 'pricing', actor: 'controller' });
  t.equal(app.gw.broker!.status().outbox, 5, 'the events emitted while the broker is down wait in the outbox');
  t.equal(await metricOf(app, 'gateway_events_outbox_size'), 5);
  t.equal(await metricOf(app, 'gateway_events_broker_connected'), 0);
  const ready = await app.inject('/readyz');
  t.equal(ready.statusCode, 200, 'still ready: events are not on the request path');
  t.match(ready.json(), { checks: { events: /^degraded: broker connecting/ } });
  const served = await app.inject(`/api/v1/sites/${SITE}/products/${SKU}`);
  t.equal(served.statusCode, 200, 'still serving');

  await rabbit.start();
  const back = Date.now();
  await until('the gateway to reconnect and drain its outbox', () => app.gw.broker!.status().state === 'connected' && app.gw.broker!.status().outbox === 0, 60_000);
  t.comment(`broker accepting again → outbox drained in ${Date.now() - back} ms (AMQP_RECONNECT_MAX_MS=1000)`);
  t.equal(await metricOf(app, 'gateway_events_broker_connected'), 1);
  t.ok((await metricOf(app, 'gateway_events_reconnects_total')) >= 1);
  t.equal(await metricOf(app, 'gateway_events_dropped_total'), 0, 'nothing dropped');
  t.match((await app.inject('/readyz')).json(), { checks: { events: 'up' } });

  // everything emitted reached the broker: before, during and after the outage
  app.gw.events.emit('kill.cleared', { reason: 'after the outage' }, { context: 'inventory', actor: 'test' });
  const { ch, close } = await declare();
  t.teardown(close);
  const seen = new Map<string, GatewayEvent>();
  await ch.consume(watchQueue, (msg) => {
    if (!msg) return;
    const e = JSON.parse(msg.content.toString()) as GatewayEvent;
    seen.set(e.id, e);
    t.equal(msg.fields.routingKey, e.type, 'routing key = event type');
  }, { noAck: true });
  await until('every gateway event on gateway.events', () => emitted.every((e) => seen.has(e.id)), 20_000);
  t.ok(emitted.length >= 8, 'route.changed, kill.set, 5 rollout steps, kill.cleared (and whatever else the gateway emitted)');
  t.same(emitted.map((e) => seen.get(e.id)), emitted, 'each as emitted');

  // and the consumer is back: a domain event published after the restart is delivered
  const delivered: DomainEvent[] = [];
  app.gw.events.onDomain((e) => delivered.push(e));
  const pub = await connect(rabbit.url);
  t.teardown(() => pub.close());
  const pc = await pub.createConfirmChannel();
  await pc.assertExchange('commerce.events', 'topic', { durable: true });
  const after = { id: randomUUID(), type: 'stock.changed', at: new Date().toISOString(), context: 'inventory', data: { site: SITE, sku: SKU } };
  pc.publish('commerce.events', 'stock.changed', Buffer.from(JSON.stringify(after)));
  await pc.waitForConfirms();
  await until('the domain event after the restart', () => delivered.some((e) => e.id === after.id));
  t.pass('consumer re-bound after the restart');
});
