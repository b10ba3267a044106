/**
 * Promotions ACL, legacy side: OCC promotions, potential promotions and carts ⇄ the canonical
 * model. Pure: every payload is validated against its OCC DTO schema first, then named fields are
 * copied. Outbound OCC shapes follow the legacy simulator's key order
 * (`backends/legacy-commerce/occ-format.ts`, `carts.ts`) so OCC answers are byte-identical
 * whichever backend serves them.
 */
import { Type, type Static } from '@sinclair/typebox';
import { fail, ok, pointer, validator, type MapError, type MapResult } from '../../../domain/map-result.js';
import {
  SKU_PATTERN,
  type AppliedPromotion,
  type CartEvaluation,
  type EvaluatedEntry,
  type Money,
  type Promotion,
  type PromotionInfo,
  type PromotionScope,
  type PromotionSummary,
} from '../../../domain/model.js';
import { OccCart, OccDate, OccPromotion, type OccPrice, type OccPromotionResult } from '../../../occ/dto.js';
import { fromOccPriceIn, tryParseOccDate } from '../../../occ/format.js';
import { PROMOTION_TYPE, occPotentialPromotion, occPromotion } from '../../../occ/promotions.js';
import { cartEvaluationErrors, promotionToInfo } from '../modern/payload.js';

export { PROMOTION_TYPE };

/**
 * A promotion as `/promotions?fields=FULL` sends it. The promotions context serves these fields
 * to OCC clients, so it needs every one of them.
 */
export const OccPromotionFull = Type.Object({
  code: Type.String({ minLength: 1 }),
  title: Type.String(),
  description: Type.String(),
  promotionType: Type.String(),
  enabled: Type.Boolean(),
  startDate: OccDate,
  endDate: OccDate,
  priority: Type.Integer(),
  promotionGroup: Type.String(),
});
export type OccPromotionFull = Static<typeof OccPromotionFull>;

/** `GET /{site}/promotions` (OCC PromotionList). */
export const OccPromotionList = Type.Object({ promotions: Type.Array(OccPromotionFull) });
export type OccPromotionList = Static<typeof OccPromotionList>;

const checkOccPromotion = validator(OccPromotion);
const checkOccPromotionFull = validator(OccPromotionFull);
const checkOccPromotionList = validator(OccPromotionList);
const checkOccCart = validator(OccCart);

/** The pattern admits 2026-02-30; the calendar does not. */
function dateErrors(p: OccPromotionFull, base: string): MapError[] {
  return (['startDate', 'endDate'] as const)
    .filter((k) => tryParseOccDate(p[k]) === undefined)
    .map((k) => ({ path: `${base}/${k}`, message: `Expected a valid OCC date, got ${JSON.stringify(p[k])}` }));
}

export function checkLegacyPromotion(payload: unknown): MapResult<OccPromotionFull> {
  const checked = checkOccPromotionFull(payload);
  if (!checked.ok) return checked;
  const errors = dateErrors(checked.value, '');
  return errors.length > 0 ? fail(errors) : checked;
}

export function checkLegacyPromotionList(payload: unknown): MapResult<OccPromotionList> {
  const checked = checkOccPromotionList(payload);
  if (!checked.ok) return checked;
  const errors = checked.value.promotions.flatMap((p, i) => dateErrors(p, `/promotions/${i}`));
  return errors.length > 0 ? fail(errors) : checked;
}

const checkPotentialPromotions = validator(Type.Array(OccPromotion));

/** A product's `potentialPromotions` as the monolith sends them; their dates must be real dates. */
export function checkLegacyPotentialPromotions(payload: unknown): MapResult<OccPromotion[]> {
  const checked = checkPotentialPromotions(payload);
  if (!checked.ok) return checked;
  const errors = checked.value.flatMap((p, i) =>
    (['startDate', 'endDate'] as const)
      .filter((k) => p[k] !== undefined && tryParseOccDate(p[k]) === undefined)
      .map((k) => ({ path: `/${i}/${k}`, message: `Expected a valid OCC date, got ${JSON.stringify(p[k])}` })),
  );
  return errors.length > 0 ? fail(errors) : checked;
}

/** An OCC date as RFC 3339 UTC; the payload was checked, so a malformed one is a bug here. */
function rfc3339(d: string): string {
  const parsed = tryParseOccDate(d);
  if (parsed === undefined) throw new RangeError(`unchecked OCC date ${JSON.stringify(d)}`);
  return parsed;
}

/** What the monolith states of a promotion (a checked OCC Promotion), as the domain's PromotionInfo. */
export function legacyPromotionToInfo(p: OccPromotion): PromotionInfo {
  const out: PromotionInfo = { code: p.code, title: p.title };
  if (p.description !== undefined) out.description = p.description;
  if (p.promotionType !== undefined) out.type = p.promotionType;
  if (p.enabled !== undefined) out.enabled = p.enabled;
  if (p.startDate !== undefined) out.startDate = rfc3339(p.startDate);
  if (p.endDate !== undefined) out.endDate = rfc3339(p.endDate);
  if (p.priority !== undefined) out.priority = p.priority;
  if (p.promotionGroup !== undefined) out.group = p.promotionGroup;
  return out;
}

