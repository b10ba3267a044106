/**
 * Legacy commerce: a SAP Commerce OCC v2 REST simulator under `/occ/v2` (CONTRACTS.md "Legacy
 * commerce"). Seeded from `backends/kit/seed.ts`, carts priced by the shared promotion engine,
 * OCC quirks on the wire (major-unit floats, formatted prices, `+0000` dates, ErrorList errors,
 * `fields` levels and masks, `application/json;charset=UTF-8`).
 *
 * Hot path: product DTOs are built lazily once and their serialised JSON cached per field mask.
 */
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { readFields, selectFields, FieldsSyntaxError, type DtoType, type Fields } from '../contract/fields.js';
import { installFaults, type FaultHandle } from '../kit/faults.js';
import { UnknownProductError } from '../kit/promotion-engine.js';
import { categoriesFor, getProduct, listProductCodes, promotionsFor, SITES, getSite, type SiteDef } from '../kit/seed.js';
import {
  ANONYMOUS,
  CartStore,
  entryProduct,
  evaluate,
  occCart,
  type OccCartModification,
  type OccOrderEntry,
  type StoredCart,
} from './carts.js';
import { errorList, occDate, occPrice, occProduct, occPromotion, occStock, type OccError, type OccProduct, type OccPromotion } from './occ-format.js';
import { isSortCode, searchProducts, SORTS, type SortCode } from './search.js';

export const OCC_CONTENT_TYPE = 'application/json;charset=UTF-8';
const BASE = '/occ/v2';
const MAX_PAGE_SIZE = 100;
const DEFAULT_PAGE_SIZE = 20;
/** cached serialisations per product (one per distinct field mask) */
const MAX_JSON_VARIANTS = 6;
const SEARCH_CACHE_LIMIT = 1000;

export interface LegacyCommerceOptions {
  logger?: boolean;
  /** max carts kept in memory (oldest evicted) */
  maxCarts?: number;
  /** random source for fault injection (tests) */
  random?: () => number;
}

/** An OCC error to be rendered as an ErrorList. */
export class OccHttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly type: string,
    message: string,
    readonly extra: Omit<OccError, 'type' | 'message'> = {},
  ) {
    super(message);
    this.name = 'OccHttpError';
  }
}

type Query = Record<string, string | string[] | undefined>;

function param(req: FastifyRequest, name: string): string | undefined {
  const v = (req.query as Query | undefined)?.[name];
  return Array.isArray(v) ? v[0] : v;
}

function sendJson(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  return reply
    .code(status)
    .header('content-type', OCC_CONTENT_TYPE)
    .send(typeof body === 'string' ? body : JSON.stringify(body));
}

function requireSite(id: string): SiteDef {
  const site = getSite(id);
  if (!site) throw new OccHttpError(404, 'UnknownIdentifierError', `Base site ${id} doesn't exist`, { subject: id, subjectType: 'baseSite' });
  return site;
}

function maskOf(req: FastifyRequest, fallback?: string): Fields {
  const fields = param(req, 'fields');
  try {
    return readFields(fields === undefined || fields.trim() === '' ? fallback : fields);
  } catch (e) {
    if (e instanceof FieldsSyntaxError) {
      throw new OccHttpError(400, 'ValidationError', `Invalid fields parameter: ${e.message}`, { reason: 'invalid', subject: 'fields', subjectType: 'parameter' });
    }
    throw e;
  }
}

function intParam(req: FastifyRequest, name: string, fallback: number, min: number): number {
  const raw = param(req, name);
  if (raw === undefined || raw === '') return fallback;
  if (!/^-?\d+$/.test(raw) || Number(raw) < min || !Number.isSafeInteger(Number(raw))) {
    throw new OccHttpError(400, 'ValidationError', `Invalid value '${raw}' for parameter '${name}'`, { reason: 'invalid', subject: name, subjectType: 'parameter' });
  }
  return Number(raw);
}

function masked(body: unknown, mask: Fields, type: DtoType): unknown {
  return selectFields(body, mask, type);
}

// ---------------------------------------------------------------------------------------------
// Static content

