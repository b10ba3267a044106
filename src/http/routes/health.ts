/**
 * Liveness and readiness. `/readyz` checks what routing needs right now: the flag source and
 * the legacy monolith (every request can fall back to it); new services are reported, not
 * required, since a context can be on legacy. Redis (REDIS_URL) is reported, not required: only
 * Idempotency-Keyed writes need it. The AMQP broker (AMQP_URL) is reported, not required: events
 * are not on the request path; while it is down `checks.events` says `degraded`.
 */
import type { FastifyInstance } from 'fastify';
import type { Gateway } from '../../gateway.js';

export default async function healthRoutes(app: FastifyInstance, opts: { gw: Gateway }): Promise<void> {
  const { gw } = opts;
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
    const checks: Record<string, string> = {};
    await Promise.all(
      (Object.keys(gw.upstreams) as (keyof Gateway['upstreams'])[]).map(async (name) => {
        try {
          const r = await gw.upstreams[name]!.call(name === 'legacy' ? '/basesites?fields=BASIC' : '/healthz');
          checks[name] = r.status < 500 ? 'up' : `status ${r.status}`;
        } catch {
          checks[name] = 'down';
        }
      }),
    );
    checks.flags = gw.flags.lastError ? `stale: ${gw.flags.lastError}` : 'ok';
    // Reported, not required: only keyed writes need it (they get a 503 while it is down).
    if (gw.idempotencyStore.kind === 'redis') checks.redis = await gw.idempotencyStore.ping().then(() => 'up', () => 'down');
    if (gw.broker) {
      const b = gw.broker.status();
      checks.events = b.state === 'connected' ? 'up' : `degraded: broker ${b.state}${b.lastError === undefined ? '' : ` (${b.lastError})`}, ${b.outbox} gateway events in the outbox`;
    }
    const breakers: Record<string, string> = {};
    for (const [name, u] of Object.entries(gw.upstreams)) breakers[name] = u.breakerState;
    if (app.isDraining()) checks.shutdown = 'draining';
    const ready = checks.legacy === 'up' && !app.isDraining();
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', flagSource: gw.flags.source, checks, breakers });
  });
}
