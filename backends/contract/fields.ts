/**
 * The OCC `fields` parameter as the monolith applies it, written from docs/CONTRACTS.md
 * ("OCC `fields`"): the level tables and property types below are the contract's, the reading of
 * them is this simulator's own. The gateway has its own implementation (it renders OCC answers
 * for the new arm); the parity suite holds the two to the same bytes.
 *
 * ```ts
 * const sel = readFields(query.fields);          // FieldsSyntaxError on a malformed expression
 * const body = selectFields(dto, sel, 'Product');
 * ```
 */

export type Level = 'BASIC' | 'DEFAULT' | 'FULL';

/** DTO types with a level table. Any other value (and any property not typed below) is untyped: every level shows all of it. */
export type DtoType =
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
  | 'Principal';

/** CONTRACTS "OCC `fields`", level table. Each level is written in the `fields` syntax itself. */
const LEVELS: Readonly<Record<DtoType, { BASIC: string; DEFAULT: string }>> = {
  Product: {
    BASIC: 'code,name,url,purchasable,stock(BASIC),availableForPickup,baseProduct,price(BASIC)',
    DEFAULT:
      'BASIC,summary,description,manufacturer,price(DEFAULT),stock(DEFAULT),images(DEFAULT),categories(BASIC),averageRating,' +
      'numberOfReviews,potentialPromotions(DEFAULT),priceRange,multidimensional,baseOptions(DEFAULT),variantOptions(DEFAULT),' +
      'variantMatrix(DEFAULT),volumePricesFlag,configurable,configuratorType',
  },
  Price: { BASIC: 'currencyIso,value,priceType', DEFAULT: 'BASIC,formattedValue,minQuantity,maxQuantity' },
  Stock: { BASIC: 'stockLevelStatus,stockLevel', DEFAULT: 'stockLevelStatus,stockLevel' },
  Promotion: {
    BASIC: 'code,title,promotionType',
    DEFAULT: 'BASIC,description,enabled,startDate,endDate,priority,promotionGroup,couldFireMessages,firedMessages,productBanner(DEFAULT)',
  },
  Category: { BASIC: 'code,name,url', DEFAULT: 'BASIC,image(DEFAULT)' },
  Image: { BASIC: 'imageType,format,url', DEFAULT: 'BASIC,altText,galleryIndex' },
  ProductSearchPage: {
    BASIC: 'products(BASIC),pagination(BASIC),sorts(BASIC),freeTextSearch',
    DEFAULT:
      'products(DEFAULT),pagination(DEFAULT),sorts(DEFAULT),freeTextSearch,facets,breadcrumbs,currentQuery,categoryCode,keywordRedirectUrl,spellingSuggestion',
  },
  Pagination: { BASIC: 'currentPage,pageSize,totalPages,totalResults', DEFAULT: 'BASIC,sort' },
  Sort: { BASIC: 'code,selected', DEFAULT: 'code,name,selected' },
  Cart: {
    BASIC: 'code,guid,totalItems,totalUnitCount,totalPrice(BASIC),totalPriceWithTax(BASIC)',
    DEFAULT:
      'BASIC,entries(DEFAULT),subTotal(DEFAULT),productDiscounts(DEFAULT),orderDiscounts(DEFAULT),totalDiscounts(DEFAULT),totalPrice(DEFAULT),' +
      'totalTax(DEFAULT),totalPriceWithTax(DEFAULT),appliedProductPromotions(DEFAULT),appliedOrderPromotions(DEFAULT),' +
      'potentialProductPromotions(DEFAULT),potentialOrderPromotions(DEFAULT),appliedVouchers,deliveryItemsQuantity,pickupItemsQuantity,' +
      'net,calculated,site,store,user(BASIC),expirationTime,saveTime,name,description',
  },
  OrderEntry: {
    BASIC: 'entryNumber,quantity,product(BASIC)',
    DEFAULT: 'BASIC,basePrice(DEFAULT),totalPrice(DEFAULT),updateable,deliveryMode,deliveryPointOfService,statusSummaryList',
  },
  PromotionResult: { BASIC: 'description,promotion(BASIC)', DEFAULT: 'BASIC,consumedEntries(DEFAULT)' },
  PromotionOrderEntryConsumed: { BASIC: 'orderEntryNumber,quantity,adjustedUnitPrice', DEFAULT: 'BASIC,code' },
  CartModification: { BASIC: 'statusCode,quantity,quantityAdded', DEFAULT: 'BASIC,statusMessage,entry(DEFAULT),deliveryModeChanged' },
  PromotionList: { BASIC: 'promotions(BASIC)', DEFAULT: 'promotions(DEFAULT)' },
  CartList: { BASIC: 'carts(BASIC)', DEFAULT: 'carts(DEFAULT)' },
  OrderEntryList: { BASIC: 'orderEntries(BASIC)', DEFAULT: 'orderEntries(DEFAULT)' },
  Principal: { BASIC: 'uid,name', DEFAULT: 'uid,name' },
};

