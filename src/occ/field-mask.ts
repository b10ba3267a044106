/**
 * OCC `fields` parameter (SAP Commerce "field sets"), as a pure module.
 *
 * Syntax (as SAP Commerce accepts it):
 *   - a level: `BASIC`, `DEFAULT`, `FULL`;
 *   - a comma-separated list of field names, each optionally followed by a parenthesised
 *     sub-mask for the nested DTO: `code,name,price(FULL),stock(DEFAULT)`;
 *   - levels and fields can be mixed: `DEFAULT,averageRating`, `products(code,price(formattedValue)),pagination(DEFAULT)`.
 *
 * Semantics:
 *   - no/empty `fields` means `DEFAULT`;
 *   - a level expands to the field list of the level table below for the DTO type at hand
 *     (`FULL` is "every property present", recursively);
 *   - a field named without a sub-mask that holds an object is rendered at its type's `BASIC` level;
 *   - several mentions of the same field are merged (union);
 *   - unknown field names are ignored (OCC does not fail on them);
 *   - the output keeps the key order of the input object, never the order of the mask.
 *
 * Usage:
 * ```ts
 * const mask = parseFields(req.query.fields);           // throws FieldMaskError on bad syntax
 * const body = applyFieldMask(productDto, mask, 'Product');
 * ```
 * Parsed masks are cached (bounded, LRU-ish), and the per-DTO-type compiled projections are
 * cached on the parsed mask, so calling this on a hot path costs one Map lookup plus the copy.
 * With `FULL` the input is returned as is (same reference), and with any mask every subtree the
 * mask keeps whole is too: callers must not mutate the result.
 */

/** The three OCC field-set levels. */
export type FieldLevel = 'BASIC' | 'DEFAULT' | 'FULL';
export const FIELD_LEVELS: readonly FieldLevel[] = ['BASIC', 'DEFAULT', 'FULL'];

/** The OCC DTO types this module has level tables for. `Any` means "no table: every level is FULL". */
export type OccDtoType =
  | 'Product'
  | 'Price'
  | 'Stock'
  | 'Promotion'
  | 'Category'
  | 'Image'
  | 'ProductSearchPage'
  | 'Pagination'
  | 'Sort'
  | 'Cart'
  | 'OrderEntry'
  | 'PromotionResult'
  | 'PromotionOrderEntryConsumed'
  | 'CartModification'
  | 'PromotionList'
  | 'CartList'
  | 'OrderEntryList'
  | 'Principal'
  | 'Any';

/** A parsed `fields` expression (syntax only; independent of DTO type). */
export interface FieldMask {
  /** levels named at this nesting depth (e.g. `DEFAULT` in `DEFAULT,averageRating`) */
  readonly levels: ReadonlySet<FieldLevel>;
  /** explicitly named fields; `null` when named without a sub-mask */
  readonly fields: ReadonlyMap<string, FieldMask | null>;
  /** the canonical source text (informational) */
  readonly source: string;
}

/** Thrown by {@link parseFields} for a syntactically invalid expression. */
export class FieldMaskError extends Error {
  override readonly name = 'FieldMaskError';
  constructor(
    message: string,
    /** zero-based offset of the problem in the expression */
    readonly position: number,
  ) {
    super(message);
  }
}

interface LevelTable {
  readonly BASIC: string;
  readonly DEFAULT: string;
}

/**
 * Level definitions per DTO type, written in the mask syntax itself (a level may reference a
 * lower level of the same type). `FULL` is always "everything". Modelled on SAP Commerce's
 * `dto-level-mappings-v2-spring.xml`.
 */