const LANGUAGE_EN = { active: true, isocode: 'en', name: 'English', nativeName: 'English' };
const CURRENCIES: Record<string, { active: boolean; isocode: string; name: string; symbol: string }> = {
  USD: { active: true, isocode: 'USD', name: 'US Dollar', symbol: '$' },
  GBP: { active: true, isocode: 'GBP', name: 'Pound', symbol: '£' },
};
const CATALOG_LAST_MODIFIED = occDate('2026-01-01T00:00:00Z');

function currencyOf(site: SiteDef) {
  return CURRENCIES[site.currency] ?? { active: true, isocode: site.currency, name: site.currency, symbol: site.currency };
}

function baseSite(site: SiteDef) {
  const currency = currencyOf(site);
  return {
    channel: 'B2C',
    defaultLanguage: LANGUAGE_EN,
    defaultPreviewCatalogId: site.catalogId,
    defaultPreviewCategoryCode: categoriesFor(site.id)[0]?.code ?? '',
    defaultPreviewProductCode: listProductCodes(site.id)[0] ?? '',
    locale: site.locale.replace('-', '_'),
    name: site.name,
    stores: [{ currencies: [currency], defaultCurrency: currency, defaultLanguage: LANGUAGE_EN, languages: [LANGUAGE_EN] }],
    theme: 'santorini',
    uid: site.id,
    urlEncodingAttributes: ['storefront', 'language', 'currency'],
    urlPatterns: [`(?i)^https?://[^/]+(/[^?]*)?\\?(.*\\&)?(site=${site.id})(|\\&.*)$`, `(?i)^https?://[^/]+/${site.id}(|/.*|\\?.*)$`],
  };
}

function catalogs(site: SiteDef) {
  const url = `/${site.catalogId}`;
  return {
    catalogs: [
      {
        catalogVersions: [
          {
            categories: categoriesFor(site.id).map((c) => ({ id: c.code, lastModified: CATALOG_LAST_MODIFIED, name: c.name, subcategories: [], url: `${url}/${site.catalogVersion}/categories/${c.code}` })),
            id: site.catalogVersion,
            lastModified: CATALOG_LAST_MODIFIED,
            url: `${url}/${site.catalogVersion}`,
          },
        ],
        id: site.catalogId,
        lastModified: CATALOG_LAST_MODIFIED,
        name: site.catalogId.replace(/([a-z])([A-Z])/g, '$1 $2').replace(/^./, (c) => c.toUpperCase()),
        url,
      },
    ],
  };
}

// ---------------------------------------------------------------------------------------------
// Product cache

interface CachedProduct {
  dto: OccProduct;
  json: Map<string, string>;
}

const productCache = new Map<string, CachedProduct>();

function cachedProduct(site: SiteDef, code: string): CachedProduct | undefined {
  const k = `${site.id}|${code}`;
  let c = productCache.get(k);
  if (c === undefined) {
    const p = getProduct(site.id, code);
    if (!p) return undefined;
    c = { dto: occProduct(site, p), json: new Map() };
    productCache.set(k, c);
  }
  return c;
}

function productJson(c: CachedProduct, mask: Fields): string {
  let json = c.json.get(mask.key);
  if (json === undefined) {
    json = JSON.stringify(selectFields(c.dto, mask, 'Product'));
    if (c.json.size < MAX_JSON_VARIANTS) c.json.set(mask.key, json);
  }
  return json;
}

function productNotFound(code: string): OccHttpError {
  return new OccHttpError(404, 'UnknownIdentifierError', `Product with code '${code}' not found!`, { subject: code, subjectType: 'product' });
}

const promotionDtoCache = new Map<string, OccPromotion[]>();
function occPromotions(site: SiteDef): OccPromotion[] {
  let list = promotionDtoCache.get(site.id);
  if (!list) {
    list = promotionsFor(site.id).map((p) => occPromotion(site, p));
    promotionDtoCache.set(site.id, list);
  }
  return list;
}

// ---------------------------------------------------------------------------------------------
// Carts helpers

interface Owner {
  owner: string;
  uid: string;
}

