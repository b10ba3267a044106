/**
 * Caching applied to reads: a per-SKU batch read `(scope, site, skus) => Map<sku, V>` answered
 * from the cache for the SKUs it holds fresh, from the upstream for the rest (only those), and,
 * when the upstream fails, from copies within the stale-if-error bound (the request is marked:
 * `x-strangler-stale`). Request coalescing stays where it was, behind this: the SKUs that miss
 * in concurrent requests still share one upstream call (src/upstream/coalesce.ts).
 */
import type { DomainEvent } from '../events/bus.js';
import { GatewayError } from '../errors.js';
import type { Scope } from '../upstream/scope.js';
import type { CacheNs, DataCache, Lookup } from './cache.js';
import type { CachePolicy } from './policy.js';

/** A batch read as a port has it: one site's SKUs. */
export type BatchRead<S, V> = (scope: Scope, site: S, skus: readonly string[]) => Promise<Map<string, V>>;
/** The same, cached: `variant` names everything besides the site and SKU the answer depends on. */
export type CachedRead<S, V> = (scope: Scope, site: S, variant: string, skus: readonly string[]) => Promise<Map<string, V>>;

/** An upstream failure a stale copy may stand in for: the upstream's trouble, not bad input. */
function upstreamTrouble(err: unknown): boolean {
  return err instanceof GatewayError && err.status >= 500;
}

/**
 * `read` with the cache in front. `variant` names everything besides the site and SKU that the
 * answer depends on (arm, method, currency, language).
 */
export function cachedBatch<S, V>(cache: DataCache, ns: CacheNs, policy: CachePolicy, siteKey: (site: S) => string, read: BatchRead<S, V>): CachedRead<S, V> {
  const rest = async (scope: Scope, site: S, key: string, variant: string, l: Lookup<V>): Promise<Map<string, V>> => {
    let got: Map<string, V>;
    try {
      got = await read(scope, site, l.missing);
    } catch (err) {
      if (!upstreamTrouble(err) || l.stale.size < l.missing.length) throw err;
      for (const sku of l.missing) if (!l.stale.has(sku)) throw err;
      for (const [sku, v] of l.stale) if (typeof v !== 'symbol') l.hits.set(sku, v);
      scope.stale.add(ns);
      cache.staleServed(ns, l.missing.length);
      scope.log.warn({ event: 'cache.stale_served', ns, code: (err as GatewayError).code, skus: l.missing.length }, `${ns}: upstream failed, served a stale copy`);
      return l.hits;
    }
    cache.store(ns, policy, key, variant, l.at, l.missing, got);
    if (l.hits.size === 0) return got;
    for (const [sku, v] of got) l.hits.set(sku, v);
    return l.hits;
  };
  return (scope, site, variant, skus) => {
    const key = siteKey(site);
    // memory only: no await on the way to a hit
    if (!cache.shared) {
      const l = cache.lookupMemory<V>(ns, policy, key, variant, skus);
      return l.missing.length === 0 ? Promise.resolve(l.hits) : rest(scope, site, key, variant, l);
    }
    return cache.lookup<V>(ns, policy, key, variant, skus).then((l) => (l.missing.length === 0 ? l.hits : rest(scope, site, key, variant, l)));
  };
}

interface SiteLike {
  readonly uid: string;
  readonly currency: string;
}
const siteUid = (s: SiteLike): string => s.uid;

/**
 * One arm of a context's port with its policy's methods cached (the key names the arm, so a
 * flip never serves the other arm's copy). Methods the policy does not name read through.
 */
export function cachedArm<P extends object>(cache: DataCache, ns: CacheNs, arm: 'legacy' | 'new', policy: CachePolicy, port: P): P {
  const target = port as Record<string, unknown>;
  const wrapped = Object.create(target) as Record<string, unknown>;
  for (const name of policy.methods) {
    const fn = target[name];
    if (typeof fn !== 'function') throw new Error(`cache policy of ${ns} names ${name}, which its ${arm} port does not have`);
    const read = cachedBatch<SiteLike, unknown>(cache, ns, policy, siteUid, (scope, site, skus) =>
      (fn as BatchRead<SiteLike, unknown>).call(target, scope, site, skus),
    );
    wrapped[name] = (scope: Scope, site: SiteLike, skus: readonly string[]): Promise<Map<string, unknown>> => {
      const lang = scope.outbound.headers['accept-language'];
      return read(scope, site, `${arm}|${name}|${site.currency}|${lang ?? ''}`, skus);
    };
  }
  return wrapped as P;
}

/** The purge a domain event asks of a namespace whose policy it names. */
export function purgeTarget(event: DomainEvent): { site?: string; sku?: string } {
  const d = event.data;
  const site = typeof d.site === 'string' && d.site.length > 0 ? d.site : undefined;
  const sku = typeof d.sku === 'string' && d.sku.length > 0 ? d.sku : undefined;
  if (site === undefined) return {};
  return sku === undefined ? { site } : { site, sku };
}

/**
 * Subscribes the cache to the domain events: each namespace whose policy lists the event's type
 * is purged (idempotency, an event delivered once, is the consumer's job: src/events/bus.ts).
 */
export function purgeOnEvents(
  cache: DataCache,
  policies: ReadonlyMap<CacheNs, CachePolicy>,
  onDomain: (listener: (e: DomainEvent) => void) => () => void,
  log: { warn(obj: object, msg?: string): void },
): () => void {
  return onDomain((event) => {
    const target = purgeTarget(event);
    for (const [ns, policy] of policies) {
      if (!policy.purgedBy.includes(event.type)) continue;
      cache.purge(ns, target, event.type).catch((err: unknown) => log.warn({ event: 'cache.purge_failed', ns, type: event.type, err }, `cache purge of ${ns} failed`));
    }
  });
}