export const LEVEL_TABLES: Readonly<Record<Exclude<OccDtoType, 'Any'>, LevelTable>> = {
  Product: {
    BASIC: 'code,name,url,purchasable,stock(BASIC),availableForPickup,baseProduct,price(BASIC)',
    DEFAULT:
      'BASIC,summary,description,manufacturer,price(DEFAULT),stock(DEFAULT),images(DEFAULT),categories(BASIC),' +
      'averageRating,numberOfReviews,potentialPromotions(DEFAULT),priceRange,multidimensional,' +
      'baseOptions(DEFAULT),variantOptions(DEFAULT),variantMatrix(DEFAULT),volumePricesFlag,configurable,configuratorType',
  },
  Price: {
    BASIC: 'currencyIso,value,priceType',
    DEFAULT: 'BASIC,formattedValue,minQuantity,maxQuantity',
  },
  Stock: {
    BASIC: 'stockLevelStatus,stockLevel',
    DEFAULT: 'stockLevelStatus,stockLevel',
  },
  Promotion: {
    BASIC: 'code,title,promotionType',
    DEFAULT:
      'BASIC,description,enabled,startDate,endDate,priority,promotionGroup,couldFireMessages,firedMessages,productBanner(DEFAULT)',
  },
  Category: {
    BASIC: 'code,name,url',
    DEFAULT: 'BASIC,image(DEFAULT)',
  },
  Image: {
    BASIC: 'imageType,format,url',
    DEFAULT: 'BASIC,altText,galleryIndex',
  },
  ProductSearchPage: {
    BASIC: 'products(BASIC),pagination(BASIC),sorts(BASIC),freeTextSearch',
    DEFAULT:
      'products(DEFAULT),pagination(DEFAULT),sorts(DEFAULT),freeTextSearch,facets,breadcrumbs,currentQuery,categoryCode,keywordRedirectUrl,spellingSuggestion',
  },
  Pagination: {
    BASIC: 'currentPage,pageSize,totalPages,totalResults',
    DEFAULT: 'BASIC,sort',
  },
  Sort: {
    BASIC: 'code,selected',
    DEFAULT: 'code,name,selected',
  },
  Cart: {
    BASIC: 'code,guid,totalItems,totalUnitCount,totalPrice(BASIC),totalPriceWithTax(BASIC)',
    DEFAULT:
      'BASIC,entries(DEFAULT),subTotal(DEFAULT),productDiscounts(DEFAULT),orderDiscounts(DEFAULT),totalDiscounts(DEFAULT),' +
      'totalPrice(DEFAULT),totalTax(DEFAULT),totalPriceWithTax(DEFAULT),appliedProductPromotions(DEFAULT),' +
      'appliedOrderPromotions(DEFAULT),potentialProductPromotions(DEFAULT),potentialOrderPromotions(DEFAULT),' +
      'appliedVouchers,deliveryItemsQuantity,pickupItemsQuantity,net,calculated,site,store,user(BASIC),expirationTime,saveTime,name,description',
  },
  OrderEntry: {
    BASIC: 'entryNumber,quantity,product(BASIC)',
    DEFAULT: 'BASIC,basePrice(DEFAULT),totalPrice(DEFAULT),updateable,deliveryMode,deliveryPointOfService,statusSummaryList',
  },
  PromotionResult: {
    BASIC: 'description,promotion(BASIC)',
    DEFAULT: 'BASIC,consumedEntries(DEFAULT)',
  },
  PromotionOrderEntryConsumed: {
    BASIC: 'orderEntryNumber,quantity,adjustedUnitPrice',
    DEFAULT: 'BASIC,code',
  },
  CartModification: {
    BASIC: 'statusCode,quantity,quantityAdded',
    DEFAULT: 'BASIC,statusMessage,entry(DEFAULT),deliveryModeChanged',
  },
  PromotionList: {
    BASIC: 'promotions(BASIC)',
    DEFAULT: 'promotions(DEFAULT)',
  },
  CartList: {
    BASIC: 'carts(BASIC)',
    DEFAULT: 'carts(DEFAULT)',
  },
  OrderEntryList: {
    BASIC: 'orderEntries(BASIC)',
    DEFAULT: 'orderEntries(DEFAULT)',
  },
  Principal: {
    BASIC: 'uid,name',
    DEFAULT: 'uid,name',
  },
};