/*
 * The round trips the ACL fixtures pin (test/fixtures/acl/promotions/): each arm's mapping to the
 * domain, then the one OCC presenter, gives the monolith's bytes.
 */

/** A legacy promotion definition, through the domain, as OCC renders it (dates in UTC). */
export function legacyPromotionToOcc(p: OccPromotion): OccPromotion {
  return occPromotion(legacyPromotionToInfo(p));
}

/** A legacy potential promotion, through the domain, as OCC renders it (`{code, title, description, promotionType, endDate}`). */
export function legacyPotentialPromotionToOcc(p: OccPromotion): OccPromotion {
  return { ...occPotentialPromotion(legacyPromotionToInfo(p)) };
}

/** A product's potential promotion (or any OCC promotion) as the canonical `{code, title}`. */
export function legacyPromotionToSummary(occPromo: unknown): MapResult<PromotionSummary> {
  const checked = checkOccPromotion(occPromo);
  return checked.ok ? ok({ code: checked.value.code, title: checked.value.title }) : checked;
}

/** A definition of the promotions service, through the domain, as OCC renders it (simulator `occPromotion`). */
export function promotionToOccPromotion(p: Promotion, site: string): OccPromotion {
  return occPromotion(promotionToInfo(p, site));
}

/** A definition of the promotions service as an entry of OCC Product `potentialPromotions` (simulator `occProduct`). */
export function promotionToOccPotentialPromotion(p: Promotion): OccPromotion {
  return { ...occPotentialPromotion(promotionToInfo(p, '')) };
}

// ---------------------------------------------------------------------------------------------
// Carts

const SKU = new RegExp(SKU_PATTERN);

interface Candidate {
  result: OccPromotionResult;
  scope: PromotionScope;
  path: string;
  entryNumbers: number[];
}

/**
 * Entry number → the index of the product promotion its discount is credited to. OCC gives
 * neither a promotion's kind nor its discount, only the entries it consumed; CONTRACTS "Cart
 * evaluation" lets at most one promotion discount an entry, while a gift consumes the entries
 * that qualify for it without discounting them. So an entry's discount goes to its only consumer;
 * when several consumed it, to the first of them whose consumed entries are all discounted (a
 * gift's qualifying entries are normally not), or else to the first listed. This only apportions
 * productDiscounts among the promotions, so it never refuses a cart.
 */
function discountOwners(candidates: readonly Candidate[], entries: ReadonlyMap<number, EvaluatedEntry>): Map<number, number> {
  const onlyDiscounted = candidates.map((c) => c.entryNumbers.every((n) => (entries.get(n)?.discount.amount ?? 0) > 0));
  const owners = new Map<number, number>();
  for (const [n, entry] of entries) {
    if (entry.discount.amount === 0) continue;
    const consumers = candidates.flatMap((c, i) => (c.entryNumbers.includes(n) ? [i] : []));
    const owner = consumers.find((i) => onlyDiscounted[i]) ?? consumers[0];
    if (owner !== undefined) owners.set(n, owner);
  }
  return owners;
}

/** Canonical JSON Pointers of cartEvaluationErrors → the OCC fields they were read from. */
function occPathOf(canonical: string, promotionPaths: readonly string[]): string {
  const entry = /^\/entries\/(\d+)\/(\w+)(\/.*)?$/.exec(canonical);
  if (entry) {
    const [, i, field] = entry;
    if (field === 'total' || field === 'discount') return `/entries/${i}/totalPrice/value`;
    if (field === 'basePrice' || field === 'unitPrice') return `/entries/${i}/basePrice/value`;
    return `/entries/${i}/${field}`;
  }
  const promo = /^\/appliedPromotions\/(\d+)(\/.*)?$/.exec(canonical);
  if (promo) {
    const base = promotionPaths[Number(promo[1])] ?? '';
    return promo[2]?.startsWith('/entryNumbers/') ? `${base}/consumedEntries/${promo[2].split('/')[2]}/orderEntryNumber` : base;
  }
  const TOTALS: Record<string, string> = {
    subTotal: '/subTotal/value',
    productDiscounts: '/productDiscounts/value',
    orderDiscounts: '/orderDiscounts/value',
    totalDiscounts: '/totalDiscounts/value',
    total: '/totalPrice/value',
    tax: '/totalTax/value',
    totalWithTax: '/totalPriceWithTax/value',
  };
  return TOTALS[canonical.split('/')[1] ?? ''] ?? canonical;
}

/**
 * An OCC cart (`fields=FULL`) as the canonical CartEvaluation. OCC's entry `basePrice` is the
 * unit price, `totalPrice` the total after the entry's product discount; a giveaway is an entry
 * that is not `updateable`. The result must add up (cartEvaluationErrors), or the cart is
 * reported at the OCC fields that disagree. Every price must be in `currency`.
 *
 * OCC does not say which kind a promotion is, and the canonical applied promotion does not carry
 * one: its scope is the OCC list it came from (`appliedOrderPromotions` → ORDER,
 * `appliedProductPromotions` → PRODUCT), a product promotion's discount is that of the entries
 * credited to it (discountOwners), an order promotion's the cart's orderDiscounts.
 */
