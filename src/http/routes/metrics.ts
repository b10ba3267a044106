/**
 * Prometheus exposition (text format 0.0.4) of the gateway's metrics and its process metrics.
 * Unauthenticated like /healthz, as scrapers expect; it carries no request data (route patterns,
 * never URLs), and load shedding leaves it alone so an overloaded gateway can still be seen.
 */
import type { FastifyInstance } from 'fastify';

export default async function metricsRoutes(app: FastifyInstance): Promise<void> {
  const { metrics } = app.telemetry;
  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    const body = await metrics.render();
    return reply.header('cache-control', 'no-store').type(metrics.contentType).send(body);
  });
}