/** The DTO type of nested properties, per DTO type. Properties not listed are `Any`. */
export const NESTED_TYPES: Readonly<Partial<Record<OccDtoType, Readonly<Record<string, OccDtoType>>>>> = {
  Product: {
    price: 'Price',
    volumePrices: 'Price',
    stock: 'Stock',
    images: 'Image',
    categories: 'Category',
    potentialPromotions: 'Promotion',
  },
  Promotion: { productBanner: 'Image' },
  Category: { image: 'Image' },
  ProductSearchPage: { products: 'Product', pagination: 'Pagination', sorts: 'Sort' },
  Cart: {
    entries: 'OrderEntry',
    subTotal: 'Price',
    productDiscounts: 'Price',
    orderDiscounts: 'Price',
    totalDiscounts: 'Price',
    totalPrice: 'Price',
    totalTax: 'Price',
    totalPriceWithTax: 'Price',
    deliveryCost: 'Price',
    appliedProductPromotions: 'PromotionResult',
    appliedOrderPromotions: 'PromotionResult',
    potentialProductPromotions: 'PromotionResult',
    potentialOrderPromotions: 'PromotionResult',
    user: 'Principal',
  },
  OrderEntry: { product: 'Product', basePrice: 'Price', totalPrice: 'Price' },
  PromotionResult: { promotion: 'Promotion', consumedEntries: 'PromotionOrderEntryConsumed' },
  CartModification: { entry: 'OrderEntry' },
  PromotionList: { promotions: 'Promotion' },
  CartList: { carts: 'Cart' },
  OrderEntryList: { orderEntries: 'OrderEntry' },
};

// ---------------------------------------------------------------------------------------------
// Parsing

const MAX_SOURCE_LENGTH = 4096;
const MAX_DEPTH = 16;
const PARSE_CACHE_LIMIT = 500;
const parseCache = new Map<string, FieldMask>();

const isLevel = (s: string): s is FieldLevel => s === 'BASIC' || s === 'DEFAULT' || s === 'FULL';
const NAME_CHAR = /[A-Za-z0-9_$-]/;

interface MutableMask {
  levels: Set<FieldLevel>;
  fields: Map<string, MutableMask | null>;
  source: string;
}

/** The `DEFAULT` mask (what an absent `fields` parameter means). */
export const DEFAULT_MASK: FieldMask = freezeMask({ levels: new Set(['DEFAULT']), fields: new Map(), source: 'DEFAULT' });

/**
 * Parses an OCC `fields` expression. `undefined` or blank → `DEFAULT`.
 * Results are cached (bounded), so the same string returns the same `FieldMask` object.
 * @throws FieldMaskError on a syntax error (unbalanced parentheses, empty `()`, bad characters, …)
 */
export function parseFields(fields: string | undefined): FieldMask {
  if (fields === undefined) return DEFAULT_MASK;
  const cached = parseCache.get(fields);
  if (cached !== undefined) {
    // refresh recency (LRU-ish): re-insert at the end
    parseCache.delete(fields);
    parseCache.set(fields, cached);
    return cached;
  }
  const mask = parseUncached(fields);
  parseCache.set(fields, mask);
  if (parseCache.size > PARSE_CACHE_LIMIT) {
    const oldest = parseCache.keys().next();
    if (!oldest.done) parseCache.delete(oldest.value);
  }
  return mask;
}

