/**
 * Legacy arm of promotions. Product promotions come from the catalog payload; definitions from
 * OCC's promotions resource; a stateless evaluation is done the only way the monolith can: a
 * transient anonymous cart (create, add entries, read, delete), which is exactly the calculation
 * a storefront's cart gets.
 */
import { GatewayError } from '../../../errors.js';
import type { CartEvaluation, PromotionInfo } from '../../../domain/model.js';
import type { LegacyCatalog } from '../../../occ/legacy-catalog.js';
import type { SiteInfo } from '../../../occ/legacy-sites.js';
import type { Upstream } from '../../../upstream/http.js';
import type { Scope } from '../../../upstream/scope.js';
import { invalidPayload, unexpectedStatus } from '../../../upstream/invalid.js';
import type { CartLine, PromotionListType, PromotionsPort, StoredCart } from '../promotions.port.js';
import { checkLegacyPotentialPromotions, checkLegacyPromotionList, legacyCartToEvaluation, legacyPromotionToInfo, checkLegacyPromotion } from './mapper.js';

export class LegacyPromotions implements PromotionsPort {
  constructor(
    private readonly catalog: LegacyCatalog,
    private readonly legacy: Upstream,
  ) {}

  async productPromotions(scope: Scope, site: SiteInfo, skus: readonly string[]): Promise<Map<string, PromotionInfo[]>> {
    const products = await this.catalog.products(scope, site.uid, skus);
    const out = new Map<string, PromotionInfo[]>();
    for (const [sku, p] of products) {
      const checked = checkLegacyPotentialPromotions(p.potentialPromotions ?? []);
      if (!checked.ok) {
        throw invalidPayload(scope, 'promotions', 'legacy', 'potential promotions', checked.errors.map((e) => ({ ...e, path: `/products/${sku}/potentialPromotions${e.path}` })));
      }
      out.set(sku, checked.value.map(legacyPromotionToInfo));
    }
    return out;
  }

  async list(scope: Scope, site: SiteInfo, type: PromotionListType): Promise<PromotionInfo[]> {
    const r = await this.legacy.getJson(`/${encodeURIComponent(site.uid)}/promotions?type=${type}&fields=FULL`, {
      ...scope.outbound,
      context: 'promotions',
      backend: 'legacy',
    });
    if (r.status !== 200) throw unexpectedStatus('promotions', 'legacy', r.status);
    const checked = checkLegacyPromotionList(r.body);
    if (!checked.ok) throw invalidPayload(scope, 'promotions', 'legacy', 'promotion list', checked.errors);
    return checked.value.promotions.map(legacyPromotionToInfo);
  }

  async get(scope: Scope, site: SiteInfo, code: string): Promise<PromotionInfo | undefined> {
    const r = await this.legacy.getJson(`/${encodeURIComponent(site.uid)}/promotions/${encodeURIComponent(code)}?fields=FULL`, {
      ...scope.outbound,
      context: 'promotions',
      backend: 'legacy',
    });
    if (r.status === 404) return undefined;
    if (r.status !== 200) throw unexpectedStatus('promotions', 'legacy', r.status);
    const checked = checkLegacyPromotion(r.body);
    if (!checked.ok) throw invalidPayload(scope, 'promotions', 'legacy', 'promotion', checked.errors);
    return legacyPromotionToInfo(checked.value);
  }

  /** The monolith calculated its cart when it was read: that is its answer. */
  calculate(_scope: Scope, _site: SiteInfo, cart: StoredCart): Promise<CartEvaluation> {
    try {
      return Promise.resolve(cart.monolith());
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  /** The monolith prices a cart itself: no unit prices are asked for. */
  async evaluate(scope: Scope, site: SiteInfo, entries: readonly CartLine[]): Promise<CartEvaluation> {
    const base = `/${encodeURIComponent(site.uid)}/users/anonymous/carts`;
    const call = { ...scope.outbound, context: 'promotions', backend: 'legacy' as const };
    const created = await this.legacy.getJson(`${base}?fields=BASIC`, { ...call, method: 'POST' });
    const guid = (created.body as { guid?: unknown } | undefined)?.guid;
    if (created.status !== 201 && created.status !== 200) throw unexpectedStatus('promotions', 'legacy', created.status);
    if (typeof guid !== 'string' || !/^[A-Za-z0-9-]{1,64}$/.test(guid)) {
      throw invalidPayload(scope, 'promotions', 'legacy', 'cart', [{ path: '/guid', message: 'missing or malformed cart guid' }]);
    }
    try {
      const unknown: string[] = [];
      // Sequential on purpose: OCC numbers entries in the order they are added.
      for (const e of entries) {
        const r = await this.legacy.getJson(`${base}/${guid}/entries?fields=BASIC`, {
          ...call,
          method: 'POST',
          body: { product: { code: e.sku }, quantity: e.quantity },
        });
        if (r.status === 400 || r.status === 404) unknown.push(e.sku);
        else if (r.status !== 200 && r.status !== 201) throw unexpectedStatus('promotions', 'legacy', r.status);
      }
      if (unknown.length) throw new GatewayError(404, 'GW_ERR_PRODUCT_NOT_FOUND', `unknown product(s): ${unknown.join(', ')}`);
      const cart = await this.legacy.getJson(`${base}/${guid}?fields=FULL`, call);
      if (cart.status !== 200) throw unexpectedStatus('promotions', 'legacy', cart.status);
      const evaluation = legacyCartToEvaluation(cart.body, site.currency);
      if (!evaluation.ok) throw invalidPayload(scope, 'promotions', 'legacy', 'cart', evaluation.errors);
      return evaluation.value;
    } finally {
      // Best effort: a transient cart left behind is harmless (the monolith expires anonymous carts).
      this.legacy.call(`${base}/${guid}`, { ...call, method: 'DELETE' }).catch(() => undefined);
    }
  }
}
