/**
 * The legacy monolith's catalog, read over OCC. The catalog is not migrated: every product view
 * starts here (name, existence), and the legacy arm of each context reads its part from the same
 * payload, so one request makes one catalog call however many contexts it touches (memoized in
 * the request scope).
 */
import { GatewayError } from '../errors.js';
import type { Upstream } from '../upstream/http.js';
import type { Scope } from '../upstream/scope.js';
import { validator } from '../domain/map-result.js';
import { OccCatalogProduct, OccCatalogSearchPage } from './dto.js';
import type { DataCache } from '../cache/cache.js';
import type { CachePolicy } from '../cache/policy.js';
import { cachedBatch, type CachedRead } from '../cache/ports.js';

/**
 * The catalog's cache policy (it is not a context, so it has no descriptor): names and
 * existence change rarely, so long. But the legacy arms of pricing, inventory and promotions
 * read their parts from these same payloads, so the events of all three purge it too.
 */
export const CATALOG_CACHE_POLICY: CachePolicy = Object.freeze<CachePolicy>({
  methods: ['products'],
  ttlMs: 300_000,
  staleIfErrorMs: 600_000,
  purgedBy: ['price.changed', 'stock.changed', 'promotion.changed'],
});

const checkOccProduct = validator(OccCatalogProduct);
const checkOccSearchPage = validator(OccCatalogSearchPage);
type OccProductDto = OccCatalogProduct;
type OccSearchPageDto = OccCatalogSearchPage;

export class LegacyCatalog {
  private readonly cached: CachedRead<string, OccProductDto> | undefined;

  /** @param cache the data cache (src/cache/), under CATALOG_CACHE_POLICY; absent: every read goes to legacy */
  constructor(
    private readonly legacy: Upstream,
    cache?: DataCache,
  ) {
    this.cached = cache ? cachedBatch(cache, 'catalog', CATALOG_CACHE_POLICY, (site: string) => site, (scope, site, codes) => this.fetchMany(scope, site, codes)) : undefined;
  }

  /** One product (FULL), or undefined when the monolith does not know it. */
  product(scope: Scope, site: string, code: string): Promise<OccProductDto | undefined> {
    if (this.cached) return this.products(scope, site, [code]).then((m) => m.get(code));
    return this.fetchOne(scope, site, code);
  }

  /**
   * Many products in one call: OCC search with a `code` facet per SKU (SAP's
   * `:relevance:code:A:code:B` query syntax), FULL fields. Unknown codes are simply absent.
   */
  products(scope: Scope, site: string, codes: readonly string[]): Promise<Map<string, OccProductDto>> {
    if (!this.cached) return this.fetchMany(scope, site, codes);
    return this.cached(scope, site, `legacy|products||${scope.outbound.headers['accept-language'] ?? ''}`, codes);
  }

  private fetchOne(scope: Scope, site: string, code: string): Promise<OccProductDto | undefined> {
    return scope.once(`occ:product:${site}:${code}`, async () => {
      const r = await this.legacy.getJson(`/${encodeURIComponent(site)}/products/${encodeURIComponent(code)}?fields=FULL`, {
        ...scope.outbound,
        context: 'catalog',
        backend: 'legacy',
      });
      if (r.status === 404) return undefined;
      expectOk(r.status, 'product');
      const checked = checkOccProduct(r.body);
      if (!checked.ok) throw invalid('product', checked.errors, scope);
      return checked.value;
    });
  }

  private fetchMany(scope: Scope, site: string, codes: readonly string[]): Promise<Map<string, OccProductDto>> {
    if (codes.length === 1) {
      const code = codes[0] as string;
      return this.fetchOne(scope, site, code).then((p) => {
        const one = new Map<string, OccProductDto>();
        if (p) one.set(code, p);
        return one;
      });
    }
    return scope.once(`occ:products:${site}:${codes.join(',')}`, async () => {
      const query = encodeURIComponent(':relevance' + codes.map((c) => `:code:${c}`).join(''));
      const r = await this.legacy.getJson(`/${encodeURIComponent(site)}/products/search?query=${query}&pageSize=${codes.length}&fields=FULL`, {
        ...scope.outbound,
        context: 'catalog',
        backend: 'legacy',
      });
      expectOk(r.status, 'product search');
      const checked = checkOccSearchPage(r.body);
      if (!checked.ok) throw invalid('product search', checked.errors, scope);
      return new Map((checked.value.products ?? []).map((p) => [p.code, p]));
    });
  }

  /** A storefront search, forwarded with the client's own query parameters but FULL fields. */
  async search(scope: Scope, site: string, params: URLSearchParams): Promise<OccSearchPageDto> {
    params.set('fields', 'FULL');
    const r = await this.legacy.getJson(`/${encodeURIComponent(site)}/products/search?${params.toString()}`, {
      ...scope.outbound,
      context: 'catalog',
      backend: 'legacy',
    });
    if (r.status === 400) throw new GatewayError(400, 'GW_ERR_REQUEST_INVALID', 'invalid search parameters', { occType: 'ValidationError' });
    expectOk(r.status, 'product search');
    const checked = checkOccSearchPage(r.body);
    if (!checked.ok) throw invalid('product search', checked.errors, scope);
    return checked.value;
  }
}

function expectOk(status: number, what: string): void {
  if (status !== 200) {
    throw new GatewayError(502, 'GW_ERR_UPSTREAM_FAILED', `legacy ${what} answered with status ${status}`, { context: 'catalog', backend: 'legacy' });
  }
}

function invalid(what: string, errors: { path: string; message: string }[], scope: Scope): GatewayError {
  scope.log.error({ event: 'upstream.invalid_payload', context: 'catalog', backend: 'legacy', errors }, `legacy ${what} payload failed validation`);
  return new GatewayError(502, 'GW_ERR_UPSTREAM_INVALID_PAYLOAD', `catalog upstream (legacy) returned an invalid ${what} payload`, {
    context: 'catalog',
    backend: 'legacy',
    errors,
  });
}
