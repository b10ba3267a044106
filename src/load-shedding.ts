/**
 * Load shedding with @fastify/under-pressure: past the event-loop delay, heap or RSS limits the
 * gateway answers 503 with Retry-After at once instead of queueing work it cannot finish in time.
 * Health endpoints are never shed: an orchestrator must still see the process alive.
 */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import underPressure from '@fastify/under-pressure';
import { GatewayError } from './errors.js';
import { errorResponse } from './error-handler.js';
import type { GatewayConfig } from './config/load.js';

// Operators must be able to flip or kill a context exactly when the gateway is overloaded.
const EXEMPT_PREFIXES = ['/healthz', '/readyz', '/metrics', '/admin/'];

async function loadSheddingPlugin(app: FastifyInstance, opts: { shed: GatewayConfig['shed'] }): Promise<void> {
  const { eventLoopDelayMs, heapBytes, rssBytes } = opts.shed;
  if (!eventLoopDelayMs && !heapBytes && !rssBytes) return;
  await app.register(underPressure, {
    ...(eventLoopDelayMs ? { maxEventLoopDelay: eventLoopDelayMs } : {}),
    ...(heapBytes ? { maxHeapUsedBytes: heapBytes } : {}),
    ...(rssBytes ? { maxRssBytes: rssBytes } : {}),
    // A sample window as long as the threshold: under-pressure reads a window with no loop
    // sample as infinite delay, so a shorter window shed on stalls far below the threshold
    // (seen under load: 200 ms stalls shed at a 1000 ms threshold).
    sampleInterval: Math.max(eventLoopDelayMs || 1000, 100),
    pressureHandler: (request, reply, type, value) => {
      // Not sending a reply lets the request through: health checks always are.
      if (EXEMPT_PREFIXES.some((p) => request.url.startsWith(p))) return;
      request.log.warn({ event: 'shed', type, value }, 'shedding load');
      // A returned body is sent by under-pressure and stops the request (a promise would not).
      return errorResponse(request, reply, new GatewayError(503, 'GW_ERR_OVERLOADED', 'the gateway is overloaded; retry shortly', { retryAfterSeconds: 2 })) as never;
    },
  });
}

export default fp(loadSheddingPlugin, { name: 'load-shedding', fastify: '5.x', dependencies: ['error-handler'] });
