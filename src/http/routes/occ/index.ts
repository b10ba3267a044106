/**
 * The OCC-compatible surface for what the contexts own. Everything else under /occ/v2 falls
 * through to the legacy passthrough (src/http/routes/passthrough.ts): find-my-way prefers these static
 * and parametric routes over the proxy's wildcard.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { SITE_PATTERN, SKU_PATTERN } from '../../../domain/model.js';
import { GatewayError } from '../../../errors.js';
import type { Gateway } from '../../../gateway.js';
import { scopeOf } from '../../../request-scope.js';
import type { Scope } from '../../../upstream/scope.js';
import { loadProducts, occProduct, type Need } from '../../../composition/products.js';
import { FieldMaskError, isFieldSelected, parseFields, applyFieldMask, type FieldMask } from '../../../occ/field-mask.js';
import { occPromotion } from '../../../occ/promotions.js';
import { availabilityToOccStock } from '../../../contexts/inventory/legacy/mapper.js';
import type { SiteInfo } from '../../../occ/legacy-sites.js';
import { readOccCart } from '../../../composition/occ-cart.js';
import cartWriteRoutes from './cart-writes.js';
import type { ContextName } from '../../../contexts/names.js';

const OCC_JSON = 'application/json;charset=UTF-8';
const SiteParams = Type.Object({ site: Type.String({ pattern: SITE_PATTERN }) });
const ProductParams = Type.Object({ site: Type.String({ pattern: SITE_PATTERN }), code: Type.String({ pattern: SKU_PATTERN }) });
const PromotionParams = Type.Object({ site: Type.String({ pattern: SITE_PATTERN }), code: Type.String({ pattern: '^[A-Za-z0-9_.-]{1,128}$' }) });
const CartParams = Type.Object({
  site: Type.String({ pattern: SITE_PATTERN }),
  userId: Type.String({ pattern: '^[A-Za-z0-9@._+-]{1,128}$' }),
  cartId: Type.String({ pattern: '^[A-Za-z0-9-]{1,64}$' }),
});
const FieldsQuery = Type.Object({ fields: Type.Optional(Type.String({ maxLength: 2000 })), curr: Type.Optional(Type.String({ pattern: '^[A-Z]{3}$' })), lang: Type.Optional(Type.String()) });
const PromotionsQuery = Type.Object({
  type: Type.Union([Type.Literal('all'), Type.Literal('product'), Type.Literal('order')], { default: 'all' }),
  fields: Type.Optional(Type.String({ maxLength: 2000 })),
  promotionGroup: Type.Optional(Type.String()),
});

function mask(fields: string | undefined): FieldMask {
  try {
    return parseFields(fields);
  } catch (err) {
    if (err instanceof FieldMaskError) throw new GatewayError(400, 'GW_ERR_REQUEST_INVALID', `invalid fields parameter: ${err.message}`, { occType: 'ValidationError' });
    throw err;
  }
}

function contextsOf(need: Need): ContextName[] {
  const out: ContextName[] = [];
  if (need.price) out.push('pricing');
  if (need.availability) out.push('inventory');
  if (need.promotions) out.push('promotions');
  return out;
}

/** What a mask needs, per parsed mask (parsed masks are cached, so this is one lookup per request). */
const needs = { Product: new WeakMap<FieldMask, Need>(), ProductSearchPage: new WeakMap<FieldMask, Need>() };

function needFor(m: FieldMask, type: 'Product' | 'ProductSearchPage'): Need {
  let need = needs[type].get(m);
  if (need === undefined) {
    const base = type === 'Product' ? [] : ['products'];
    need = Object.freeze({
      price: isFieldSelected(m, type, [...base, 'price']),
      availability: isFieldSelected(m, type, [...base, 'stock']),
      promotions: isFieldSelected(m, type, [...base, 'potentialPromotions']),
    });
    needs[type].set(m, need);
  }
  return need;
}

