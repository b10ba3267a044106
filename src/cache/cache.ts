/**
 * The gateway's data cache: per-SKU copies of context reads (and of the legacy catalog), in an
 * in-process LRU bounded by bytes (src/cache/lru.ts) and, when `REDIS_URL` is set, a Redis tier
 * shared by every instance. What may be cached, for how long and what purges it is each
 * context's policy (src/cache/policy.ts, set in its descriptor); this module only applies it.
 *
 * - **Keys name the arm** that produced the value (`legacy` or `new`), the port method, the
 *   site, its currency and the `accept-language` propagated upstream: a flip never serves the
 *   other arm's answer, and a fallback's answer is legacy's.
 * - **Purges** are generation marks: a purge of a SKU, a site or a whole namespace records the
 *   time; a copy taken before it (by when its read *started*) is no longer served, so a read that
 *   was in flight during the purge cannot bring the old value back. Marked-dead entries age out
 *   of the LRU; in Redis the purge deletes them.
 * - **stale-if-error**: a copy past its TTL but within `staleIfErrorMs` is kept, and answers
 *   only when the upstream fails (src/cache/ports.ts marks the request).
 *
 * docs/caching.md is the guide.
 */
import type { Redis } from 'ioredis';
import { ByteLru } from './lru.js';
import type { CachePolicy } from './policy.js';
import { approxBytes } from './size.js';

/** A cache namespace: a context's name, or `catalog`. */
export type CacheNs = string;

export interface CacheMetrics {
  /** `n` SKUs answered by `tier`; `ageMs`: the sum of their copies' ages (freshness: mean age = sum / n) */
  hit(ns: CacheNs, tier: 'memory' | 'redis', n: number, ageMs: number): void;
  miss(ns: CacheNs, n: number): void;
  staleServed(ns: CacheNs, n: number): void;
  purged(ns: CacheNs, cause: string): void;
  bytes(held: number): void;
  redisFailed(op: string): void;
}

const NO_METRICS: CacheMetrics = { hit() {}, miss() {}, staleServed() {}, purged() {}, bytes() {}, redisFailed() {} };

/** A SKU the backend answered without (unknown, not priced): cached too, or it would always miss. */
const ABSENT = Symbol('absent');
type Stored<V> = V | typeof ABSENT;

interface Slot {
  /** the value, or ABSENT */
  readonly v: unknown;
  /** wall-clock ms when the read that produced it started */
  readonly at: number;
}

export interface Lookup<V> {
  /** fresh copies (absent SKUs left out, as the port would) */
  readonly hits: Map<string, V>;
  /** SKUs without a fresh copy */
  readonly missing: string[];
  /** copies past their TTL that stale-if-error may still serve, by SKU (ABSENT: known absent) */
  readonly stale: Map<string, Stored<V>>;
  /** when this lookup started: the stamp its misses are stored with */
  readonly at: number;
}

export interface DataCacheOptions {
  maxBytes: number;
  /** the shared tier; absent: memory only */
  redis?: Redis | undefined;
  redisPrefix?: string;
  metrics?: CacheMetrics;
  now?: () => number;
}

const SEP = '\u0000';

export class DataCache {
  private readonly lru: ByteLru<Slot>;
  /** purge marks: `ns`, `ns\0site`, `ns\0site\0sku` → wall-clock ms of the last purge */
  private readonly marks = new Map<string, number>();
  private readonly redis: Redis | undefined;
  private readonly prefix: string;
  private readonly metrics: CacheMetrics;
  private readonly now: () => number;
  private writes: [key: string, field: string, json: string, pttl: number][] = [];
  private flushScheduled = false;
  private readonly sizes = new Map<string, { n: number; avg: number }>();

  constructor(opts: DataCacheOptions) {
    this.metrics = opts.metrics ?? NO_METRICS;
    this.lru = new ByteLru<Slot>(opts.maxBytes);
    this.redis = opts.redis;
    this.prefix = opts.redisPrefix ?? 'strangler:cache:';
    this.now = opts.now ?? Date.now;
  }

  get bytesHeld(): number {
    return this.lru.bytes;
  }

  get shared(): boolean {
    return this.redis !== undefined;
  }

  /**
   * What the cache holds for `skus` of (ns, site, variant). Memory first; with Redis, the SKUs
   * memory lacks are asked of Redis in one round trip (and kept in memory).
   */
  async lookup<V>(ns: CacheNs, policy: CachePolicy, site: string, variant: string, skus: readonly string[]): Promise<Lookup<V>> {
    const l = this.lookupMemory<V>(ns, policy, site, variant, skus, this.redis !== undefined);
    if (l.missing.length === 0 || !this.redis) return l;
    return this.lookupRedis(ns, policy, site, variant, l);
  }

