/**
 * Starts the embedded world: the legacy OCC simulator and the three new services, each on its
 * own port (ephemeral by default so parallel test files never collide).
 */
import type { FastifyInstance } from 'fastify';
import { buildLegacyCommerce } from './legacy-commerce/server.js';
import { buildPricingService } from './pricing-service/server.js';
import { buildInventoryService } from './inventory-service/server.js';
import { buildPromotionsService } from './promotions-service/server.js';

export type BackendName = 'legacy' | 'pricing' | 'inventory' | 'promotions';

export interface Running {
  url: string;
  app: FastifyInstance;
}

export interface Backends {
  legacy: Running;
  pricing: Running;
  inventory: Running;
  promotions: Running;
  close(): Promise<void>;
}

export interface StartOptions {
  host?: string;
  ports?: Partial<Record<BackendName, number>>;
  logger?: boolean;
  /** AMQP broker the new services announce their changes on (`PUT /__changes/...`); unset: not announced */
  amqpUrl?: string;
}

const BUILDERS: Record<BackendName, (opts: { logger?: boolean; amqpUrl?: string }) => Promise<FastifyInstance>> = {
  legacy: buildLegacyCommerce,
  pricing: buildPricingService,
  inventory: buildInventoryService,
  promotions: buildPromotionsService,
};

/** Every simulator this world can start, legacy first. */
export const BACKEND_NAMES = Object.freeze(Object.keys(BUILDERS) as BackendName[]);

async function start(name: BackendName, opts: StartOptions): Promise<Running> {
  const host = opts.host ?? '127.0.0.1';
  const app = await BUILDERS[name]({ logger: opts.logger ?? false, ...(opts.amqpUrl === undefined ? {} : { amqpUrl: opts.amqpUrl }) });
  await app.listen({ host, port: opts.ports?.[name] ?? 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  // IPv6 literals need brackets in a URL
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return { url: `http://${urlHost}:${port}`, app };
}

export interface SomeBackends {
  running: Partial<Record<BackendName, Running>>;
  close(): Promise<void>;
}

/** Starts the named backends only (the rest are real systems the gateway is pointed at). */
export async function startSomeBackends(names: readonly BackendName[], opts: StartOptions = {}): Promise<SomeBackends> {
  const results = await Promise.allSettled(names.map((n) => start(n, opts)));
  const started = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    // do not leak the servers that did start when one port is taken
    await Promise.allSettled(started.map((r) => r.app.close()));
    throw failed.reason;
  }
  const running: Partial<Record<BackendName, Running>> = {};
  names.forEach((n, i) => (running[n] = started[i]));
  return {
    running,
    close: async () => {
      await Promise.allSettled(started.map((r) => r.app.close()));
    },
  };
}

/** The gateway's upstream URLs for a started embedded world. */
export function upstreamUrlsOf(b: Backends): Record<BackendName, string> {
  return { legacy: b.legacy.url, pricing: b.pricing.url, inventory: b.inventory.url, promotions: b.promotions.url };
}

export async function startBackends(opts: StartOptions = {}): Promise<Backends> {
  const some = await startSomeBackends(['legacy', 'pricing', 'inventory', 'promotions'], opts);
  const { legacy, pricing, inventory, promotions } = some.running as Record<BackendName, Running>;
  return { legacy, pricing, inventory, promotions, close: some.close };
}