export function legacyCartToEvaluation(occCart: unknown, currency: string): MapResult<CartEvaluation> {
  const checked = checkOccCart(occCart);
  if (!checked.ok) return checked;
  const cart = checked.value;
  const errors: MapError[] = [];
  const money = (price: OccPrice, path: string): Money => {
    const r = fromOccPriceIn(price, currency, path);
    if (r.ok) return r.value;
    errors.push(...r.errors);
    return { amount: 0, currency };
  };

  const occEntries = cart.entries ?? [];
  const entries: EvaluatedEntry[] = occEntries.map((e, i) => {
    const p = `/entries/${i}`;
    if (!SKU.test(e.product.code)) errors.push({ path: `${p}/product/code`, message: `Expected a SKU matching ${SKU_PATTERN}` });
    const unitPrice = money(e.basePrice, `${p}/basePrice`);
    const total = money(e.totalPrice, `${p}/totalPrice`);
    const basePrice = { amount: unitPrice.amount * e.quantity, currency };
    return {
      entryNumber: e.entryNumber,
      sku: e.product.code,
      quantity: e.quantity,
      unitPrice,
      basePrice,
      discount: { amount: basePrice.amount - total.amount, currency },
      total,
      giveaway: e.updateable === false,
    };
  });
  const totals = {
    subTotal: money(cart.subTotal, '/subTotal'),
    productDiscounts: money(cart.productDiscounts, '/productDiscounts'),
    orderDiscounts: money(cart.orderDiscounts, '/orderDiscounts'),
    totalDiscounts: money(cart.totalDiscounts, '/totalDiscounts'),
    total: money(cart.totalPrice, '/totalPrice'),
    tax: money(cart.totalTax, '/totalTax'),
    totalWithTax: money(cart.totalPriceWithTax, '/totalPriceWithTax'),
  };
  if (cart.totalItems !== undefined && cart.totalItems !== entries.length) {
    errors.push({ path: '/totalItems', message: `Expected the number of entries (${entries.length}), got ${cart.totalItems}` });
  }
  const units = entries.reduce((s, e) => s + e.quantity, 0);
  if (cart.totalUnitCount !== undefined && cart.totalUnitCount !== units) {
    errors.push({ path: '/totalUnitCount', message: `Expected Σ entry quantity (${units}), got ${cart.totalUnitCount}` });
  }
  if (errors.length > 0) return fail(errors);

  const byNumber = new Map(entries.map((e) => [e.entryNumber, e]));
  const candidate = (scope: PromotionScope, list: string) => (result: OccPromotionResult, j: number): Candidate => ({
    result,
    scope,
    path: `/${list}/${j}`,
    entryNumbers: (result.consumedEntries ?? []).map((c) => c.orderEntryNumber),
  });
  const product = (cart.appliedProductPromotions ?? []).map(candidate('PRODUCT', 'appliedProductPromotions'));
  const order = (cart.appliedOrderPromotions ?? []).map(candidate('ORDER', 'appliedOrderPromotions'));
  const owners = discountOwners(product, byNumber);

  const applied: AppliedPromotion[] = [...product, ...order].map((c, k) => {
    const { code, title } = c.result.promotion;
    const description = c.result.description ?? c.result.promotion.description;
    if (description === undefined) errors.push({ path: `${c.path}/description`, message: 'Expected required property' });
    c.entryNumbers.forEach((n, i) => {
      if (!byNumber.has(n)) errors.push({ path: pointer(c.path, 'consumedEntries', i, 'orderEntryNumber'), message: `No entry number ${n} in the cart` });
    });
    let discount = 0;
    if (c.scope === 'ORDER') {
      // Order promotions consume no entries; OCC gives only their sum.
      if (order.length === 1) discount = totals.orderDiscounts.amount;
      else if (totals.orderDiscounts.amount !== 0) {
        errors.push({ path: `${c.path}/promotion/code`, message: `Cannot apportion orderDiscounts among ${order.length} order promotions` });
      }
    } else {
      discount = [...new Set(c.entryNumbers)].reduce((s, n) => s + (owners.get(n) === k ? (byNumber.get(n)?.discount.amount ?? 0) : 0), 0);
    }
    return {
      code,
      title,
      description: description ?? '',
      scope: c.scope,
      discount: { amount: discount, currency },
      entryNumbers: c.entryNumbers,
    };
  });
  if (errors.length > 0) return fail(errors);

  const evaluation: CartEvaluation = { currency, entries, appliedPromotions: applied, ...totals };
  const paths = [...product, ...order].map((c) => c.path);
  const invalid = cartEvaluationErrors(evaluation).map((e) => ({ path: occPathOf(e.path, paths), message: e.message }));
  return invalid.length > 0 ? fail(invalid) : ok(evaluation);
}
