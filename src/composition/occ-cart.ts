/**
 * An OCC cart read through the gateway. The monolith keeps the cart (entries, quantities,
 * owner); the promotions context owns its calculation (entry prices, applied promotions,
 * totals), with unit prices from the pricing backend the request is routed to. Both arms go
 * through the same anti-corruption mapping and the same overlay, so an OCC client sees one
 * shape whichever backend calculated its cart.
 */
import { GatewayError } from '../errors.js';
import type { CartEvaluation } from '../domain/model.js';
import { validator } from '../domain/map-result.js';
import { OccCart, OccErrorList, type OccCatalogProduct, type OccStock } from '../occ/dto.js';
import type { Gateway } from '../gateway.js';
import type { SiteInfo } from '../occ/legacy-sites.js';
import type { Scope } from '../upstream/scope.js';
import { invalidPayload } from '../upstream/invalid.js';
import { evaluationToOccCartTotals, legacyCartToEvaluation } from '../contexts/promotions/legacy/mapper.js';
import { availabilityToOccStock } from '../contexts/inventory/legacy/mapper.js';

const checkCart = validator(OccCart);
const checkErrorList = validator(OccErrorList);

export interface CartAddress {
  userId: string;
  cartId: string;
  /** the client's Authorization header: user carts are the monolith's to authorize */
  authorization: string | undefined;
}

export async function readOccCart(
  gw: Gateway,
  scope: Scope,
  site: SiteInfo,
  addr: CartAddress,
  opts: { entryStock: boolean },
): Promise<Record<string, unknown>> {
  const headers: Record<string, string> = { ...scope.propagate };
  if (addr.authorization) headers.authorization = addr.authorization;
  const path = `/${encodeURIComponent(site.uid)}/users/${encodeURIComponent(addr.userId)}/carts/${encodeURIComponent(addr.cartId)}?fields=FULL`;
  const r = await gw.upstreams.legacy.getJson(path, { headers, deadline: scope.deadline, context: 'promotions', backend: 'legacy' });
  if (r.status !== 200) throw legacyRefusal(r.status, r.body);
  const checked = checkCart(r.body);
  if (!checked.ok) throw invalidPayload(scope, 'promotions', 'legacy', 'cart', checked.errors);
  const legacyCart = r.body as Record<string, unknown>;
  const entries = checked.value.entries ?? [];

  let evaluation: CartEvaluation;
  if (scope.use('promotions') === 'legacy') {
    const mapped = legacyCartToEvaluation(r.body, site.currency);
    if (!mapped.ok) throw invalidPayload(scope, 'promotions', 'legacy', 'cart', mapped.errors);
    evaluation = mapped.value;
  } else {
    const paid = entries.filter((e) => e.updateable !== false);
    if (paid.length === 0) {
      const mapped = legacyCartToEvaluation(r.body, site.currency);
      if (!mapped.ok) throw invalidPayload(scope, 'promotions', 'legacy', 'cart', mapped.errors);
      evaluation = mapped.value;
    } else {
      const skus = paid.map((e) => e.product.code);
      const prices = await gw.ports.pricing(scope).prices(scope, site, skus);
      const unpriced = skus.filter((s) => !prices.has(s));
      if (unpriced.length) {
        throw new GatewayError(502, 'GW_ERR_UPSTREAM_FAILED', `pricing upstream (${scope.decision.pricing}) has no price for ${unpriced.join(', ')}`, {
          context: 'pricing',
          backend: scope.decision.pricing,
        });
      }
      evaluation = await gw.ports.promotions(scope).evaluate(
        scope,
        site,
        paid.map((e) => ({ sku: e.product.code, quantity: e.quantity, unitPrice: prices.get(e.product.code)! })),
      );
    }
  }

  const totals = evaluationToOccCartTotals(evaluation) as unknown as Record<string, unknown>;
  const rawEntries = (legacyCart.entries ?? []) as { product: Record<string, unknown> & { code: string } }[];
  const legacyProducts = new Map(rawEntries.map((e) => [e.product.code, e.product]));
  const missing = evaluation.entries.map((e) => e.sku).filter((s) => !legacyProducts.has(s));
  const catalog = missing.length ? await gw.catalog.products(scope, site.uid, missing) : new Map<string, OccCatalogProduct>();
  let stock: Map<string, OccStock> | undefined;
  if (opts.entryStock && scope.decision.inventory === 'new' && evaluation.entries.length > 0) {
    const avail = await gw.ports.inventory(scope).availability(scope, site, [...new Set(evaluation.entries.map((e) => e.sku))]);
    stock = new Map([...avail].map(([k, v]) => [k, availabilityToOccStock(v)]));
  }
  const productOf = (code: string): Record<string, unknown> => {
    const base = legacyProducts.get(code) ?? summary(catalog.get(code), code);
    const s = stock?.get(code);
    return s && 'stock' in base ? { ...base, stock: s } : base;
  };
  totals.entries = (totals.entries as { product: { code: string } }[]).map((e) => ({ ...e, product: productOf(e.product.code) }));

  // The legacy cart's key order and its other fields (owner, guid, delivery...), the
  // contexts' fields replaced in place; OCC omits an empty entry list.
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(legacyCart)) out[k] = k in totals ? totals[k] : v;
  for (const [k, v] of Object.entries(totals)) if (!(k in out)) out[k] = v;
  if (Array.isArray(out.entries) && out.entries.length === 0) delete out.entries;
  return out;
}

/** A gift the monolith did not add (the new engine did): its OCC entry product from the catalog. */
function summary(p: { code: string; name: string; url?: string | undefined } | undefined, code: string): Record<string, unknown> {
  return p ? { code: p.code, name: p.name, url: p.url ?? `/p/${p.code}` } : { code };
}

/** The monolith's own 4xx for a cart (unknown cart, missing token, ...) in our error model. */
function legacyRefusal(status: number, body: unknown): GatewayError {
  const list = checkErrorList(body);
  const type = list.ok ? list.value.errors[0]?.type : undefined;
  // Only an identifier-shaped OCC type is kept; nothing else of the upstream body is.
  const occType = type && /^[A-Za-z]{1,64}$/.test(type) ? type : undefined;
  if (status === 404) return new GatewayError(404, 'GW_ERR_CART_NOT_FOUND', 'Cart not found.', { occType: occType ?? 'CartError' });
  if (status === 401 || status === 403) {
    return new GatewayError(status, 'GW_ERR_UPSTREAM_REJECTED', status === 401 ? 'authentication required for this cart' : 'access to this cart is denied', {
      occType: occType ?? 'InvalidTokenError',
    });
  }
  if (status >= 400 && status < 500) return new GatewayError(400, 'GW_ERR_REQUEST_INVALID', 'the monolith rejected the cart request', { occType: occType ?? 'ValidationError' });
  return new GatewayError(502, 'GW_ERR_UPSTREAM_FAILED', `legacy cart answered with status ${status}`, { context: 'promotions', backend: 'legacy' });
}
