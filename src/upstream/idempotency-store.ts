/**
 * Where Idempotency-Keys live. In memory for one gateway; in Redis (REDIS_URL) so every gateway
 * instance sees the same keys. A key moves from "in flight" (claimed by the first request) to
 * "done" (holding the stored response) or is released when the first attempt failed upstream,
 * so the client can retry it.
 */
import { Redis } from 'ioredis';

export interface StoredResponse {
  status: number;
  contentType: string | undefined;
  route: string | undefined;
  body: string;
}

export type ClaimResult =
  | { state: 'claimed' }
  | { state: 'in-flight' }
  | { state: 'mismatch' }
  | { state: 'done'; response: StoredResponse };

interface Entry {
  fingerprint: string;
  response?: StoredResponse;
}

export interface IdempotencyStore {
  readonly kind: 'memory' | 'redis';
  /** Claims `key` for a request whose method, path and body hash to `fingerprint`. */
  claim(key: string, fingerprint: string, ttlMs: number): Promise<ClaimResult>;
  complete(key: string, fingerprint: string, response: StoredResponse, ttlMs: number): Promise<void>;
  release(key: string): Promise<void>;
  close(): Promise<void>;
}

function decide(entry: Entry, fingerprint: string): ClaimResult {
  if (entry.fingerprint !== fingerprint) return { state: 'mismatch' };
  return entry.response ? { state: 'done', response: entry.response } : { state: 'in-flight' };
}

export class MemoryIdempotencyStore implements IdempotencyStore {
  readonly kind = 'memory';
  private readonly entries = new Map<string, Entry & { expires: number }>();
  private readonly sweeper: NodeJS.Timeout;

  constructor() {
    this.sweeper = setInterval(() => this.sweep(), 60_000);
    this.sweeper.unref();
  }

  async claim(key: string, fingerprint: string, ttlMs: number): Promise<ClaimResult> {
    const now = Date.now();
    const e = this.entries.get(key);
    if (e && e.expires > now) return decide(e, fingerprint);
    this.entries.set(key, { fingerprint, expires: now + ttlMs });
    return { state: 'claimed' };
  }

  async complete(key: string, fingerprint: string, response: StoredResponse, ttlMs: number): Promise<void> {
    this.entries.set(key, { fingerprint, response, expires: Date.now() + ttlMs });
  }

  async release(key: string): Promise<void> {
    this.entries.delete(key);
  }

  private sweep(): void {
    const now = Date.now();
    for (const [k, e] of this.entries) if (e.expires <= now) this.entries.delete(k);
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
  }
}

export class RedisIdempotencyStore implements IdempotencyStore {
  readonly kind = 'redis';
  private readonly redis: Redis;

  constructor(url: string, private readonly prefix = 'strangler:idem:') {
    // Fail fast rather than queue: a request must not hang on a Redis outage.
    this.redis = new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: true, connectTimeout: 2000 });
    this.redis.on('error', () => undefined); // surfaced per command; avoid unhandled 'error' events
  }

  async connect(): Promise<void> {
    await this.redis.connect();
  }

  async claim(key: string, fingerprint: string, ttlMs: number): Promise<ClaimResult> {
    const k = this.prefix + key;
    // SET NX is the atomic claim: of two gateways racing on one key, exactly one wins.
    const won = await this.redis.set(k, JSON.stringify({ fingerprint }), 'PX', ttlMs, 'NX');
    if (won === 'OK') return { state: 'claimed' };
    const raw = await this.redis.get(k);
    if (raw === null) return this.claim(key, fingerprint, ttlMs); // expired between the two calls
    return decide(JSON.parse(raw) as Entry, fingerprint);
  }

  async complete(key: string, fingerprint: string, response: StoredResponse, ttlMs: number): Promise<void> {
    await this.redis.set(this.prefix + key, JSON.stringify({ fingerprint, response }), 'PX', ttlMs);
  }

  async release(key: string): Promise<void> {
    await this.redis.del(this.prefix + key);
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}

export async function createIdempotencyStore(redisUrl: string | undefined): Promise<IdempotencyStore> {
  if (!redisUrl) return new MemoryIdempotencyStore();
  const store = new RedisIdempotencyStore(redisUrl);
  await store.connect();
  return store;
}