  /**
   * The memory tier only, synchronously (what `lookup` does first). `deferMisses`: the caller
   * asks Redis next and counts the misses there.
   */
  lookupMemory<V>(ns: CacheNs, policy: CachePolicy, site: string, variant: string, skus: readonly string[], deferMisses = false): Lookup<V> {
    const now = this.now();
    const hits = new Map<string, V>();
    const stale = new Map<string, Stored<V>>();
    const missing: string[] = [];
    const nsMark = this.marks.get(ns) ?? 0;
    const siteMark = Math.max(nsMark, this.marks.get(ns + SEP + site) ?? 0);
    const base = ns + SEP + site + SEP;
    let ageMs = 0;
    for (const sku of skus) {
      const slot = this.lru.get(base + sku + SEP + variant);
      if (slot === undefined || !this.classify(slot, policy, now, siteMark, ns, site, sku, hits, stale)) missing.push(sku);
      else ageMs += now - slot.at;
    }
    const inMemory = skus.length - missing.length;
    if (inMemory > 0) this.metrics.hit(ns, 'memory', inMemory, ageMs);
    if (missing.length > 0 && !deferMisses) this.metrics.miss(ns, missing.length);
    return { hits, missing, stale, at: now };
  }

  private async lookupRedis<V>(ns: CacheNs, policy: CachePolicy, site: string, variant: string, l: Lookup<V>): Promise<Lookup<V>> {
    const { hits, stale, at: now } = l;
    let missing = l.missing;
    const siteMark = Math.max(this.marks.get(ns) ?? 0, this.marks.get(ns + SEP + site) ?? 0);
    const base = ns + SEP + site + SEP;
    {
        const fromRedis = await this.redisLookup(ns, site, variant, missing);
      if (fromRedis) {
        const still: string[] = [];
        let n = 0;
        let ageMs = 0;
        for (let i = 0; i < missing.length; i++) {
          const sku = missing[i]!;
          const slot = fromRedis[i];
          if (slot !== undefined && this.classify(slot, policy, now, siteMark, ns, site, sku, hits, stale)) {
            n++;
            ageMs += now - slot.at;
            this.lru.set(base + sku + SEP + variant, slot, approxBytes(slot.v) + 64 + base.length + variant.length);
          } else {
            if (slot !== undefined && !stale.has(sku)) this.keepStale(slot, policy, now, siteMark, ns, site, sku, stale);
            still.push(sku);
          }
        }
        if (n > 0) {
          this.metrics.hit(ns, 'redis', n, ageMs);
          this.metrics.bytes(this.lru.bytes);
        }
        missing = still;
      }
    }
    if (missing.length > 0) this.metrics.miss(ns, missing.length);
    return { hits, missing, stale, at: now };
  }

  /**
   * Stores what the upstream answered for `asked` (a SKU absent from `values` is stored as
   * absent), stamped with the lookup's start. With Redis, written in one pipeline after this
   * turn of the event loop.
   */
  store<V>(ns: CacheNs, policy: CachePolicy, site: string, variant: string, at: number, asked: readonly string[], values: ReadonlyMap<string, V>, memoryOnly = false): void {
    const base = ns + SEP + site + SEP;
    const pttl = policy.ttlMs + policy.staleIfErrorMs;
    for (const sku of asked) {
      const v = values.get(sku);
      const slot: Slot = { v: v === undefined ? ABSENT : v, at };
      this.lru.set(base + sku + SEP + variant, slot, (v === undefined ? 8 : this.sizeOf(ns, v)) + 64 + base.length + variant.length);
      if (this.redis && !memoryOnly) this.queueWrite(this.redisKey(ns, site, sku), variant, v === undefined ? `{"at":${at}}` : `{"at":${at},"v":${JSON.stringify(v)}}`, pttl);
    }
    this.metrics.bytes(this.lru.bytes);
  }

  /**
   * Purges a SKU (`site` and `sku`), a site (`site`), or the whole namespace (neither): copies
   * taken before now are no longer served, here and (deleted) in Redis.
   */
  async purge(ns: CacheNs, target: { site?: string | undefined; sku?: string | undefined }, cause: string): Promise<void> {
    const now = this.now();
    const site = target.site;
    const sku = site === undefined ? undefined : target.sku;
    const mark = site === undefined ? ns : sku === undefined ? ns + SEP + site : ns + SEP + site + SEP + sku;
    this.marks.set(mark, now);
    if (site === undefined) this.lru.deleteWhere((k) => k.startsWith(ns + SEP));
    else if (sku === undefined) this.lru.deleteWhere((k) => k.startsWith(ns + SEP + site + SEP));
    this.metrics.purged(ns, cause);
    this.metrics.bytes(this.lru.bytes);
    if (!this.redis) return;
    try {
      if (sku !== undefined && site !== undefined) {
        await this.redis.unlink(this.redisKey(ns, site, sku));
      } else {
        await this.unlinkMatching(`${this.prefix}${glob(ns)}:${site === undefined ? '' : `${glob(site)}:`}*`);
      }
    } catch {
      this.metrics.redisFailed('purge');
    }
  }

