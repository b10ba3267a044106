/**
 * The carts the monolith keeps, read over OCC. Carts are not migrated: the monolith owns their
 * entries, quantities and owner, and authorizes user carts; the gateway reads one (FULL),
 * checks it against the OCC cart DTO (the anti-corruption layer) and hands it on as what the
 * contexts need of it (its lines, the monolith's own calculation) plus the payload itself for
 * the fields no context owns.
 */
import { GatewayError } from '../errors.js';
import type { CartEvaluation } from '../domain/model.js';
import { validator } from '../domain/map-result.js';
import type { Upstream } from '../upstream/http.js';
import type { Scope } from '../upstream/scope.js';
import { invalidPayload } from '../upstream/invalid.js';
import type { CartLine, StoredCart } from '../contexts/promotions/promotions.port.js';
import { legacyCartToEvaluation } from '../contexts/promotions/legacy/mapper.js';
import { OccCart, OccErrorList } from './dto.js';
import type { SiteInfo } from './legacy-sites.js';

const checkCart = validator(OccCart);
const checkErrorList = validator(OccErrorList);

export interface CartAddress {
  userId: string;
  cartId: string;
  /** the client's Authorization header: user carts are the monolith's to authorize */
  authorization: string | undefined;
}

export interface LegacyCart extends StoredCart {
  /** the monolith's payload as it sent it (checked against the OCC cart DTO) */
  readonly occ: Record<string, unknown>;
}

export class LegacyCarts {
  constructor(private readonly legacy: Upstream) {}

  /**
   * One cart, FULL. The read is the promotions context's (the cart's calculation is what the
   * gateway may replace), so its metrics and errors say `promotions`/`legacy`.
   */
  async read(scope: Scope, site: SiteInfo, addr: CartAddress): Promise<LegacyCart> {
    const headers: Record<string, string> = { ...scope.propagate };
    if (addr.authorization) headers.authorization = addr.authorization;
    const path = `/${encodeURIComponent(site.uid)}/users/${encodeURIComponent(addr.userId)}/carts/${encodeURIComponent(addr.cartId)}?fields=FULL`;
    const r = await this.legacy.getJson(path, { headers, deadline: scope.deadline, context: 'promotions', backend: 'legacy' });
    if (r.status !== 200) throw legacyRefusal(r.status, r.body);
    const checked = checkCart(r.body);
    if (!checked.ok) throw invalidPayload(scope, 'promotions', 'legacy', 'cart', checked.errors);
    const lines: CartLine[] = (checked.value.entries ?? []).filter((e) => e.updateable !== false).map((e) => ({ sku: e.product.code, quantity: e.quantity }));
    let evaluation: CartEvaluation | undefined;
    return {
      occ: r.body as Record<string, unknown>,
      lines,
      monolith: () => {
        if (evaluation === undefined) {
          const mapped = legacyCartToEvaluation(r.body, site.currency);
          if (!mapped.ok) throw invalidPayload(scope, 'promotions', 'legacy', 'cart', mapped.errors);
          evaluation = mapped.value;
        }
        return evaluation;
      },
    };
  }
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
