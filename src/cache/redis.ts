/**
 * The data cache's Redis client (the shared tier, REDIS_URL). Fails fast, never queues: a read
 * that cannot reach Redis is a miss of that tier, not a wait (src/cache/cache.ts counts it).
 */
import { Redis } from 'ioredis';

export function cacheRedis(url: string, log: { warn(obj: object, msg?: string): void }): Redis {
  const redis = new Redis(url, {
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    lazyConnect: true,
    connectTimeout: 2000,
    commandTimeout: 500,
    retryStrategy: (times) => Math.min(50 * times, 1000),
  });
  redis.on('error', () => undefined); // surfaced per command, counted there
  redis.connect().catch((err: unknown) => log.warn({ event: 'cache.redis_unavailable', err }, 'data cache: Redis is not reachable; serving from memory until it is'));
  return redis;
}
