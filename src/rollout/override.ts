/**
 * The kill override (docs/rollouts.md#kill-override): forces legacy for a context whatever its
 * route flag says, until cleared. It does not touch the flag source, so it works when Unleash
 * (or the flag files) cannot be reached or written. The routing decision applies it after the
 * flags (src/routing/decision-memo.ts: RoutingDecisions.forceLegacy).
 *
 * In process always; with REDIS_URL also in a Redis hash that every instance reads every
 * `pollMs`, so one operator call holds on every instance. A set whose Redis write fails still
 * holds here (and says so); the next poll does not drop it.
 */
import type { Redis } from 'ioredis';
import { isContextName, type ContextName } from '../contexts/names.js';
import type { Override } from './schemas.js';

export interface OverrideLogger {
  warn(obj: object, msg: string): void;
}

export class Overrides {
  private shared = new Map<ContextName, Override>();
  /** set here but not (yet) in Redis */
  private readonly localOnly = new Map<ContextName, Override>();
  private readonly listeners = new Set<(forced: ReadonlySet<ContextName>) => void>();
  private timer: NodeJS.Timeout | undefined;
  private forcedNow: ReadonlySet<ContextName> = new Set();

  constructor(
    private readonly log: OverrideLogger,
    private readonly redis?: Redis,
    private readonly key = 'strangler:rollout:overrides',
    pollMs = 500,
  ) {
    if (redis) {
      this.timer = setInterval(() => void this.refresh(), pollMs);
      this.timer.unref();
    }
  }

  /** Contexts forced to legacy now. */
  get forced(): ReadonlySet<ContextName> {
    return this.forcedNow;
  }

  list(): Override[] {
    return [...this.merged().values()];
  }

  /** Called with the forced set whenever it changes. */
  onChange(listener: (forced: ReadonlySet<ContextName>) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Forces legacy for `context`; `shared` false: Redis could not be written, it holds on this instance only. */
  async set(context: ContextName, reason: string, actor: string): Promise<{ override: Override; shared: boolean }> {
    const override: Override = { context, override: 'legacy', reason, actor, at: new Date().toISOString() };
    this.localOnly.set(context, override);
    this.update();
    if (!this.redis) return { override, shared: true };
    try {
      await this.redis.hset(this.key, context, JSON.stringify(override));
      this.localOnly.delete(context);
      this.shared.set(context, override);
      return { override, shared: true };
    } catch (err) {
      this.log.warn({ event: 'override.not_shared', context, err }, `kill override of ${context} holds on this instance only: Redis unreachable`);
      return { override, shared: false };
    }
  }

  /** Clears the override; false when there was none. */
  async clear(context: ContextName): Promise<boolean> {
    const had = this.merged().has(context);
    this.localOnly.delete(context);
    this.shared.delete(context);
    if (this.redis) await this.redis.hdel(this.key, context);
    this.update();
    return had;
  }

  /** Reads the shared overrides now (the poll does it every pollMs). */
  async refresh(): Promise<void> {
    if (!this.redis) return;
    try {
      const h = await this.redis.hgetall(this.key);
      const next = new Map<ContextName, Override>();
      for (const [c, raw] of Object.entries(h)) if (isContextName(c)) next.set(c, JSON.parse(raw) as Override);
      this.shared = next;
      this.update();
    } catch {
      // Redis down: the last known overrides stand
    }
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private merged(): Map<ContextName, Override> {
    return new Map([...this.shared, ...this.localOnly]);
  }

  private update(): void {
    const next = new Set(this.merged().keys());
    const same = next.size === this.forcedNow.size && [...next].every((c) => this.forcedNow.has(c));
    if (same) return;
    this.forcedNow = next;
    for (const l of this.listeners) l(next);
  }
}
