/**
 * Base sites as the legacy monolith defines them (`GET /basesites`). The gateway does not keep
 * its own list: the monolith owns sites, so an unknown site is the monolith's verdict, and a
 * new site appears without a gateway release. Cached; re-read at most every `refreshMs`.
 */
import { Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { GatewayError } from '../errors.js';
import type { Upstream } from '../upstream/http.js';

export interface SiteInfo {
  readonly uid: string;
  readonly currency: string;
  readonly currencies: readonly string[];
}

const Currency = Type.Object({ isocode: Type.String({ pattern: '^[A-Z]{3}$' }) });
const BaseSites = Type.Object({
  baseSites: Type.Array(
    Type.Object({
      uid: Type.String({ minLength: 1 }),
      stores: Type.Optional(
        Type.Array(Type.Object({ currencies: Type.Optional(Type.Array(Currency)), defaultCurrency: Type.Optional(Currency) })),
      ),
    }),
  ),
});
const checkBaseSites = TypeCompiler.Compile(BaseSites);

export class SiteRegistry {
  private sites = new Map<string, SiteInfo>();
  private loadedAt = 0;
  private inflight: Promise<void> | undefined;

  constructor(
    private readonly legacy: Upstream,
    private readonly refreshMs = 60_000,
  ) {}

  async get(uid: string): Promise<SiteInfo> {
    const now = Date.now();
    const known = this.sites.get(uid);
    if (known && now - this.loadedAt < this.refreshMs) return known;
    // Unknown or stale: refresh, but never more than once per second for unknown sites
    // (a client probing random site ids must not turn into load on the monolith).
    if (!known && now - this.loadedAt < 1000 && this.loadedAt > 0) throw notFound(uid);
    try {
      await this.refresh();
    } catch (err) {
      if (known) return known; // serve the last known sites while legacy is unhappy
      throw err;
    }
    const site = this.sites.get(uid);
    if (!site) throw notFound(uid);
    return site;
  }

  refresh(): Promise<void> {
    this.inflight ??= this.load().finally(() => (this.inflight = undefined));
    return this.inflight;
  }

  private async load(): Promise<void> {
    const r = await this.legacy.getJson('/basesites?fields=FULL', { context: 'catalog', backend: 'legacy' });
    if (r.status !== 200 || !checkBaseSites.Check(r.body)) {
      throw new GatewayError(502, 'GW_ERR_UPSTREAM_INVALID_PAYLOAD', 'legacy base sites payload is invalid', {
        context: 'catalog',
        backend: 'legacy',
        errors: [...checkBaseSites.Errors(r.body)].slice(0, 5).map((e) => ({ path: e.path, message: e.message })),
      });
    }
    const next = new Map<string, SiteInfo>();
    for (const s of r.body.baseSites) {
      const store = s.stores?.[0];
      const currencies = (store?.currencies ?? []).map((c) => c.isocode);
      const currency = store?.defaultCurrency?.isocode ?? currencies[0];
      if (currency) next.set(s.uid, Object.freeze({ uid: s.uid, currency, currencies: Object.freeze(currencies.length ? currencies : [currency]) }));
    }
    this.sites = next;
    this.loadedAt = Date.now();
  }
}

function notFound(uid: string): GatewayError {
  return new GatewayError(404, 'GW_ERR_SITE_NOT_FOUND', `Base site ${uid} doesn't exist`);
}
