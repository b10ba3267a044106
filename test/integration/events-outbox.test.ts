/**
 * Issue 22: the gateway's events while the broker cannot be reached at all (AMQP_URL points at a
 * port nothing listens on): the gateway serves and is ready, says `events` is degraded, keeps
 * its events in a bounded outbox, and counts and logs what it drops: never silently.
 */
import t from 'tap';
import { Writable } from 'node:stream';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBackends, upstreamUrlsOf } from '../../backends/index.js';
import { buildGateway } from '../../src/app.js';
import { loadConfig } from '../../src/config/load.js';
import { flagFile } from '../helpers/flags.js';
import type { GatewayEvent } from '../../src/events/bus.js';
import { parseExposition, sum } from '../helpers/observability.js';

t.test('broker unreachable: serving, degraded, a bounded outbox whose overflow and leftovers are counted and logged', async (t) => {
  const backends = await startBackends();
  t.teardown(() => backends.close());
  const dir = await mkdtemp(join(tmpdir(), 'strangler-outbox-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'routes.json'), JSON.stringify(flagFile({})));
  const lines: Record<string, unknown>[] = [];
  const logStream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  const config = loadConfig({
    FLAGS_DIR: dir,
    AUDIT_LOG_PATH: join(dir, 'audit.jsonl'),
    LOG_LEVEL: 'warn',
    SHED_EVENT_LOOP_DELAY_MS: '0',
    AMQP_URL: 'amqp://guest:guest@127.0.0.1:43312', // nothing listens there (this helper's port range)
    AMQP_RECONNECT_MIN_MS: '20',
    AMQP_RECONNECT_MAX_MS: '100',
    EVENTS_OUTBOX_MAX: '3',
    ADMIN_TOKEN: 'events-outbox-admin-token-0123456789',
  });
  const app = await buildGateway({ config, upstreamUrls: upstreamUrlsOf(backends), logStream });
  await app.ready();
  let closed = false;
  t.teardown(async () => {
    if (!closed) await app.close();
  });
  const metric = async (name: string, labels: Record<string, string> = {}) => sum(parseExposition((await app.inject('/metrics')).body), name, labels);

  const all: GatewayEvent[] = [];
  app.gw.events.onEmit((e) => all.push(e));
  const emitted = [1, 2, 3, 4, 5].map((step) => app.gw.events.emit('rollout.step', { step }, { context: 'pricing', actor: 'controller' }));
  t.equal(app.gw.broker!.status().outbox, 3, 'the outbox holds its bound');
  t.equal(await metric('gateway_events_outbox_size'), 3);
  t.equal(await metric('gateway_events_dropped_total', { reason: 'outbox_full' }), 2, 'the overflow is counted');
  const overflow = lines.filter((l) => l.event === 'events.dropped' && l.reason === 'outbox_full');
  t.same(
    overflow.flatMap((l) => (l.dropped as { id: string }[]).map((d) => d.id)),
    emitted.slice(0, 2).map((e) => e.id),
    'and logged with the ids of the oldest two, the ones dropped',
  );
  t.equal(await metric('gateway_events_broker_connected'), 0);

  const ready = await app.inject('/readyz');
  t.equal(ready.statusCode, 200, 'ready: events are not on the request path');
  t.match(ready.json(), { status: 'ready', checks: { events: /^degraded: broker connecting \(.*\), 3 gateway events in the outbox$/ } });
  t.equal((await app.inject('/api/v1/sites/electronics-spa/products/1000007')).statusCode, 200, 'serving');

  // an admin route change is a route.changed event, saying what the audit trail says
  const seen: GatewayEvent[] = [];
  app.gw.events.onEmit((e) => seen.push(e));
  const put = await app.inject({
    method: 'PUT',
    url: '/admin/routes/pricing',
    headers: { authorization: 'Bearer events-outbox-admin-token-0123456789', 'x-actor': 'alice' },
    payload: { percent: 25, reason: 'canary' },
  });
  t.equal(put.statusCode, 200);
  const changed = seen.filter((e) => e.type === 'route.changed');
  t.equal(changed.length, 1, 'one event for one change');
  t.match(changed[0], { context: 'pricing', actor: 'alice', data: { action: 'route', source: 'admin', reason: 'canary', after: { rollout: 25 } } });
  t.equal(app.gw.broker!.status().outbox, 3, 'still bounded');
  t.equal(await metric('gateway_events_dropped_total', { reason: 'outbox_full' }), all.length - 3, 'every event beyond the bound counted');

  await app.close();
  closed = true;
  const leftover = lines.filter((l) => l.event === 'events.dropped' && l.reason === 'shutdown');
  t.equal(leftover.length, 1, 'what was still in the outbox at shutdown is logged');
  t.same((leftover[0]?.dropped as { id: string }[]).map((d) => d.id), all.slice(-3).map((e) => e.id), 'the newest 3, the ones kept');
  t.ok(all.slice(-3).some((e) => e.id === changed[0]!.id), 'the route change among them');
  const everyDrop = lines.filter((l) => l.event === 'events.dropped').flatMap((l) => (l.dropped as { id: string }[]).map((d) => d.id));
  t.same(everyDrop, all.map((e) => e.id), 'every event emitted is accounted for in the log: none lost silently');
});
