/**
 * Continuity when a shopper's identity changes: a binding says "route this user / token / cart
 * by that earlier key". Written when an anonymous shopper creates a cart (the cart guid is bound
 * to the shopper's key) and when a logged-in shopper merges the anonymous cart (the user is bound
 * to the anonymous cart's key), so the arms a shopper had stay for the rest of the session.
 *
 * In Redis when REDIS_URL is set (every gateway instance sees the same bindings), in memory
 * otherwise (bounded: the oldest go first). Every binding expires after STICKY_TTL_S.
 */
import { Redis } from 'ioredis';

export interface BindingStore {
  readonly kind: 'memory' | 'redis';
  /** The key `from` is bound to, if any. Rejects when the store cannot answer. */
  get(from: string): Promise<string | undefined>;
  /** Binds `from` to `to` for `ttlMs` (a later binding replaces it). */
  set(from: string, to: string, ttlMs: number): Promise<void>;
  close(): Promise<void>;
}

export class MemoryBindingStore implements BindingStore {
  readonly kind = 'memory';
  private readonly entries = new Map<string, { to: string; expires: number }>();

  constructor(private readonly max = 100_000) {}

  get size(): number {
    return this.entries.size;
  }

  async get(from: string): Promise<string | undefined> {
    const e = this.entries.get(from);
    if (e === undefined) return undefined;
    if (e.expires <= Date.now()) {
      this.entries.delete(from);
      return undefined;
    }
    return e.to;
  }

  async set(from: string, to: string, ttlMs: number): Promise<void> {
    // re-inserted at the end: the map's order is the order of last write, oldest first
    this.entries.delete(from);
    this.entries.set(from, { to, expires: Date.now() + ttlMs });
    while (this.entries.size > this.max) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
  }

  async close(): Promise<void> {
    this.entries.clear();
  }
}

export class RedisBindingStore implements BindingStore {
  readonly kind = 'redis';
  private readonly redis: Redis;

  constructor(url: string, private readonly prefix: string) {
    // Fail fast rather than queue: routing falls back to the unbound key, a request never hangs.
    this.redis = new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: true, connectTimeout: 2000 });
    this.redis.on('error', () => undefined); // surfaced per command
  }

  async connect(): Promise<void> {
    await this.redis.connect();
  }

  async get(from: string): Promise<string | undefined> {
    return (await this.redis.get(this.prefix + from)) ?? undefined;
  }

  async set(from: string, to: string, ttlMs: number): Promise<void> {
    await this.redis.set(this.prefix + from, to, 'PX', ttlMs);
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}

export async function createBindingStore(redisUrl: string | undefined, prefix: string, maxInMemory: number): Promise<BindingStore> {
  if (!redisUrl) return new MemoryBindingStore(maxInMemory);
  const store = new RedisBindingStore(redisUrl, prefix);
  // Redis down at boot is not a reason to refuse traffic: lookups fail fast and fall back to the
  // unbound key (stickiness.ts) while ioredis keeps reconnecting in the background.
  await store.connect().catch(() => undefined);
  return store;
}
