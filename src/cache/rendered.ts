/**
 * Rendered answers of the hottest read, the OCC product detail: the bytes as serialized, per
 * SKU, keyed by the arms the request is routed to (so a flip never serves the other arm's
 * rendering) and by everything else that shapes the bytes (fields mask, currency, languages).
 *
 * A hit skips composition, the fields mask, serialization, UTF-8 encoding and the ETag's hash:
 * the entry holds the bytes and their strong ETag (src/http-validators.ts `entityTag`, over the
 * `x-strangler-route` a hit will send: the contexts of the key, none by fallback), so a warm
 * product costs about what relaying a response does. Its TTL is the shortest of the parts it was made of (the catalog and
 * each context it shows), and the events that purge any of those parts purge it
 * (`RENDERED_PURGE`). Memory only: the parts are shared through Redis, renderings are cheap to
 * redo. An answer that used a fallback or a stale copy is not kept, nor one asked for the first
 * time (a doorkeeper: see `seen`).
 */
import type { ContextName } from '../contexts/names.js';
import { routeHeader } from '../routing/decide.js';
import { entityTag } from '../http-validators.js';
import type { Scope } from '../upstream/scope.js';
import type { DataCache } from './cache.js';
import type { CachePolicy } from './policy.js';

export const RENDERED_NS = 'occ-product';

/** A rendering as served: the bytes, and their ETag when the answer that stored it had the route header a hit will have. */
export interface Rendered {
  readonly body: Buffer;
  readonly etag: string | undefined;
}

/** What purges a rendering: anything that purges one of its parts. */
export const RENDERED_PURGE: CachePolicy = Object.freeze<CachePolicy>({ methods: [], ttlMs: 0, staleIfErrorMs: 0, purgedBy: ['price.changed', 'stock.changed', 'promotion.changed'] });

/** Renderings asked for once and not kept yet (the doorkeeper): cleared when it reaches this size. */
const DOORKEEPER_MAX = 50_000;

export class RenderedProducts {
  private readonly policies = new Map<string, CachePolicy>();
  /**
   * A rendering is kept only when it is asked for a second time: over a big, cold key space
   * most renderings would never be asked again within their (short) TTL, and storing them all
   * only churned the LRU and the old generation.
   */
  private seen = new Set<string>();

  /**
   * @param ttlOf a context's data TTL (its descriptor's cache policy); undefined: not cached, so
   *   a rendering that shows it is not kept either
   * @param catalogTtlMs the catalog's TTL
   */
  constructor(
    private readonly cache: DataCache,
    private readonly ttlOf: (context: ContextName) => number | undefined,
    private readonly catalogTtlMs: number,
  ) {}

  /** The routed arms of `contexts` for this request (recorded as touched, as reading them would). */
  arms(scope: Scope, contexts: readonly ContextName[]): string {
    let s = '';
    for (const c of contexts) s += `${c}=${scope.use(c)};`;
    return s;
  }

  /** The rendering, or undefined and the stamp to store one with. */
  get(site: string, sku: string, variant: string, contexts: readonly ContextName[]): { hit: Rendered | undefined; at: number } {
    const policy = this.policyFor(contexts);
    if (policy === undefined) return { hit: undefined, at: 0 };
    const l = this.cache.lookupMemory<Rendered>(RENDERED_NS, policy, site, variant, [sku]);
    return { hit: l.hits.get(sku), at: l.at };
  }

  store(scope: Scope, site: string, sku: string, variant: string, at: number, contexts: readonly ContextName[], body: string): void {
    const policy = this.policyFor(contexts);
    if (policy === undefined || scope.fallbacks.size > 0 || scope.stale.size > 0) return;
    const key = `${site}\u0000${sku}\u0000${variant}`;
    if (!this.seen.delete(key)) {
      if (this.seen.size >= DOORKEEPER_MAX) this.seen = new Set();
      this.seen.add(key);
      return;
    }
    // a hit touches exactly `contexts` (arms()): the route header it will send is this one only
    // if the rendering touched the same contexts
    const sameRoute = scope.touched.size === contexts.length && contexts.every((c) => scope.touched.has(c));
    const bytes = Buffer.from(body);
    const etag = sameRoute ? entityTag(routeHeader(scope.decision, scope.touched), '', bytes) : undefined;
    this.cache.store(RENDERED_NS, policy, site, variant, at, [sku], new Map([[sku, { body: bytes, etag }]]), true);
  }

  private policyFor(contexts: readonly ContextName[]): CachePolicy | undefined {
    const key = contexts.join(',');
    let p = this.policies.get(key);
    if (p === undefined && !this.policies.has(key)) {
      let ttl = this.catalogTtlMs;
      for (const c of contexts) {
        const t = this.ttlOf(c);
        if (t === undefined) {
          ttl = 0;
          break;
        }
        ttl = Math.min(ttl, t);
      }
      p = ttl > 0 ? Object.freeze<CachePolicy>({ ...RENDERED_PURGE, ttlMs: ttl }) : undefined;
      this.policies.set(key, p as CachePolicy);
    }
    return p;
  }
}
