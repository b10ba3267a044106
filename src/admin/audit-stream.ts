/**
 * The shared audit trail: a Redis stream (AUDIT_STREAM_KEY) every gateway instance appends to and
 * reads from, so `GET /admin/audit` on any instance lists every instance's changes, each once,
 * with the instance that recorded it. Bounded: `XADD … MAXLEN ~ AUDIT_STREAM_MAXLEN` trims the
 * oldest entries (approximately, in whole stream nodes, which keeps trimming cheap).
 *
 * Each once: every instance observes a change made in the flag source (Unleash's UI, or an
 * admin change made through another instance). Next to the stream, a hash keeps the route state
 * last recorded per context, and a short-lived key marks an admin change in progress. One Lua
 * script decides and appends atomically, so of N instances observing the same change:
 * - an admin change in progress on the context (counted in before the flag write, so no instance
 *   can observe it earlier; out when its entry is appended) → not recorded: the admin's own
 *   entry follows;
 * - the last recorded state is already the observed one → recorded by someone else, skip;
 * - the last recorded state is neither the one this instance saw before nor the new one → the
 *   trail has moved past this observation (a slow instance catching up), skip;
 * - otherwise the first one appends it and moves the last recorded state.
 *
 * Keys: `<key>`, `<key>:last`, `<key>:pending:<context>`. On Redis Cluster give the key a hash
 * tag (`{strangler}:audit`) so the script's keys share a slot.
 */
import { Redis } from 'ioredis';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { AuditEntrySchema, type AuditEntry } from './schemas.js';
import { AuditLog, type AuditPage, type AuditTrail } from './audit.js';

const checkEntry = TypeCompiler.Compile(AuditEntrySchema);

/** KEYS: stream, last, pending. ARGV: maxlen, entry json, context, after json. */
const APPEND = `
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'entry', ARGV[2])
redis.call('HSET', KEYS[2], ARGV[3], ARGV[4])
if redis.call('DECR', KEYS[3]) <= 0 then redis.call('DEL', KEYS[3]) end
return 1`;

/** KEYS: pending. ARGV: ttl ms. Admin changes of one context may run on several instances at once. */
const BEGIN = `
redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1`;

/** KEYS: pending. An admin change that wrote nothing. */
const END = `
if redis.call('DECR', KEYS[1]) <= 0 then redis.call('DEL', KEYS[1]) end
return 1`;

/** KEYS: stream, last, pending. ARGV: maxlen, entry json, context, after json, before json. */
const APPEND_OBSERVED = `
if redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
local last = redis.call('HGET', KEYS[2], ARGV[3])
if last == ARGV[4] then return 0 end
if last and last ~= ARGV[5] then return 0 end
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'entry', ARGV[2])
redis.call('HSET', KEYS[2], ARGV[3], ARGV[4])
return 1`;

/** How long an admin change may hold observations of its context back (a crashed admin's mark lapses). */
const PENDING_MS = 30_000;
const PAGE = 200;

export class RedisAuditStream implements AuditTrail {
  readonly kind = 'redis-stream';
  private readonly redis: Redis;

  constructor(
    url: string,
    readonly path: string,
    private readonly maxLen: number,
  ) {
    this.redis = new Redis(url, {
      // as the idempotency store: fail fast while Redis is down (the admin change is refused with
      // a 503 before anything is written), reconnect in the background
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      lazyConnect: true,
      connectTimeout: 2000,
      commandTimeout: 2000,
      retryStrategy: (times) => Math.min(50 * times, 1000),
    });
    this.redis.on('error', () => undefined); // surfaced per command
  }

  async connect(): Promise<void> {
    await this.redis.connect();
  }

  private keys(context: string): [string, string, string] {
    return [this.path, `${this.path}:last`, `${this.path}:pending:${context}`];
  }

  async append(entry: AuditEntry): Promise<void> {
    await this.redis.eval(APPEND, 3, ...this.keys(entry.context), this.maxLen, JSON.stringify(entry), entry.context, JSON.stringify(entry.after));
  }

  async appendObserved(entry: AuditEntry): Promise<boolean> {
    const r = await this.redis.eval(
      APPEND_OBSERVED,
      3,
      ...this.keys(entry.context),
      this.maxLen,
      JSON.stringify(entry),
      entry.context,
      JSON.stringify(entry.after),
      JSON.stringify(entry.before),
    );
    return r === 1;
  }

  async beginChange(context: string): Promise<void> {
    await this.redis.eval(BEGIN, 1, this.keys(context)[2], PENDING_MS);
  }

  async endChange(context: string): Promise<void> {
    await this.redis.eval(END, 1, this.keys(context)[2]);
  }

  async recent(limit: number, filter: (e: AuditEntry) => boolean = () => true): Promise<AuditPage> {
    const entries: AuditEntry[] = [];
    let skipped = 0;
    let end = '+';
    for (;;) {
      const page = (await this.redis.xrevrange(this.path, end, '-', 'COUNT', PAGE)) as [string, string[]][];
      for (const [, fields] of page) {
        const i = fields.indexOf('entry');
        let parsed: unknown;
        try {
          parsed = i >= 0 ? JSON.parse(fields[i + 1] ?? '') : undefined;
        } catch {
          parsed = undefined;
        }
        if (!checkEntry.Check(parsed)) skipped++;
        else if (filter(parsed)) entries.push(parsed);
        if (entries.length === limit) return { entries, skipped };
      }
      if (page.length < PAGE) return { entries, skipped };
      end = `(${page[page.length - 1]![0]}`;
    }
  }

  async ping(): Promise<void> {
    await this.redis.ping();
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}

/** The shared stream with REDIS_URL, else the host's file. */
export async function createAuditTrail(opts: { redisUrl: string | undefined; streamKey: string; maxLen: number; filePath: string }): Promise<AuditTrail> {
  if (!opts.redisUrl) return new AuditLog(opts.filePath);
  const stream = new RedisAuditStream(opts.redisUrl, opts.streamKey, opts.maxLen);
  await stream.connect().catch(() => undefined); // reconnects in the background; commands fail fast meanwhile
  return stream;
}
