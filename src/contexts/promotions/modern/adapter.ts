/** New arm of promotions: the promotions service (definitions, product promotions, cart evaluation). */
import { GatewayError } from '../../../errors.js';
import type { CartEvaluation, Promotion, PromotionInfo } from '../../../domain/model.js';
import type { SiteInfo } from '../../../occ/legacy-sites.js';
import type { Upstream } from '../../../upstream/http.js';
import type { Scope } from '../../../upstream/scope.js';
import { invalidPayload, unexpectedStatus } from '../../../upstream/invalid.js';
import type { Caller } from '../../../upstream/coalesce.js';
import { SiteBatches } from '../../batch.js';
import type { CartLine, PromotionListType, PromotionsPort, StoredCart, UnitPrices } from '../promotions.port.js';
import { checkCartEvaluation, checkProductPromotionBatch, checkPromotion, checkPromotionList, promotionToInfo } from './payload.js';

export const DEFINITIONS_TTL_MS = 5000;
const SCOPE_OF: Record<PromotionListType, string> = { all: '', product: '?scope=PRODUCT', order: '?scope=ORDER' };

export class ModernPromotions implements PromotionsPort {
  constructor(private readonly upstream: Upstream) {}

  /**
   * Promotion definitions change on a business timescale, yet every product view needs them to
   * describe its promotions: they are cached for DEFINITIONS_TTL_MS (one fetch in flight at a
   * time), which was ~8 % of a composed product's CPU when fetched per request. A failed fetch
   * is not cached.
   */
  private readonly cache = new Map<string, { at: number; value: Promise<Promotion[]> }>();

  private definitions(scope: Caller, site: SiteInfo, type: PromotionListType): Promise<Promotion[]> {
    const key = `${site.uid}:${type}`;
    const hit = this.cache.get(key);
    if (hit && Date.now() - hit.at < DEFINITIONS_TTL_MS) return hit.value;
    const value = this.fetchDefinitions(scope, site, type);
    this.cache.set(key, { at: Date.now(), value });
    value.catch(() => {
      if (this.cache.get(key)?.value === value) this.cache.delete(key);
    });
    return value;
  }

  private async fetchDefinitions(scope: Caller, site: SiteInfo, type: PromotionListType): Promise<Promotion[]> {
    const r = await this.upstream.getJson(`/v1/sites/${encodeURIComponent(site.uid)}/promotions${SCOPE_OF[type]}`, {
      ...scope.outbound,
      context: 'promotions',
      backend: 'new',
    });
    if (r.status !== 200) throw unexpectedStatus('promotions', 'new', r.status);
    const checked = checkPromotionList(r.body);
    if (!checked.ok) throw invalidPayload(scope, 'promotions', 'new', 'promotion list', checked.errors);
    return checked.value.promotions;
  }

  /**
   * The product promotion definitions of a site, by code: mapped once per definitions fetch
   * rather than once per SKU of every batch. Frozen: every product that carries a promotion
   * shares its object (and the OCC presenter renders it once).
   */
  private readonly potential = new WeakMap<Promise<Promotion[]>, Promise<Map<string, PromotionInfo>>>();

  private potentialPromotions(caller: Caller, site: SiteInfo): Promise<Map<string, PromotionInfo>> {
    const defs = this.definitions(caller, site, 'product');
    let mapped = this.potential.get(defs);
    if (mapped === undefined) {
      mapped = defs.then((list) => new Map(list.map((d) => [d.code, Object.freeze(promotionToInfo(d, site.uid))])));
      this.potential.set(defs, mapped);
    }
    return mapped;
  }

  private readonly productBatches = new SiteBatches<PromotionInfo[]>((site, skus, caller) => this.fetchProductPromotions(site, skus, caller));

  productPromotions(scope: Scope, site: SiteInfo, skus: readonly string[]): Promise<Map<string, PromotionInfo[]>> {
    return this.productBatches.get(scope, site, skus);
  }

  private async fetchProductPromotions(site: SiteInfo, skus: readonly string[], caller: Caller): Promise<Map<string, PromotionInfo[]>> {
    const path = `/v1/sites/${encodeURIComponent(site.uid)}/product-promotions?skus=${skus.map(encodeURIComponent).join(',')}`;
    const [r, byCode] = await Promise.all([
      this.upstream.getJson(path, { ...caller.outbound, context: 'promotions', backend: 'new' }),
      this.potentialPromotions(caller, site),
    ]);
    if (r.status === 404) return new Map();
    if (r.status !== 200) throw unexpectedStatus('promotions', 'new', r.status);
    const checked = checkProductPromotionBatch(r.body);
    if (!checked.ok) throw invalidPayload(caller, 'promotions', 'new', 'product promotions', checked.errors);
    const out = new Map<string, PromotionInfo[]>();
    for (const item of checked.value.items) {
      const list: PromotionInfo[] = [];
      for (const s of item.promotions) {
        const info = byCode.get(s.code);
        if (!info) throw invalidPayload(caller, 'promotions', 'new', 'product promotions', [{ path: `/items/${item.sku}`, message: `unknown promotion ${s.code}` }]);
        list.push(info);
      }
      out.set(item.sku, list);
    }
    return out;
  }

  async list(scope: Scope, site: SiteInfo, type: PromotionListType): Promise<PromotionInfo[]> {
    return (await this.definitions(scope, site, type)).map((p) => promotionToInfo(p, site.uid));
  }

  async get(scope: Scope, site: SiteInfo, code: string): Promise<PromotionInfo | undefined> {
    const r = await this.upstream.getJson(`/v1/sites/${encodeURIComponent(site.uid)}/promotions/${encodeURIComponent(code)}`, {
      ...scope.outbound,
      context: 'promotions',
      backend: 'new',
    });
    if (r.status === 404) return undefined;
    if (r.status !== 200) throw unexpectedStatus('promotions', 'new', r.status);
    const checked = checkPromotion(r.body);
    if (!checked.ok) throw invalidPayload(scope, 'promotions', 'new', 'promotion', checked.errors);
    return promotionToInfo(checked.value, site.uid);
  }

  async calculate(scope: Scope, site: SiteInfo, cart: StoredCart, prices: UnitPrices): Promise<CartEvaluation> {
    return cart.lines.length === 0 ? cart.monolith() : this.evaluate(scope, site, cart.lines, prices);
  }

  async evaluate(scope: Scope, site: SiteInfo, lines: readonly CartLine[], prices: UnitPrices): Promise<CartEvaluation> {
    const unit = await prices(lines.map((l) => l.sku));
    const entries = lines.map((l) => {
      const unitPrice = unit.get(l.sku);
      if (!unitPrice) throw new GatewayError(502, 'GW_ERR_UPSTREAM_FAILED', `no unit price for ${l.sku}`, { context: 'pricing' });
      return { sku: l.sku, quantity: l.quantity, unitPrice };
    });
    const r = await this.upstream.getJson(`/v1/sites/${encodeURIComponent(site.uid)}/carts/evaluate`, {
      method: 'POST',
      body: { entries },
      ...scope.outbound,
      context: 'promotions',
      backend: 'new',
    });
    if (r.status === 404) throw new GatewayError(404, 'GW_ERR_PRODUCT_NOT_FOUND', 'the cart names a product the catalog does not know');
    if (r.status !== 200) throw unexpectedStatus('promotions', 'new', r.status);
    const checked = checkCartEvaluation(r.body);
    if (!checked.ok) throw invalidPayload(scope, 'promotions', 'new', 'cart evaluation', checked.errors);
    return checked.value;
  }
}
