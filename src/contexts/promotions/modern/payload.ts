/**
 * Promotions ACL, new side: the promotions service's payloads (CONTRACTS "New services"),
 * validated against their schemas, then against what they mean (a promotion's kind parameters, a
 * cart evaluation's arithmetic, CONTRACTS "Cart evaluation"), then copied field by field.
 */
import { Type, type Static } from '@sinclair/typebox';
import { batchSkuErrors, fail, ok, pointer, validator, type MapError, type MapResult } from '../../../domain/map-result.js';
import {
  CartEvaluation,
  Promotion,
  PromotionSummary,
  Sku,
  type AppliedPromotion,
  type EvaluatedEntry,
  type Money,
  type PromotionInfo,
  type PromotionKind,
} from '../../../domain/model.js';
import { PROMOTION_TYPE } from '../../../occ/promotions.js';

/** `GET /v1/sites/{site}/promotions?scope=` */
export const PromotionListResponse = Type.Object({ promotions: Type.Array(Promotion) });
export type PromotionListResponse = Static<typeof PromotionListResponse>;

export const SkuPromotions = Type.Object({ sku: Sku, promotions: Type.Array(PromotionSummary) });
export type SkuPromotions = Static<typeof SkuPromotions>;

/** `GET /v1/sites/{site}/product-promotions?skus=a,b` */
export const ProductPromotionBatchResponse = Type.Object({
  items: Type.Array(SkuPromotions),
  missing: Type.Array(Sku),
});
export type ProductPromotionBatchResponse = Static<typeof ProductPromotionBatchResponse>;

const checkListSchema = validator(PromotionListResponse);
const checkPromotionSchema = validator(Promotion);
const checkBatchSchema = validator(ProductPromotionBatchResponse);
const checkEvaluationSchema = validator(CartEvaluation);

/** The scope each kind has (CONTRACTS "Seed"): only an order threshold is an order promotion. */
export const SCOPE_OF_KIND: Readonly<Record<PromotionKind, 'ORDER' | 'PRODUCT'>> = {
  ORDER_THRESHOLD: 'ORDER',
  GIFT_WITH_PURCHASE: 'PRODUCT',
  CATEGORY_PERCENTAGE: 'PRODUCT',
  BUY_ONE_GET_ONE: 'PRODUCT',
};

/** The parameters each kind cannot work without. */
const PARAMS_OF_KIND: Readonly<Record<PromotionKind, readonly (keyof Promotion)[]>> = {
  ORDER_THRESHOLD: ['threshold', 'discount'],
  GIFT_WITH_PURCHASE: ['categories', 'giftSku'],
  CATEGORY_PERCENTAGE: ['categories', 'percentage'],
  BUY_ONE_GET_ONE: ['categories'],
};

const copyMoney = (m: Money): Money => ({ amount: m.amount, currency: m.currency });

function copyPromotion(p: Promotion): Promotion {
  const out: Promotion = {
    code: p.code,
    title: p.title,
    description: p.description,
    kind: p.kind,
    scope: p.scope,
    priority: p.priority,
    startDate: p.startDate,
    endDate: p.endDate,
  };
  if (p.threshold) out.threshold = copyMoney(p.threshold);
  if (p.discount) out.discount = copyMoney(p.discount);
  if (p.percentage !== undefined) out.percentage = p.percentage;
  if (p.categories) out.categories = [...p.categories];
  if (p.giftSku !== undefined) out.giftSku = p.giftSku;
  return out;
}

function promotionErrors(p: Promotion, base: string): MapError[] {
  const errors: MapError[] = [];
  if (SCOPE_OF_KIND[p.kind] !== p.scope) {
    errors.push({ path: `${base}/scope`, message: `A ${p.kind} promotion has scope ${SCOPE_OF_KIND[p.kind]}, got ${p.scope}` });
  }
  for (const param of PARAMS_OF_KIND[p.kind]) {
    if (p[param] === undefined) errors.push({ path: `${base}/${param}`, message: `Expected required property for a ${p.kind} promotion` });
  }
  if (p.threshold && p.discount && p.threshold.currency !== p.discount.currency) {
    errors.push({ path: `${base}/discount/currency`, message: `Expected the threshold's currency ${p.threshold.currency}` });
  }
  if (Date.parse(p.startDate) > Date.parse(p.endDate)) {
    errors.push({ path: `${base}/endDate`, message: 'Expected endDate not before startDate' });
  }
  return errors;
}

