/**
 * What the graph shows of the canonical model and of the legacy catalog: pure functions, so the
 * resolvers stay glue. The product rules are REST's (`src/composition/products.ts`): a SKU the
 * inventory does not know cannot be sold, so it is out of stock; no promotions is an empty list.
 */
import { Type, type Static } from '@sinclair/typebox';
import { GatewayError } from '../errors.js';
import { CartInput, SITE_PATTERN, SKU_PATTERN, type Availability, type Money, type PromotionInfo } from '../domain/model.js';
import { validator } from '../domain/map-result.js';
import type { OccCatalogProduct, OccCatalogSearchPage } from '../occ/dto.js';
import { formatMoney } from '../occ/format.js';
import { MAX_LIST_SIZE } from '../config/graphql.js';

export interface ProductNode {
  sku: string;
  site: string;
  name: string;
  summary: string | null;
  manufacturer: string | null;
  categories: { code: string; name: string | null }[];
}

export function productNode(p: OccCatalogProduct, site: string): ProductNode {
  return {
    sku: p.code,
    site,
    name: p.name,
    summary: p.summary ?? null,
    manufacturer: p.manufacturer ?? null,
    categories: (p.categories ?? []).map((c) => ({ code: c.code, name: c.name ?? null })),
  };
}

export function searchPageNode(page: OccCatalogSearchPage, site: string) {
  return {
    products: (page.products ?? []).map((p) => productNode(p, site)),
    pagination: {
      currentPage: page.pagination.currentPage,
      pageSize: page.pagination.pageSize,
      totalPages: page.pagination.totalPages ?? null,
      totalResults: page.pagination.totalResults ?? null,
    },
  };
}

export const formatted = (m: Money): string => formatMoney(m.amount, m.currency);

const UNKNOWN_STOCK: Availability = Object.freeze({ status: 'OUT_OF_STOCK', quantity: 0 });
export const availabilityOrUnknown = (a: Availability | undefined): Availability => a ?? UNKNOWN_STOCK;

export const promotionSummaries = (list: readonly PromotionInfo[] | undefined): { code: string; title: string }[] =>
  (list ?? []).map((p) => ({ code: p.code, title: p.title }));

const skuRe = new RegExp(SKU_PATTERN);
const siteRe = new RegExp(SITE_PATTERN);

export function skuArg(value: unknown): string {
  if (typeof value !== 'string' || !skuRe.test(value)) throw new GatewayError(400, 'GW_ERR_REQUEST_INVALID', `malformed SKU "${String(value).slice(0, 64)}"`);
  return value;
}

export function skusArg(value: unknown): string[] {
  const list = Array.isArray(value) ? value : [];
  if (list.length > MAX_LIST_SIZE) throw new GatewayError(400, 'GW_ERR_REQUEST_INVALID', `at most ${MAX_LIST_SIZE} SKUs per request (got ${list.length})`);
  const bad = list.filter((s) => typeof s !== 'string' || !skuRe.test(s));
  if (bad.length) throw new GatewayError(400, 'GW_ERR_REQUEST_INVALID', `malformed SKU(s): ${bad.slice(0, 5).map((s) => String(s).slice(0, 64)).join(', ')}`);
  return list as string[];
}

export function siteArg(value: unknown): string {
  if (typeof value !== 'string' || !siteRe.test(value)) throw new GatewayError(400, 'GW_ERR_REQUEST_INVALID', `malformed site "${String(value).slice(0, 64)}"`);
  return value;
}

/** An entity representation `{sku, site}` (site from `@requires`), checked like any input. */
export function entityKey(reference: unknown): { sku: string; site: string } {
  const r = (reference ?? {}) as { sku?: unknown; site?: unknown };
  return { sku: skuArg(r.sku), site: siteArg(r.site) };
}

const checkCart = validator(CartInput);

/** The cart argument, validated as REST validates its body (1..100 entries, quantities 1..999). */
export function cartArg(value: unknown): Static<typeof CartInput> {
  const checked = checkCart(value);
  if (!checked.ok) {
    throw new GatewayError(400, 'GW_ERR_REQUEST_INVALID', `invalid cart: ${checked.errors.map((e) => `${e.path || '/'} ${e.message}`).join('; ')}`, {
      errors: checked.errors.map((e) => ({ path: `cart${e.path}`, message: e.message })),
    });
  }
  return checked.value;
}

/** searchProducts' paging, forwarded to OCC's search (which validates the rest). */
export const SearchArgs = Type.Object({
  query: Type.Optional(Type.Union([Type.String({ maxLength: 512 }), Type.Null()])),
  page: Type.Optional(Type.Union([Type.Integer({ minimum: 0, maximum: 10_000 }), Type.Null()])),
  pageSize: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: MAX_LIST_SIZE }), Type.Null()])),
  sort: Type.Optional(Type.Union([Type.String({ maxLength: 64 }), Type.Null()])),
});
const checkSearch = validator(SearchArgs);

export function searchParams(args: unknown): URLSearchParams {
  const checked = checkSearch(args);
  if (!checked.ok) throw new GatewayError(400, 'GW_ERR_REQUEST_INVALID', `invalid search: ${checked.errors.map((e) => `${e.path} ${e.message}`).join('; ')}`);
  const p = new URLSearchParams();
  const a = checked.value;
  if (a.query) p.set('query', a.query);
  if (typeof a.page === 'number') p.set('currentPage', String(a.page));
  p.set('pageSize', String(a.pageSize ?? 20));
  if (a.sort) p.set('sort', a.sort);
  return p;
}