export default async function occRoutes(app: FastifyInstance, opts: { gw: Gateway }): Promise<void> {
  const { gw } = opts;
  await app.register(cartWriteRoutes, { gw });

  async function scopeFor(request: FastifyRequest, site: string, curr: string | undefined) {
    const info = await gw.sites.get(site);
    if (curr && !info.currencies.includes(curr)) {
      throw new GatewayError(400, 'GW_ERR_REQUEST_INVALID', `currency ${curr} is not offered by base site ${site}`, { occType: 'ValidationError' });
    }
    return { info, scope: scopeOf(gw, request, { site, currency: curr ?? info.currency, channel: 'occ' }) };
  }

  app.get<{ Params: Static<typeof ProductParams>; Querystring: Static<typeof FieldsQuery> }>(
    '/:site/products/:code',
    { schema: { params: ProductParams, querystring: FieldsQuery, hide: true } },
    async (request, reply) => {
      const { site, code } = request.params;
      const m = mask(request.query.fields);
      const { info, scope } = await scopeFor(request, site, request.query.curr);
      const need = needFor(m, 'Product');
      const rendered = gw.rendered;
      if (rendered === undefined) return reply.type(OCC_JSON).send(await renderProduct(gw, scope, info, code, need, m));
      // the data cache is on: the rendered answer for these arms, mask, currency and languages
      const contexts = contextsOf(need);
      const q = request.query;
      const variant = `${rendered.arms(scope, contexts)}|${q.fields ?? ''}|${q.curr ?? ''}|${q.lang ?? ''}|${scope.outbound.headers['accept-language'] ?? ''}`;
      const { hit, at } = rendered.get(site, code, variant, contexts);
      if (hit !== undefined) {
        if (hit.etag !== undefined) reply.header('etag', hit.etag);
        return reply.type(OCC_JSON).send(hit.body);
      }
      const body = JSON.stringify(await renderProduct(gw, scope, info, code, need, m));
      rendered.store(scope, site, code, variant, at, contexts, body);
      return reply.type(OCC_JSON).send(body);
    },
  );

  app.get<{ Params: Static<typeof ProductParams>; Querystring: Static<typeof FieldsQuery> }>(
    '/:site/products/:code/stock',
    { schema: { params: ProductParams, querystring: FieldsQuery, hide: true } },
    async (request, reply) => {
      const { site, code } = request.params;
      const m = mask(request.query.fields);
      const { info, scope } = await scopeFor(request, site, request.query.curr);
      const avail = (await gw.ports.inventory(scope).availability(scope, info, [code])).get(code);
      if (!avail) throw productNotFound(code);
      return reply.type(OCC_JSON).send(applyFieldMask(availabilityToOccStock(avail), m, 'Stock'));
    },
  );

  app.get<{ Params: Static<typeof SiteParams>; Querystring: Record<string, string> }>(
    '/:site/products/search',
    { schema: { params: SiteParams, hide: true } },
    async (request, reply) => {
      const { site } = request.params;
      const m = mask(request.query.fields);
      const { info, scope } = await scopeFor(request, site, request.query.curr);
      const params = new URLSearchParams(request.query);
      const page = await gw.catalog.search(scope, site, params);
      const skus = (page.products ?? []).map((p) => p.code);
      const need = needFor(m, 'ProductSearchPage');
      const out: Record<string, unknown> = { ...page };
      if (skus.length > 0) {
        const parts = await loadProducts(gw, scope, info, skus, need);
        // The page's own products are the catalog here (the search already returned them).
        for (const p of page.products ?? []) parts.catalog.set(p.code, p);
        out.products = skus.map((s) => occProduct(parts, s, need));
      }
      return reply.type(OCC_JSON).send(applyFieldMask(out, m, 'ProductSearchPage'));
    },
  );

  app.get<{ Params: Static<typeof CartParams>; Querystring: Static<typeof FieldsQuery> }>(
    '/:site/users/:userId/carts/:cartId',
    { schema: { params: CartParams, querystring: FieldsQuery, hide: true } },
    async (request, reply) => {
      const { site, userId, cartId } = request.params;
      const m = mask(request.query.fields);
      const info = await gw.sites.get(site);
      const scope = scopeOf(gw, request, {
        site,
        currency: info.currency,
        channel: 'occ',
        occUserId: userId,
        cartGuid: userId === 'anonymous' ? cartId : undefined,
      });
      const cart = await readOccCart(gw, scope, info, { userId, cartId, authorization: request.headers.authorization }, {
        entryStock: isFieldSelected(m, 'Cart', ['entries', 'product', 'stock']),
      });
      return reply.type(OCC_JSON).send(applyFieldMask(cart, m, 'Cart'));
    },
  );

  app.get<{ Params: Static<typeof SiteParams>; Querystring: Static<typeof PromotionsQuery> }>(
    '/:site/promotions',
    { schema: { params: SiteParams, querystring: PromotionsQuery, hide: true } },
    async (request, reply) => {
      const { site } = request.params;
      const m = mask(request.query.fields);
      const { info, scope } = await scopeFor(request, site, undefined);
      const promotions = (await gw.ports.promotions(scope).list(scope, info, request.query.type)).map(occPromotion);
      return reply.type(OCC_JSON).send(applyFieldMask({ promotions }, m, 'PromotionList'));
    },
  );

  app.get<{ Params: Static<typeof PromotionParams>; Querystring: Static<typeof FieldsQuery> }>(
    '/:site/promotions/:code',
    { schema: { params: PromotionParams, querystring: FieldsQuery, hide: true } },
    async (request, reply) => {
      const { site, code } = request.params;
      const m = mask(request.query.fields);
      const { info, scope } = await scopeFor(request, site, undefined);
      const promotion = await gw.ports.promotions(scope).get(scope, info, code);
      if (!promotion) throw new GatewayError(404, 'GW_ERR_PROMOTION_NOT_FOUND', `Promotion with code '${code}' not found!`, { occType: 'UnknownIdentifierError' });
      return reply.type(OCC_JSON).send(applyFieldMask(occPromotion(promotion), m, 'Promotion'));
    },
  );
}

/** One product as OCC renders it, `fields` mask applied; 404 when the catalog has no such code. */
async function renderProduct(gw: Gateway, scope: Scope, info: SiteInfo, code: string, need: Need, m: FieldMask): Promise<unknown> {
  const product = occProduct(await loadProducts(gw, scope, info, [code], need), code, need);
  if (!product) throw productNotFound(code);
  return applyFieldMask(product, m, 'Product');
}

function productNotFound(code: string): GatewayError {
  return new GatewayError(404, 'GW_ERR_PRODUCT_NOT_FOUND', `Product with code '${code}' not found!`, { occType: 'UnknownIdentifierError' });
}

export type { SiteInfo };