  /** Counts `n` SKUs answered from stale copies (stale-if-error). */
  staleServed(ns: CacheNs, n: number): void {
    this.metrics.staleServed(ns, n);
  }

  /** Writes still queued go out now (tests, shutdown). */
  async flush(): Promise<void> {
    await this.flushWrites();
  }

  /**
   * The size of a value to store. Walking every stored value was a measurable part of a miss:
   * values of one namespace are alike in size (a price, a product), so all of the first 32 and
   * then one in 16 are walked and the rest take the namespace's running average.
   */
  private sizeOf(ns: string, v: unknown): number {
    if (typeof v === 'string') return 16 + v.length;
    const body = (v as { body?: unknown }).body;
    if (Buffer.isBuffer(body)) return 160 + body.length; // a rendering (src/cache/rendered.ts)
    let s = this.sizes.get(ns);
    if (s === undefined) {
      s = { n: 0, avg: 0 };
      this.sizes.set(ns, s);
    }
    s.n++;
    if (s.n <= 32 || (s.n & 15) === 0) {
      const b = approxBytes(v);
      s.avg = s.n === 1 ? b : s.avg * 0.9 + b * 0.1;
      return b;
    }
    return Math.round(s.avg);
  }

  /** true: fresh (into `hits`); false: not fresh (maybe into `stale`). */
  private classify<V>(slot: Slot, policy: CachePolicy, now: number, siteMark: number, ns: string, site: string, sku: string, hits: Map<string, V>, stale: Map<string, Stored<V>>): boolean {
    const skuMark = this.marks.size === 0 ? 0 : (this.marks.get(ns + SEP + site + SEP + sku) ?? 0);
    if (slot.at <= siteMark || slot.at <= skuMark) return false; // taken before a purge
    if (now - slot.at < policy.ttlMs) {
      if (slot.v !== ABSENT) hits.set(sku, slot.v as V);
      return true;
    }
    if (now - slot.at < policy.ttlMs + policy.staleIfErrorMs) stale.set(sku, slot.v as Stored<V>);
    return false;
  }

  private keepStale<V>(slot: Slot, policy: CachePolicy, now: number, siteMark: number, ns: string, site: string, sku: string, stale: Map<string, Stored<V>>): void {
    const skuMark = this.marks.get(ns + SEP + site + SEP + sku) ?? 0;
    if (slot.at <= siteMark || slot.at <= skuMark) return;
    if (now - slot.at < policy.ttlMs + policy.staleIfErrorMs) stale.set(sku, slot.v as Stored<V>);
  }

  private redisKey(ns: string, site: string, sku: string): string {
    return `${this.prefix}${ns}:${site}:${sku}`;
  }

  private async redisLookup(ns: string, site: string, variant: string, skus: readonly string[]): Promise<(Slot | undefined)[] | undefined> {
    const redis = this.redis!;
    try {
      const p = redis.pipeline();
      for (const sku of skus) p.hget(this.redisKey(ns, site, sku), variant);
      const res = (await p.exec()) ?? [];
      return res.map(([err, raw]) => (err || typeof raw !== 'string' ? undefined : parseSlot(raw)));
    } catch {
      this.metrics.redisFailed('read');
      return undefined;
    }
  }

  private queueWrite(key: string, field: string, json: string, pttl: number): void {
    this.writes.push([key, field, json, pttl]);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => void this.flushWrites());
  }

  private async flushWrites(): Promise<void> {
    this.flushScheduled = false;
    const writes = this.writes;
    if (writes.length === 0 || !this.redis) return;
    this.writes = [];
    try {
      const p = this.redis.pipeline();
      for (const [key, field, json, pttl] of writes) p.hset(key, field, json).pexpire(key, pttl);
      await p.exec();
    } catch {
      this.metrics.redisFailed('write');
    }
  }

  private async unlinkMatching(pattern: string): Promise<void> {
    const redis = this.redis!;
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
      if (keys.length > 0) await redis.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
  }
}

function parseSlot(raw: string): Slot | undefined {
  try {
    const o = JSON.parse(raw) as { at?: unknown; v?: unknown };
    if (typeof o.at !== 'number') return undefined;
    return { at: o.at, v: 'v' in o ? o.v : ABSENT };
  } catch {
    return undefined;
  }
}

/** A Redis glob pattern matching `s` literally. */
function glob(s: string): string {
  return s.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}
