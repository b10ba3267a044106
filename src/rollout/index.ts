/**
 * The rollout capability assembled for the composition root (src/app.ts): the per-arm figures,
 * the store and lease (Redis when REDIS_URL is set), the controller and the kill override.
 */
import { Redis } from 'ioredis';
import type { GatewayConfig } from '../config/load.js';
import type { ParityReader } from '../parity/types.js';
import type { RouteAudit } from '../admin/route-audit.js';
import type { EventBus } from '../events/bus.js';
import type { FlagProvider } from '../routing/flag-provider.js';
import { ArmRecorder } from './figures.js';
import { RolloutController, type ControllerDeps } from './controller.js';
import { Overrides } from './override.js';
import { ALONE, MemoryRolloutStore, RedisLease, RedisRolloutStore } from './store.js';

export interface Rollouts {
  readonly controller: RolloutController;
  readonly overrides: Overrides;
  readonly figures: ArmRecorder;
  close(): Promise<void>;
}

export interface RolloutDeps {
  flags: FlagProvider;
  audit: RouteAudit;
  events: EventBus;
  parity: () => ParityReader | undefined;
  log: ControllerDeps['log'];
  /** this instance's name in the lease */
  instance: string;
}

export function createRollouts(config: GatewayConfig, deps: RolloutDeps): Rollouts {
  const { rollout } = config;
  const redis = config.redisUrl
    ? new Redis(config.redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: false, connectTimeout: 2000 })
    : undefined;
  // ioredis reports connection errors as events; the operations that fail say so themselves
  redis?.on('error', () => undefined);
  const figures = new ArmRecorder(redis, rollout.redisPrefix, Math.min(1000, rollout.tickMs));
  const overrides = new Overrides(deps.log, redis, `${rollout.redisPrefix}overrides`);
  const controller = new RolloutController({
    flags: deps.flags,
    audit: deps.audit,
    events: deps.events,
    parity: deps.parity,
    recorder: figures,
    store: redis ? new RedisRolloutStore(redis, rollout.redisPrefix) : new MemoryRolloutStore(),
    lease: redis ? new RedisLease(redis, `${rollout.redisPrefix}lease`, deps.instance, rollout.leaseMs) : ALONE,
    overrides,
    guardrails: rollout.guardrails,
    log: deps.log,
  });
  controller.run(rollout.tickMs);
  return {
    controller,
    overrides,
    figures,
    async close() {
      await controller.close();
      overrides.close();
      figures.close();
      await figures.flush().catch(() => undefined);
      redis?.disconnect();
    },
  };
}