function parseUncached(src: string): FieldMask {
  if (src.length > MAX_SOURCE_LENGTH) throw new FieldMaskError(`fields expression longer than ${MAX_SOURCE_LENGTH} characters`, MAX_SOURCE_LENGTH);
  if (src.trim() === '') return DEFAULT_MASK;
  let pos = 0;

  const skipWs = (): void => {
    while (pos < src.length && (src[pos] === ' ' || src[pos] === '\t')) pos++;
  };

  // list := item (',' item)* ; item := name ['(' list ')'] | <empty>
  const parseList = (depth: number): MutableMask => {
    if (depth > MAX_DEPTH) throw new FieldMaskError(`fields nested deeper than ${MAX_DEPTH} levels`, pos);
    const mask: MutableMask = { levels: new Set(), fields: new Map(), source: '' };
    for (;;) {
      skipWs();
      const start = pos;
      while (pos < src.length && NAME_CHAR.test(src[pos] as string)) pos++;
      const name = src.slice(start, pos);
      skipWs();
      let sub: MutableMask | null = null;
      if (src[pos] === '(') {
        if (name === '') throw new FieldMaskError(`'(' without a field name at ${pos}`, pos);
        if (isLevel(name)) throw new FieldMaskError(`level ${name} cannot take a sub-selection`, pos);
        pos++;
        sub = parseList(depth + 1);
        if (src[pos] !== ')') throw new FieldMaskError(`unbalanced parentheses: expected ')' at ${pos}`, pos);
        if (sub.levels.size === 0 && sub.fields.size === 0) throw new FieldMaskError(`empty sub-selection for '${name}'`, pos);
        pos++;
        skipWs();
      }
      if (name !== '') {
        if (isLevel(name)) mask.levels.add(name);
        else mask.fields.set(name, mergeParsed(mask.fields.get(name), sub));
      }
      const c = src[pos];
      if (c === ',') {
        pos++;
        continue;
      }
      if (c === undefined || c === ')') return mask;
      throw new FieldMaskError(`unexpected character '${c}' at ${pos}`, pos);
    }
  };

  const root = parseList(0);
  if (pos < src.length) throw new FieldMaskError(`unbalanced parentheses: unexpected ')' at ${pos}`, pos);
  if (root.levels.size === 0 && root.fields.size === 0) return DEFAULT_MASK;
  return freezeMask(root);
}

/** Merges two mentions of the same field: `null` (no sub-mask) merged with X stays "BASIC ∪ X". */
function mergeParsed(a: MutableMask | null | undefined, b: MutableMask | null): MutableMask | null {
  if (a === undefined) return b;
  if (a === null && b === null) return null;
  const out: MutableMask = { levels: new Set(), fields: new Map(), source: '' };
  for (const m of [a, b]) {
    if (m === null) out.levels.add('BASIC');
    else {
      for (const l of m.levels) out.levels.add(l);
      for (const [k, v] of m.fields) out.fields.set(k, mergeParsed(out.fields.get(k), v));
    }
  }
  return out;
}

function maskToString(m: { levels: ReadonlySet<FieldLevel>; fields: ReadonlyMap<string, { source: string } | null> }): string {
  const parts: string[] = [...m.levels];
  for (const [k, v] of m.fields) parts.push(v === null ? k : `${k}(${v.source})`);
  return parts.join(',');
}

function freezeMask(m: MutableMask): FieldMask {
  for (const v of m.fields.values()) if (v !== null) freezeMask(v);
  m.source = maskToString(m);
  return m;
}

// ---------------------------------------------------------------------------------------------
// Compilation (mask × DTO type → projection)

const ALL = Symbol('ALL');
/** `ALL`: keep the value as is; otherwise keep only the listed properties, each with its projection. */
type Projection = typeof ALL | { readonly fields: ReadonlyMap<string, Projection> };

const compiled = new WeakMap<FieldMask, Map<OccDtoType, Projection>>();
const levelCache = new Map<string, Projection>();

function mergeProjection(a: Projection | undefined, b: Projection): Projection {
  if (a === undefined) return b;
  if (a === ALL || b === ALL) return ALL;
  const fields = new Map(a.fields);
  for (const [k, v] of b.fields) fields.set(k, mergeProjection(fields.get(k), v));
  return { fields };
}

function levelProjection(type: OccDtoType, level: FieldLevel): Projection {
  if (level === 'FULL' || type === 'Any') return ALL;
  const key = `${type}:${level}`;
  const hit = levelCache.get(key);
  if (hit !== undefined) return hit;
  const table = LEVEL_TABLES[type];
  const proj = compileMask(parseUncached(table[level]), type, level);
  levelCache.set(key, proj);
  return proj;
}