/**
 * The owner of `/users/{userId}/` resources. `current` is the user a token issued by
 * `/authorizationserver/oauth/token` (password grant) belongs to; any other bearer stands for
 * itself (`token:<bearer>`), as before the token endpoint existed.
 */
function ownerOf(req: FastifyRequest, userId: string, tokens?: ReadonlyMap<string, string>): Owner {
  if (userId === ANONYMOUS) return { owner: ANONYMOUS, uid: ANONYMOUS };
  const auth = req.headers.authorization;
  const m = typeof auth === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(auth) : null;
  if (!m) {
    throw new OccHttpError(401, 'InvalidTokenError', 'Invalid access token: a Bearer token is required to access user resources');
  }
  if (userId === 'current') {
    const user = tokens?.get(m[1] ?? '');
    return user === undefined ? { owner: `token:${m[1] ?? ''}`, uid: 'current' } : { owner: user.toLowerCase(), uid: user };
  }
  return { owner: userId.toLowerCase(), uid: userId };
}

function cartNotFound(cartId: string): OccHttpError {
  return new OccHttpError(404, 'CartError', 'Cart not found.', { reason: 'notFound', subject: cartId, subjectType: 'cart' });
}

function entryError(entryNumber: string, message: string, reason: string): OccHttpError {
  return new OccHttpError(400, 'CartEntryError', message, { reason, subject: entryNumber, subjectType: 'entry' });
}

function validation(subject: string, message: string): OccHttpError {
  return new OccHttpError(400, 'ValidationError', message, { reason: 'invalid', subject, subjectType: 'parameter' });
}

/** Reads an integer from a JSON body field or the OCC query-param form, with a default. */
function readInt(value: unknown, name: string, fallback: number | undefined, min: number): number {
  if (value === undefined || value === null || value === '') {
    if (fallback === undefined) throw validation(name, `Parameter '${name}' is required`);
    return fallback;
  }
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < min) throw validation(name, `Invalid value '${String(value)}' for '${name}': must be an integer >= ${min}`);
  return n;
}

function bodyObject(req: FastifyRequest): Record<string, unknown> {
  const b = req.body;
  return b !== null && typeof b === 'object' && !Array.isArray(b) ? (b as Record<string, unknown>) : {};
}

// ---------------------------------------------------------------------------------------------

/** The simulator app, with its fault switch and cart store exposed for tests and tooling. */
export type LegacyCommerceApp = FastifyInstance & { faults: FaultHandle; carts: CartStore };