/**
 * A definition of the promotions service as the domain's PromotionInfo. The service runs the
 * monolith's kind of engine (rule based) with one promotion group per site, as SAP does, so
 * a surface renders it as the monolith would.
 */
export function promotionToInfo(p: Promotion, site: string): PromotionInfo {
  return {
    code: p.code,
    title: p.title,
    description: p.description,
    type: PROMOTION_TYPE,
    enabled: true,
    startDate: p.startDate,
    endDate: p.endDate,
    priority: p.priority,
    group: `${site}PromoGrp`,
  };
}

export function checkPromotion(payload: unknown): MapResult<Promotion> {
  const checked = checkPromotionSchema(payload);
  if (!checked.ok) return checked;
  const errors = promotionErrors(checked.value, '');
  return errors.length > 0 ? fail(errors) : ok(copyPromotion(checked.value));
}

export function checkPromotionList(payload: unknown): MapResult<PromotionListResponse> {
  const checked = checkListSchema(payload);
  if (!checked.ok) return checked;
  const errors: MapError[] = [];
  const codes = new Set<string>();
  checked.value.promotions.forEach((p, i) => {
    if (codes.has(p.code)) errors.push({ path: `/promotions/${i}/code`, message: `Promotion ${p.code} is listed twice` });
    codes.add(p.code);
    errors.push(...promotionErrors(p, `/promotions/${i}`));
  });
  return errors.length > 0 ? fail(errors) : ok({ promotions: checked.value.promotions.map(copyPromotion) });
}

export function checkProductPromotionBatch(payload: unknown): MapResult<ProductPromotionBatchResponse> {
  const checked = checkBatchSchema(payload);
  if (!checked.ok) return checked;
  const { items, missing } = checked.value;
  const errors = batchSkuErrors('items', items, missing);
  if (errors.length > 0) return fail(errors);
  return ok({
    items: items.map((item) => ({ sku: item.sku, promotions: item.promotions.map((s) => ({ code: s.code, title: s.title })) })),
    missing: [...missing],
  });
}

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

/**
 * What a cart evaluation means (CONTRACTS "Cart evaluation"), checked on a schema-valid one:
 * one currency; per entry `basePrice = unitPrice × quantity`, `total = basePrice − discount`,
 * `0 ≤ discount ≤ basePrice`, a giveaway costs nothing; promotions name existing entries and
 * their discounts add up to the totals per scope; `subTotal = Σ basePrice`,
 * `productDiscounts = Σ discount`, `totalDiscounts = product + order`, `total = subTotal −
 * totalDiscounts`, `totalWithTax = total + tax`. Paths are canonical JSON Pointers.
 */