/** CONTRACTS "OCC `fields`", property types: the DTO type of each typed nested property. */
const PROPERTY_TYPES: Readonly<Partial<Record<DtoType, Readonly<Record<string, DtoType>>>>> = {
  Product: { price: 'Price', volumePrices: 'Price', stock: 'Stock', images: 'Image', categories: 'Category', potentialPromotions: 'Promotion' },
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
// Syntax

/** One parenthesised list (or the whole expression): the levels it names and its named fields. */
interface Selection {
  readonly levels: readonly Level[];
  /** every mention of a field; `undefined` for a mention without parentheses */
  readonly fields: ReadonlyMap<string, readonly (Selection | undefined)[]>;
}

/** A parsed expression, with a key that is the same for the same text (response caches use it). */
export interface Fields {
  readonly key: string;
  readonly root: Selection;
}

export class FieldsSyntaxError extends Error {
  override readonly name = 'FieldsSyntaxError';
}

const MAX_LENGTH = 4096;
const MAX_NESTING = 16;
const LEVEL_NAMES: readonly string[] = ['BASIC', 'DEFAULT', 'FULL'];
const isLevelName = (s: string): s is Level => LEVEL_NAMES.includes(s);
const isNameChar = (c: string): boolean => /^[A-Za-z0-9_$-]$/.test(c);

const DEFAULT_SELECTION: Selection = { levels: ['DEFAULT'], fields: new Map() };
export const DEFAULT_FIELDS: Fields = { key: 'DEFAULT', root: DEFAULT_SELECTION };

type Token = { kind: 'name'; text: string; at: number } | { kind: '(' | ')' | ','; at: number } | { kind: 'end'; at: number };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text.charAt(i);
    if (c === ' ' || c === '\t') {
      i++;
    } else if (c === '(' || c === ')' || c === ',') {
      tokens.push({ kind: c, at: i });
      i++;
    } else if (isNameChar(c)) {
      const start = i;
      while (i < text.length && isNameChar(text.charAt(i))) i++;
      tokens.push({ kind: 'name', text: text.slice(start, i), at: start });
    } else {
      throw new FieldsSyntaxError(`unexpected character '${c}' at ${i}`);
    }
  }
  tokens.push({ kind: 'end', at: text.length });
  return tokens;
}

/** list := item? (',' item?)* ; item := NAME | NAME '(' list ')' */
function parse(text: string): Selection {
  const tokens = tokenize(text);
  let k = 0;
  const peek = (): Token => tokens[k] as Token;

  const list = (nesting: number): Selection => {
    if (nesting > MAX_NESTING) throw new FieldsSyntaxError(`fields nested deeper than ${MAX_NESTING} levels`);
    const levels: Level[] = [];
    const fields = new Map<string, (Selection | undefined)[]>();
    for (;;) {
      const t = peek();
      if (t.kind === 'name') {
        k++;
        let sub: Selection | undefined;
        if (peek().kind === '(') {
          if (isLevelName(t.text)) throw new FieldsSyntaxError(`level ${t.text} cannot take a sub-selection`);
          k++;
          sub = list(nesting + 1);
          const close = peek();
          if (close.kind !== ')') throw new FieldsSyntaxError(`unbalanced parentheses: expected ')' at ${close.at}`);
          if (sub.levels.length === 0 && sub.fields.size === 0) throw new FieldsSyntaxError(`empty sub-selection for '${t.text}'`);
          k++;
        }
        if (isLevelName(t.text)) levels.push(t.text);
        else fields.set(t.text, [...(fields.get(t.text) ?? []), sub]);
      } else if (t.kind === '(') {
        throw new FieldsSyntaxError(`'(' without a field name at ${t.at}`);
      }
      const next = peek();
      if (next.kind === ',') {
        k++;
        continue;
      }
      if (next.kind === ')' || next.kind === 'end') return { levels, fields };
      throw new FieldsSyntaxError(`unexpected '${next.kind === 'name' ? next.text : next.kind}' at ${next.at}`);
    }
  };

  const root = list(0);
  const rest = peek();
  if (rest.kind !== 'end') throw new FieldsSyntaxError(`unbalanced parentheses: unexpected ')' at ${rest.at}`);
  return root;
}