export async function buildLegacyCommerce(opts: LegacyCommerceOptions = {}): Promise<LegacyCommerceApp> {
  const app = Fastify({ logger: opts.logger ?? false });
  const carts = new CartStore(opts.maxCarts);
  const searchCache = new Map<string, string>();

  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(String(body))));
  });

  const faults = installFaults(app, {
    errorBody: (status, detail) => ({
      contentType: OCC_CONTENT_TYPE,
      body: JSON.stringify(
        status >= 500
          ? errorList('InternalServerError', detail ? `Internal server error: ${detail}` : 'Internal server error')
          : errorList('ValidationError', detail ?? 'Bad request', { reason: 'invalid' }),
      ),
    }),
    ...(opts.random ? { random: opts.random } : {}),
  });

  app.setErrorHandler((err, req, reply) => {
    if (err instanceof OccHttpError) return sendJson(reply, err.statusCode, errorList(err.type, err.message, err.extra));
    if (err instanceof UnknownProductError) {
      return sendJson(reply, 400, errorList('UnknownIdentifierError', `Product with code '${err.sku}' not found!`, { subject: err.sku, subjectType: 'product' }));
    }
    const status = typeof (err as { statusCode?: unknown }).statusCode === 'number' ? (err as { statusCode: number }).statusCode : 500;
    if (status >= 400 && status < 500) {
      const type = status === 415 ? 'HttpMediaTypeNotSupportedError' : status === 413 ? 'MaxUploadSizeExceededError' : 'ValidationError';
      return sendJson(reply, status, errorList(type, (err as Error).message));
    }
    req.log.error({ err }, 'unhandled error');
    return sendJson(reply, 500, errorList('InternalServerError', 'Internal server error'));
  });

  app.setNotFoundHandler((req, reply) =>
    sendJson(reply, 404, errorList('UnknownResourceError', `There is no resource for path ${req.url.split('?', 1)[0] ?? req.url}`)),
  );

  app.get('/healthz', async (_req, reply) => sendJson(reply, 200, { status: 'ok' }));

  // ---- base sites & static content ----------------------------------------------------------
  // ---- OAuth (what a storefront's login calls) ----------------------------------------------
  // Opaque access tokens, as SAP Commerce issues them: `password` gives a user's token (its
  // `/users/current` is that user), `client_credentials` an anonymous client's. Any password.
  const MAX_TOKENS = 100_000;
  const tokens = new Map<string, string>();
  app.post('/authorizationserver/oauth/token', async (req, reply) => {
    const body = bodyObject(req);
    const grant = body.grant_type ?? param(req, 'grant_type');
    if (grant !== 'password' && grant !== 'client_credentials') {
      return reply.code(400).send({ error: 'unsupported_grant_type', error_description: `Unsupported grant type: ${String(grant)}` });
    }
    const access = randomUUID();
    if (grant === 'password') {
      const username = body.username ?? param(req, 'username');
      if (typeof username !== 'string' || username === '') return reply.code(400).send({ error: 'invalid_request', error_description: 'Missing username' });
      tokens.set(access, username);
      while (tokens.size > MAX_TOKENS) tokens.delete(tokens.keys().next().value as string);
    }
    return reply.code(200).send({ access_token: access, token_type: 'bearer', expires_in: 43199, scope: grant === 'password' ? 'basic openid' : 'extended' });
  });

  const baseSitesJson = JSON.stringify({ baseSites: SITES.map(baseSite) });
  app.get(`${BASE}/basesites`, async (_req, reply) => sendJson(reply, 200, baseSitesJson));

  app.get<{ Params: { site: string } }>(`${BASE}/:site/catalogs`, async (req, reply) => {
    const site = requireSite(req.params.site);
    return sendJson(reply, 200, catalogs(site));
  });
  app.get<{ Params: { site: string } }>(`${BASE}/:site/currencies`, async (req, reply) => {
    const site = requireSite(req.params.site);
    return sendJson(reply, 200, { currencies: [currencyOf(site)] });
  });
  app.get<{ Params: { site: string } }>(`${BASE}/:site/languages`, async (req, reply) => {
    requireSite(req.params.site);
    return sendJson(reply, 200, { languages: [LANGUAGE_EN] });
  });

  // ---- products -----------------------------------------------------------------------------
  app.get<{ Params: { site: string } }>(`${BASE}/:site/products/search`, async (req, reply) => {
    const site = requireSite(req.params.site);
    const mask = maskOf(req);
    const currentPage = intParam(req, 'currentPage', 0, 0);
    const pageSize = Math.min(MAX_PAGE_SIZE, intParam(req, 'pageSize', DEFAULT_PAGE_SIZE, 1));
    const sortParam = param(req, 'sort') ?? 'relevance';
    const sort: SortCode = isSortCode(sortParam) ? sortParam : 'relevance';
    const query = param(req, 'query') ?? '';
    // the catalogue is static, so whole responses are cacheable (bounded LRU)
    const cacheKey = `${site.id}|${query}|${sort}|${currentPage}|${pageSize}|${mask.key}`;
    const hit = searchCache.get(cacheKey);
    if (hit !== undefined) {
      searchCache.delete(cacheKey);
      searchCache.set(cacheKey, hit);
      return sendJson(reply, 200, hit);
    }
    const result = searchProducts(site, query, sort, currentPage, pageSize);
    const queryValue = `${result.freeText}:${result.sort}${query.split(':').slice(2).map((s) => `:${s}`).join('')}`;
    const page = {
      breadcrumbs: [],
      currentQuery: { query: { value: queryValue }, url: `/search?q=${encodeURIComponent(queryValue)}` },
      facets: [],
      freeTextSearch: result.freeText,
      pagination: {
        currentPage,
        pageSize,
        sort: result.sort,
        totalPages: Math.ceil(result.total / pageSize),
        totalResults: result.total,
      },
      products: result.page.map((p) => (cachedProduct(site, p.code) as CachedProduct).dto),
      sorts: SORTS.map((s) => ({ code: s.code, name: s.name, selected: s.code === result.sort })),
    };
    const json = JSON.stringify(masked(page, mask, 'ProductSearchPage'));
    searchCache.set(cacheKey, json);
    if (searchCache.size > SEARCH_CACHE_LIMIT) {
      const oldest = searchCache.keys().next();
      if (!oldest.done) searchCache.delete(oldest.value);
    }
    return sendJson(reply, 200, json);
  });

  app.get<{ Params: { site: string; code: string } }>(`${BASE}/:site/products/:code`, async (req, reply) => {
    const site = requireSite(req.params.site);
    const mask = maskOf(req);
    const c = cachedProduct(site, req.params.code);
    if (!c) throw productNotFound(req.params.code);
    return sendJson(reply, 200, productJson(c, mask));
  });

  app.get<{ Params: { site: string; code: string } }>(`${BASE}/:site/products/:code/stock`, async (req, reply) => {
    const site = requireSite(req.params.site);
    const mask = maskOf(req);
    const p = getProduct(site.id, req.params.code);
    if (!p) throw productNotFound(req.params.code);
    return sendJson(reply, 200, masked(occStock(p.stockQuantity), mask, 'Stock'));
  });

  // ---- promotions ---------------------------------------------------------------------------
  app.get<{ Params: { site: string } }>(`${BASE}/:site/promotions`, async (req, reply) => {
    const site = requireSite(req.params.site);
    const mask = maskOf(req);
    const type = (param(req, 'type') ?? 'all').toLowerCase();
    if (type !== 'all' && type !== 'product' && type !== 'order') {
      throw validation('type', `Invalid value '${type}' for parameter 'type': expected all, product or order`);
    }
    const group = param(req, 'promotionGroup');
    const canonical = promotionsFor(site.id);
    const promotions = occPromotions(site).filter((p, i) => {
      const scope = canonical[i]?.scope;
      if (type === 'product' && scope !== 'PRODUCT') return false;
      if (type === 'order' && scope !== 'ORDER') return false;
      return group === undefined || group === p.promotionGroup;
    });
    return sendJson(reply, 200, masked({ promotions }, mask, 'PromotionList'));
  });

  app.get<{ Params: { site: string; code: string } }>(`${BASE}/:site/promotions/:code`, async (req, reply) => {
    const site = requireSite(req.params.site);
    const mask = maskOf(req);
    const promo = occPromotions(site).find((p) => p.code === req.params.code);
    if (!promo) {
      throw new OccHttpError(404, 'UnknownIdentifierError', `Promotion with code '${req.params.code}' not found!`, { subject: req.params.code, subjectType: 'promotion' });
    }
    return sendJson(reply, 200, masked(promo, mask, 'Promotion'));
  });

  // ---- carts --------------------------------------------------------------------------------
  type UserParams = { site: string; userId: string };
  type CartParams = UserParams & { cartId: string };
  type EntryParams = CartParams & { entryNumber: string };

  const loadCart = (req: FastifyRequest<{ Params: CartParams }>): { site: SiteDef; cart: StoredCart } => {
    const site = requireSite(req.params.site);
    const { owner } = ownerOf(req, req.params.userId, tokens);
    const cart = carts.find(site.id, owner, req.params.cartId);
    if (!cart) throw cartNotFound(req.params.cartId);
    return { site, cart };
  };

  const CARTS = `${BASE}/:site/users/:userId/carts`;

  app.get<{ Params: UserParams }>(CARTS, async (req, reply) => {
    const site = requireSite(req.params.site);
    const mask = maskOf(req);
    const { owner } = ownerOf(req, req.params.userId, tokens);
    if (owner === ANONYMOUS) throw new OccHttpError(403, 'ForbiddenError', 'Access is denied');
    const list = carts.list(site.id, owner).map((c) => occCart(site, c));
    return sendJson(reply, 200, masked({ carts: list }, mask, 'CartList'));
  });

  app.post<{ Params: UserParams }>(CARTS, async (req, reply) => {
    const site = requireSite(req.params.site);
    const mask = maskOf(req);
    const { owner, uid } = ownerOf(req, req.params.userId, tokens);
    const oldCartId = param(req, 'oldCartId');
    if (oldCartId !== undefined) {
      // OCC's login merge: the anonymous cart `oldCartId` becomes the user's, or is merged into
      // the user's cart `toMergeCartGuid` (its entries added, then the anonymous cart removed).
      if (owner === ANONYMOUS) throw new OccHttpError(400, 'CartError', 'Anonymous user cannot merge carts', { reason: 'invalid', subject: oldCartId, subjectType: 'cart' });
      const anonymous = carts.find(site.id, ANONYMOUS, oldCartId);
      if (!anonymous) throw cartNotFound(oldCartId);
      const toMerge = param(req, 'toMergeCartGuid');
      if (toMerge === undefined) {
        carts.reassign(anonymous, owner, uid);
        return sendJson(reply, 201, masked(occCart(site, anonymous), mask, 'Cart'));
      }
      const target = carts.findByGuid(site.id, toMerge);
      if (!target || target.owner !== owner) throw cartNotFound(toMerge);
      for (const e of anonymous.entries) {
        const stock = getProduct(site.id, e.code)?.stockQuantity ?? 0;
        const existing = target.entries.find((t) => t.code === e.code);
        if (existing) existing.quantity = Math.min(existing.quantity + e.quantity, Math.max(stock, existing.quantity));
        else target.entries.push({ code: e.code, quantity: e.quantity });
      }
      carts.remove(anonymous);
      return sendJson(reply, 201, masked(occCart(site, target), mask, 'Cart'));
    }
    const cart = carts.create(site.id, owner, uid);
    return sendJson(reply, 201, masked(occCart(site, cart), mask, 'Cart'));
  });

  app.get<{ Params: CartParams }>(`${CARTS}/:cartId`, async (req, reply) => {
    const { site, cart } = loadCart(req);
    return sendJson(reply, 200, masked(occCart(site, cart), maskOf(req), 'Cart'));
  });

  app.delete<{ Params: CartParams }>(`${CARTS}/:cartId`, async (req, reply) => {
    const { cart } = loadCart(req);
    carts.remove(cart);
    return reply.code(200).send();
  });

  app.get<{ Params: CartParams }>(`${CARTS}/:cartId/entries`, async (req, reply) => {
    const { site, cart } = loadCart(req);
    return sendJson(reply, 200, masked({ orderEntries: occCart(site, cart).entries }, maskOf(req), 'OrderEntryList'));
  });

  app.post<{ Params: CartParams }>(`${CARTS}/:cartId/entries`, async (req, reply) => {
    const { site, cart } = loadCart(req);
    const mask = maskOf(req);
    const body = bodyObject(req);
    const productField = body.product;
    const bodyCode =
      productField !== null && typeof productField === 'object' ? (productField as { code?: unknown }).code : undefined;
    const code = bodyCode ?? body.code ?? param(req, 'code');
    if (typeof code !== 'string' || code.trim() === '') throw validation('code', "Parameter 'product.code' is required");
    const quantity = readInt(body.quantity ?? body.qty ?? param(req, 'qty') ?? param(req, 'quantity'), 'quantity', 1, 1);
    const product = getProduct(site.id, code);
    if (!product) throw new OccHttpError(400, 'UnknownIdentifierError', `Product with code '${code}' not found!`, { subject: code, subjectType: 'product' });

    let index = cart.entries.findIndex((e) => e.code === code);
    const existing = index >= 0 ? (cart.entries[index]?.quantity ?? 0) : 0;
    const added = Math.max(0, Math.min(quantity, product.stockQuantity - existing));
    if (added > 0) {
      if (index >= 0) (cart.entries[index] as { quantity: number }).quantity = existing + added;
      else {
        cart.entries.push({ code, quantity: added });
        index = cart.entries.length - 1;
      }
    }
    const modification: OccCartModification = {
      statusCode: added === quantity ? 'success' : added === 0 ? 'noStock' : 'lowStock',
      quantityAdded: added,
      quantity: existing + added,
      entry: modifiedEntry(site, cart, index, code),
      deliveryModeChanged: false,
    };
    if (added !== quantity) modification.statusMessage = added === 0 ? 'No stock available' : `Only ${added} added: insufficient stock`;
    return sendJson(reply, 200, masked(modification, mask, 'CartModification'));
  });

  const updateEntry = async (req: FastifyRequest<{ Params: EntryParams }>, reply: FastifyReply) => {
    const { site, cart } = loadCart(req);
    const mask = maskOf(req);
    const index = paidEntryIndex(site, cart, req.params.entryNumber);
    const body = bodyObject(req);
    const quantity = readInt(body.quantity ?? body.qty ?? param(req, 'qty') ?? param(req, 'quantity'), 'quantity', undefined, 0);
    const stored = cart.entries[index] as { code: string; quantity: number };
    const old = stored.quantity;
    let modification: OccCartModification;
    if (quantity === 0) {
      cart.entries.splice(index, 1);
      modification = {
        statusCode: 'success',
        quantityAdded: -old,
        quantity: 0,
        entry: { ...zeroEntry(site, stored.code), entryNumber: index },
        deliveryModeChanged: false,
      };
    } else {
      const stock = getProduct(site.id, stored.code)?.stockQuantity ?? 0;
      const next = Math.min(quantity, Math.max(stock, 0));
      if (next === 0) {
        cart.entries.splice(index, 1);
      } else stored.quantity = next;
      modification = {
        statusCode: next === quantity ? 'success' : next === 0 ? 'noStock' : 'lowStock',
        quantityAdded: next - old,
        quantity: next,
        entry: next === 0 ? { ...zeroEntry(site, stored.code), entryNumber: index } : modifiedEntry(site, cart, index, stored.code),
        deliveryModeChanged: false,
      };
      if (next !== quantity) modification.statusMessage = next === 0 ? 'No stock available' : `Quantity reduced to ${next}: insufficient stock`;
    }
    return sendJson(reply, 200, masked(modification, mask, 'CartModification'));
  };
  app.patch<{ Params: EntryParams }>(`${CARTS}/:cartId/entries/:entryNumber`, updateEntry);
  app.put<{ Params: EntryParams }>(`${CARTS}/:cartId/entries/:entryNumber`, updateEntry);

  app.delete<{ Params: EntryParams }>(`${CARTS}/:cartId/entries/:entryNumber`, async (req, reply) => {
    const { site, cart } = loadCart(req);
    const index = paidEntryIndex(site, cart, req.params.entryNumber);
    cart.entries.splice(index, 1);
    return reply.code(200).send();
  });

  const out = app as unknown as LegacyCommerceApp;
  out.faults = faults;
  out.carts = carts;
  return out;
}

/** Paid entries are 0..n-1; gift entries follow them and are not updateable. */
function paidEntryIndex(site: SiteDef, cart: StoredCart, raw: string): number {
  if (!/^\d+$/.test(raw)) throw entryError(raw, 'Entry not found', 'notFound');
  const n = Number(raw);
  if (n < cart.entries.length) return n;
  const total = evaluate(site, cart).entries.length;
  if (n < total) throw entryError(raw, `Entry #${n} is not updatable`, 'notUpdatable');
  throw entryError(raw, 'Entry not found', 'notFound');
}

function modifiedEntry(site: SiteDef, cart: StoredCart, index: number, code: string): OccOrderEntry | Omit<OccOrderEntry, 'entryNumber'> {
  if (index < 0) return zeroEntry(site, code);
  const entry = occCart(site, cart).entries[index];
  return entry ?? zeroEntry(site, code);
}

function zeroEntry(site: SiteDef, code: string): Omit<OccOrderEntry, 'entryNumber'> {
  const price = getProduct(site.id, code)?.priceMinor ?? 0;
  return {
    product: entryProduct(site, code),
    quantity: 0,
    basePrice: occPrice(price, site.currency),
    totalPrice: occPrice(0, site.currency),
    updateable: true,
  };
}