export function cartEvaluationErrors(e: CartEvaluation): MapError[] {
  const errors: MapError[] = [];
  const mismatch = (path: string, expected: number, got: number, what: string) => {
    if (expected !== got) errors.push({ path: `${path}/amount`, message: `Expected ${what} = ${expected}, got ${got}` });
  };
  const currencyOf = (m: Money, path: string) => {
    if (m.currency !== e.currency) errors.push({ path: `${path}/currency`, message: `Expected the cart's currency ${e.currency}, got ${m.currency}` });
  };

  const numbers = new Set<number>();
  e.entries.forEach((entry: EvaluatedEntry, i) => {
    const p = `/entries/${i}`;
    if (numbers.has(entry.entryNumber)) errors.push({ path: `${p}/entryNumber`, message: `Entry number ${entry.entryNumber} is used twice` });
    numbers.add(entry.entryNumber);
    for (const k of ['unitPrice', 'basePrice', 'discount', 'total'] as const) currencyOf(entry[k], `${p}/${k}`);
    mismatch(`${p}/basePrice`, entry.unitPrice.amount * entry.quantity, entry.basePrice.amount, 'unitPrice × quantity');
    if (entry.discount.amount < 0 || entry.discount.amount > entry.basePrice.amount) {
      errors.push({ path: `${p}/discount/amount`, message: `Expected 0 ≤ discount ≤ basePrice (${entry.basePrice.amount}), got ${entry.discount.amount}` });
    }
    mismatch(`${p}/total`, entry.basePrice.amount - entry.discount.amount, entry.total.amount, 'basePrice − discount');
    if (entry.giveaway && entry.total.amount !== 0) errors.push({ path: `${p}/total/amount`, message: 'Expected a giveaway entry to cost 0' });
  });

  const byScope = { PRODUCT: 0, ORDER: 0 };
  e.appliedPromotions.forEach((a: AppliedPromotion, i) => {
    const p = `/appliedPromotions/${i}`;
    currencyOf(a.discount, `${p}/discount`);
    if (a.discount.amount < 0) errors.push({ path: `${p}/discount/amount`, message: `Expected a non-negative discount, got ${a.discount.amount}` });
    a.entryNumbers.forEach((n, k) => {
      if (!numbers.has(n)) errors.push({ path: pointer(p, 'entryNumbers', k), message: `No entry number ${n} in the cart` });
    });
    byScope[a.scope] += a.discount.amount;
  });

  for (const k of ['subTotal', 'productDiscounts', 'orderDiscounts', 'totalDiscounts', 'total', 'tax', 'totalWithTax'] as const) currencyOf(e[k], `/${k}`);
  mismatch('/subTotal', sum(e.entries.map((x) => x.basePrice.amount)), e.subTotal.amount, 'Σ entry basePrice');
  mismatch('/productDiscounts', sum(e.entries.map((x) => x.discount.amount)), e.productDiscounts.amount, 'Σ entry discount');
  mismatch('/productDiscounts', byScope.PRODUCT, e.productDiscounts.amount, 'Σ product promotion discounts');
  mismatch('/orderDiscounts', byScope.ORDER, e.orderDiscounts.amount, 'Σ order promotion discounts');
  mismatch('/totalDiscounts', e.productDiscounts.amount + e.orderDiscounts.amount, e.totalDiscounts.amount, 'productDiscounts + orderDiscounts');
  mismatch('/total', e.subTotal.amount - e.totalDiscounts.amount, e.total.amount, 'subTotal − totalDiscounts');
  if (e.tax.amount < 0) errors.push({ path: '/tax/amount', message: `Expected a non-negative tax, got ${e.tax.amount}` });
  mismatch('/totalWithTax', e.total.amount + e.tax.amount, e.totalWithTax.amount, 'total + tax');
  return errors;
}

function copyEvaluation(e: CartEvaluation): CartEvaluation {
  return {
    currency: e.currency,
    entries: e.entries.map((x) => ({
      entryNumber: x.entryNumber,
      sku: x.sku,
      quantity: x.quantity,
      unitPrice: copyMoney(x.unitPrice),
      basePrice: copyMoney(x.basePrice),
      discount: copyMoney(x.discount),
      total: copyMoney(x.total),
      giveaway: x.giveaway,
    })),
    appliedPromotions: e.appliedPromotions.map((a) => ({
      code: a.code,
      title: a.title,
      description: a.description,
      scope: a.scope,
      discount: copyMoney(a.discount),
      entryNumbers: [...a.entryNumbers],
    })),
    subTotal: copyMoney(e.subTotal),
    productDiscounts: copyMoney(e.productDiscounts),
    orderDiscounts: copyMoney(e.orderDiscounts),
    totalDiscounts: copyMoney(e.totalDiscounts),
    total: copyMoney(e.total),
    tax: copyMoney(e.tax),
    totalWithTax: copyMoney(e.totalWithTax),
  };
}

/** `POST /v1/sites/{site}/carts/evaluate` → CartEvaluation, checked for shape and arithmetic. */
export function checkCartEvaluation(payload: unknown): MapResult<CartEvaluation> {
  const checked = checkEvaluationSchema(payload);
  if (!checked.ok) return checked;
  const errors = cartEvaluationErrors(checked.value);
  return errors.length > 0 ? fail(errors) : ok(copyEvaluation(checked.value));
}
