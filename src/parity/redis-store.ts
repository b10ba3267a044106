/**
 * Parity counts shared by every gateway instance: one Redis hash per context
 * (`<prefix><context>`, a field per result), incremented as each instance counts, read whole.
 * Increments are fire-and-forget (off the request path, like the comparison itself); a Redis
 * outage loses shared increments, never a request, and the local counts stay exact.
 */
import { Redis } from 'ioredis';
import type { ContextName } from '../contexts/names.js';
import type { ParityCounts } from './types.js';
import type { ParityResult, SharedParityStore } from './shadow.js';

export class RedisParityStore implements SharedParityStore {
  private readonly redis: Redis;
  private failures = 0;

  constructor(
    url: string,
    private readonly prefix: string,
    private readonly onError: (err: unknown) => void,
  ) {
    this.redis = new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: true, connectTimeout: 2000, commandTimeout: 1000, retryStrategy: (times) => Math.min(50 * times, 1000) });
    this.redis.on('error', () => undefined); // surfaced per command
  }

  async connect(): Promise<void> {
    await this.redis.connect();
  }

  incr(context: ContextName, result: ParityResult): void {
    this.redis.hincrby(`${this.prefix}${context}`, result, 1).catch((err: unknown) => {
      // one log line per burst of failures, not one per comparison
      if (this.failures++ % 1000 === 0) this.onError(err);
    });
  }

  async read(context: ContextName): Promise<ParityCounts> {
    const h = await this.redis.hgetall(`${this.prefix}${context}`);
    const n = (k: ParityResult) => Number(h[k] ?? 0) || 0;
    return { match: n('match'), mismatch: n('mismatch'), noise: n('noise'), error: n('error'), shed: n('shed') };
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}
