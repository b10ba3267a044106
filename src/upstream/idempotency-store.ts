/**
 * Where Idempotency-Keys live. In memory for one gateway; in Redis (REDIS_URL) so every gateway
 * instance sees the same keys. A key is claimed by its first request ("in flight", under a lease
 * the request renews while it runs) and then ends in one of three ways:
 * - done: it holds the stored response, replayed to every retry;
 * - released: the first attempt certainly had no effect (never sent, or refused upstream), so a
 *   retry runs;
 * - unknown: the write may or may not have happened (the upstream call timed out or broke after
 *   it was sent, or the gateway running it stopped: its lease lapsed). The key is kept and never
 *   runs again.
 * The lease is what keeps a crashed gateway's key from being "in flight" for the whole TTL: once
 * it lapses the key answers "unknown" instead.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';

export interface StoredResponse {
  status: number;
  contentType: string | undefined;
  route: string | undefined;
  body: string;
}

/**
 * Why a key's outcome is not known: `interrupted`, the upstream call timed out or broke after the
 * request was sent; `abandoned`, the gateway running it stopped (or lost its store) before it
 * could record the outcome, and its lease lapsed.
 */
export type UnknownReason = 'interrupted' | 'abandoned';

export type ClaimResult =
  | { state: 'claimed'; token: string }
  | { state: 'in-flight' }
  | { state: 'unknown'; reason: UnknownReason }
  | { state: 'mismatch' }
  | { state: 'done'; response: StoredResponse };

/** A key as stored (JSON in Redis). An entry with neither `response` nor `unknown` is in flight. */
interface Entry {
  fingerprint: string;
  response?: StoredResponse;
  unknown?: UnknownReason;
}