const parsed = new Map<string, Fields>();
const PARSED_LIMIT = 256;

/** Reads a `fields` expression; absent or blank means `DEFAULT`, longer than 4096 characters is an error. */
export function readFields(text: string | undefined): Fields {
  if (text === undefined) return DEFAULT_FIELDS;
  if (text.length > MAX_LENGTH) throw new FieldsSyntaxError(`fields expression longer than ${MAX_LENGTH} characters`);
  if (text.trim() === '') return DEFAULT_FIELDS;
  const hit = parsed.get(text);
  if (hit) return hit;
  const root = parse(text);
  const fields: Fields = root.levels.length === 0 && root.fields.size === 0 ? DEFAULT_FIELDS : { key: text, root };
  if (parsed.size >= PARSED_LIMIT) parsed.clear();
  parsed.set(text, fields);
  return fields;
}

// ---------------------------------------------------------------------------------------------
// Meaning: a selection, read against a DTO type, becomes a plan of which keys to keep

const EVERYTHING = 'everything';
type Plan = typeof EVERYTHING | ReadonlyMap<string, Plan>;

function union(a: Plan, b: Plan): Plan {
  if (a === EVERYTHING || b === EVERYTHING) return EVERYTHING;
  const out = new Map(a);
  for (const [key, plan] of b) {
    const prev = out.get(key);
    out.set(key, prev === undefined ? plan : union(prev, plan));
  }
  return out;
}

const levelPlans = new Map<string, Plan>();

function levelPlan(type: DtoType | undefined, level: Level): Plan {
  if (type === undefined || level === 'FULL') return EVERYTHING;
  const key = `${type}/${level}`;
  let plan = levelPlans.get(key);
  if (plan === undefined) {
    plan = planFor(parse(LEVELS[type][level]), type);
    levelPlans.set(key, plan);
  }
  return plan;
}

function planFor(sel: Selection, type: DtoType | undefined): Plan {
  if (type === undefined || sel.levels.includes('FULL')) return EVERYTHING;
  let plan: Plan = new Map();
  for (const level of sel.levels) plan = union(plan, levelPlan(type, level));
  const types = PROPERTY_TYPES[type] ?? {};
  for (const [name, mentions] of sel.fields) {
    const propertyType = types[name];
    for (const sub of mentions) {
      // a property named without parentheses shows its own type's BASIC level
      const own: Plan = sub === undefined ? levelPlan(propertyType, 'BASIC') : planFor(sub, propertyType);
      plan = union(plan, new Map([[name, own]]));
    }
  }
  return plan;
}

const plans = new WeakMap<Fields, Map<DtoType, Plan>>();

function cachedPlan(fields: Fields, type: DtoType): Plan {
  let byType = plans.get(fields);
  if (!byType) plans.set(fields, (byType = new Map()));
  let plan = byType.get(type);
  if (plan === undefined) byType.set(type, (plan = planFor(fields.root, type)));
  return plan;
}

function apply(value: unknown, plan: Plan): unknown {
  if (plan === EVERYTHING || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item) => apply(item, plan));
  const out: Record<string, unknown> = {};
  // the DTO's key order, not the expression's
  for (const [key, v] of Object.entries(value)) {
    const sub = plan.get(key);
    if (sub !== undefined && v !== undefined) out[key] = apply(v, sub);
  }
  return out;
}

/** The DTO (or list of DTOs) as the expression selects it. `FULL` returns the value itself. */
export function selectFields(value: unknown, fields: Fields, type: DtoType): unknown {
  return apply(value, cachedPlan(fields, type));
}