function compileMask(mask: FieldMask, type: OccDtoType, expanding?: FieldLevel): Projection {
  if (type === 'Any' || mask.levels.has('FULL')) return ALL;
  let proj: Projection = { fields: new Map() };
  for (const level of mask.levels) {
    if (level === expanding) throw new Error(`level table for ${type}.${level} references itself`);
    proj = mergeProjection(proj, levelProjection(type, level));
  }
  const nested = NESTED_TYPES[type];
  const own = new Map<string, Projection>();
  for (const [name, sub] of mask.fields) {
    const nestedType = nested?.[name] ?? 'Any';
    own.set(name, sub === null ? levelProjection(nestedType, 'BASIC') : compileMask(sub, nestedType));
  }
  return mergeProjection(proj, { fields: own });
}

function projectionFor(mask: FieldMask, type: OccDtoType): Projection {
  let perType = compiled.get(mask);
  if (perType === undefined) {
    perType = new Map();
    compiled.set(mask, perType);
  }
  let proj = perType.get(type);
  if (proj === undefined) {
    proj = compileMask(mask, type);
    perType.set(type, proj);
  }
  return proj;
}

// ---------------------------------------------------------------------------------------------
// Application

/**
 * `value` through `proj`. A subtree the projection keeps whole (every property selected and
 * kept whole itself) is returned as is, not copied: a copy is made only from the first property
 * dropped or changed on, so a mask that selects what an upstream sent allocates nothing.
 */
function project(value: unknown, proj: Projection): unknown {
  if (proj === ALL || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return projectArray(value, proj);
  const src = value as Record<string, unknown>;
  const fields = proj.fields;
  let out: Record<string, unknown> | undefined;
  // iterate the input so the output keeps the input's key order
  for (const key in src) {
    const sub = fields.get(key);
    const v = src[key];
    const p = sub === undefined || v === undefined ? undefined : project(v, sub);
    if (out !== undefined) {
      if (p !== undefined) out[key] = p;
    } else if (p !== v || p === undefined) {
      out = copyBefore(src, key, fields);
      if (p !== undefined) out[key] = p;
    }
  }
  return out ?? src;
}

/** The properties of `src` before `stop`, each kept as is (they were until `stop`). */
function copyBefore(src: Record<string, unknown>, stop: string, fields: ReadonlyMap<string, Projection>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key in src) {
    if (key === stop) break;
    if (fields.has(key)) out[key] = src[key];
  }
  return out;
}

function projectArray(value: readonly unknown[], proj: Projection): unknown[] {
  let out: unknown[] | undefined;
  for (let i = 0; i < value.length; i++) {
    const v = value[i];
    const p = project(v, proj);
    if (out === undefined && p !== v) out = value.slice(0, i);
    if (out !== undefined) out.push(p);
  }
  return out ?? (value as unknown[]);
}

/**
 * Projects a DTO (or an array of DTOs) through a field mask. Returns the input itself, or parts
 * of it, wherever the mask keeps them whole (always with `FULL`): callers must not mutate it.
 */
export function applyFieldMask(value: unknown, mask: FieldMask, dtoType: OccDtoType): unknown {
  return project(value, projectionFor(mask, dtoType));
}

/** Convenience: `applyFieldMask(value, parseFields(fields), dtoType)`. */
export function projectFields(value: unknown, fields: string | undefined, dtoType: OccDtoType): unknown {
  return applyFieldMask(value, parseFields(fields), dtoType);
}

/**
 * Whether a mask selects a property path for a DTO type, e.g.
 * `isFieldSelected(mask, 'Product', ['potentialPromotions'])` or
 * `isFieldSelected(mask, 'ProductSearchPage', ['products', 'price', 'formattedValue'])`.
 * Lets a caller skip fetching data the client did not ask for. With `FULL` (or an untyped
 * nested property) every path is selected.
 */
export function isFieldSelected(mask: FieldMask, dtoType: OccDtoType, path: readonly string[]): boolean {
  let proj = projectionFor(mask, dtoType);
  for (const key of path) {
    if (proj === ALL) return true;
    const next = proj.fields.get(key);
    if (next === undefined) return false;
    proj = next;
  }
  return true;
}

/** Number of cached parsed masks (for tests and metrics). */
export function fieldMaskCacheSize(): number {
  return parseCache.size;
}