export interface IdempotencyStore {
  readonly kind: 'memory' | 'redis';
  /**
   * Claims `key` for a request whose method, path and body hash to `fingerprint`; the claim holds
   * for `leaseMs` unless renewed, the key itself for `ttlMs`.
   */
  claim(key: string, fingerprint: string, ttlMs: number, leaseMs: number): Promise<ClaimResult>;
  /** Extends a claim's lease; false when the claim is no longer the caller's. */
  renew(key: string, token: string, leaseMs: number): Promise<boolean>;
  complete(key: string, fingerprint: string, response: StoredResponse, ttlMs: number): Promise<void>;
  /** Keeps the key, with no response, as one whose outcome is not known: it never runs again. */
  markUnknown(key: string, fingerprint: string, reason: UnknownReason, ttlMs: number): Promise<void>;
  /** Forgets the key (the first attempt had no effect), so a retry runs. */
  release(key: string): Promise<void>;
  /** Throws when the store cannot be reached (readiness detail). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

function decide(entry: Entry, fingerprint: string, leaseHeld: boolean): ClaimResult {
  if (entry.fingerprint !== fingerprint) return { state: 'mismatch' };
  if (entry.response) return { state: 'done', response: entry.response };
  if (entry.unknown) return { state: 'unknown', reason: entry.unknown };
  return leaseHeld ? { state: 'in-flight' } : { state: 'unknown', reason: 'abandoned' };
}

export class MemoryIdempotencyStore implements IdempotencyStore {
  readonly kind = 'memory';
  private readonly entries = new Map<string, Entry & { expires: number; token?: string; leaseUntil?: number }>();
  private readonly sweeper: NodeJS.Timeout;

  constructor() {
    this.sweeper = setInterval(() => this.sweep(), 60_000);
    this.sweeper.unref();
  }

  async claim(key: string, fingerprint: string, ttlMs: number, leaseMs: number): Promise<ClaimResult> {
    const now = Date.now();
    const e = this.entries.get(key);
    if (e && e.expires > now) return decide(e, fingerprint, (e.leaseUntil ?? 0) > now);
    const token = randomUUID();
    this.entries.set(key, { fingerprint, expires: now + ttlMs, token, leaseUntil: now + leaseMs });
    return { state: 'claimed', token };
  }

  async renew(key: string, token: string, leaseMs: number): Promise<boolean> {
    const e = this.entries.get(key);
    if (!e || e.token !== token || e.response || e.unknown) return false;
    e.leaseUntil = Date.now() + leaseMs;
    return true;
  }

  async complete(key: string, fingerprint: string, response: StoredResponse, ttlMs: number): Promise<void> {
    this.entries.set(key, { fingerprint, response, expires: Date.now() + ttlMs });
  }

  async markUnknown(key: string, fingerprint: string, reason: UnknownReason, ttlMs: number): Promise<void> {
    this.entries.set(key, { fingerprint, unknown: reason, expires: Date.now() + ttlMs });
  }

  async release(key: string): Promise<void> {
    this.entries.delete(key);
  }

  async ping(): Promise<void> {}

  private sweep(): void {
    const now = Date.now();
    for (const [k, e] of this.entries) if (e.expires <= now) this.entries.delete(k);
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
  }
}

/**
 * Claim atomically: the entry (for the TTL) and its lease (a key of its own, expiring on Redis's
 * clock, so gateways with skewed clocks agree on when it lapsed). Returns the token when the claim
 * was won, else the entry and whether its lease is still held.
 */
const CLAIM = `
local v = redis.call('GET', KEYS[1])
if not v then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[4])
  return {'claimed'}
end
return {v, redis.call('EXISTS', KEYS[2])}`;

const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`;

export class RedisIdempotencyStore implements IdempotencyStore {
  readonly kind = 'redis';
  private readonly redis: Redis;

  constructor(url: string, private readonly prefix = 'strangler:idem:') {
    this.redis = new Redis(url, {
      // Fail fast rather than queue or hang: a request must not wait on a Redis outage. While
      // disconnected, commands fail at once and ioredis keeps reconnecting in the background.
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      lazyConnect: true,
      connectTimeout: 2000,
      commandTimeout: 1000,
      retryStrategy: (times) => Math.min(50 * times, 1000),
    });
    this.redis.on('error', () => undefined); // surfaced per command; avoid unhandled 'error' events
  }

  async connect(): Promise<void> {
    await this.redis.connect();
  }

  /** The entry and its lease share a hash tag, so they live on one Redis Cluster slot. */
  private keys(key: string): [string, string] {
    return [`${this.prefix}{${key}}`, `${this.prefix}{${key}}:lease`];
  }

  async claim(key: string, fingerprint: string, ttlMs: number, leaseMs: number): Promise<ClaimResult> {
    const token = randomUUID();
    const r = (await this.redis.eval(CLAIM, 2, ...this.keys(key), JSON.stringify({ fingerprint } satisfies Entry), ttlMs, token, leaseMs)) as [string, number?];
    if (r[0] === 'claimed') return { state: 'claimed', token };
    return decide(JSON.parse(r[0]) as Entry, fingerprint, r[1] === 1);
  }

  async renew(key: string, token: string, leaseMs: number): Promise<boolean> {
    return (await this.redis.eval(RENEW, 1, this.keys(key)[1], token, leaseMs)) === 1;
  }

  private async settle(key: string, entry: Entry, ttlMs: number): Promise<void> {
    const [k, lease] = this.keys(key);
    await this.redis.multi().set(k, JSON.stringify(entry), 'PX', ttlMs).del(lease).exec();
  }

  complete(key: string, fingerprint: string, response: StoredResponse, ttlMs: number): Promise<void> {
    return this.settle(key, { fingerprint, response }, ttlMs);
  }

  markUnknown(key: string, fingerprint: string, reason: UnknownReason, ttlMs: number): Promise<void> {
    return this.settle(key, { fingerprint, unknown: reason }, ttlMs);
  }

  async release(key: string): Promise<void> {
    await this.redis.del(...this.keys(key));
  }

  async ping(): Promise<void> {
    await this.redis.ping();
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}

/**
 * The store for `redisUrl` (in memory without one). A Redis that is down at boot does not stop
 * the gateway: keyed writes are refused (503) until it is reachable, and ioredis keeps
 * reconnecting, so it recovers without a restart.
 */
export async function createIdempotencyStore(redisUrl: string | undefined, prefix?: string): Promise<IdempotencyStore> {
  if (!redisUrl) return new MemoryIdempotencyStore();
  const store = new RedisIdempotencyStore(redisUrl, prefix);
  await store.connect().catch(() => undefined);
  return store;
}
