/**
 * The canonical model (docs/ARCHITECTURE.md#canonical-model). These TypeBox schemas are the single source of the types,
 * of request/response validation and of the OpenAPI document. Money is always integer minor
 * units plus an ISO 4217 code, never a float, never a formatted string.
 */
import { Type, type Static } from '@sinclair/typebox';

export const SKU_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$';
export const SITE_PATTERN = '^[a-z0-9][a-z0-9-]{0,63}$';

export const Sku = Type.String({ pattern: SKU_PATTERN, description: 'Product code (SKU)' });
export const SiteId = Type.String({ pattern: SITE_PATTERN, description: 'Base site id, e.g. electronics-spa' });
export const CurrencyCode = Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217 currency code' });

export const Money = Type.Object(
  {
    amount: Type.Integer({ description: 'Amount in minor units of the currency (cents, pence)' }),
    currency: CurrencyCode,
  },
  { additionalProperties: false },
);
export type Money = Static<typeof Money>;

export const AvailabilityStatus = Type.Union([
  Type.Literal('IN_STOCK'),
  Type.Literal('LOW_STOCK'),
  Type.Literal('OUT_OF_STOCK'),
]);
export type AvailabilityStatus = Static<typeof AvailabilityStatus>;

export const Availability = Type.Object(
  {
    status: AvailabilityStatus,
    quantity: Type.Integer({ minimum: 0 }),
  },
  { additionalProperties: false },
);
export type Availability = Static<typeof Availability>;

export const PromotionKind = Type.Union([
  Type.Literal('ORDER_THRESHOLD'),
  Type.Literal('GIFT_WITH_PURCHASE'),
  Type.Literal('CATEGORY_PERCENTAGE'),
  Type.Literal('BUY_ONE_GET_ONE'),
]);
export type PromotionKind = Static<typeof PromotionKind>;

export const PromotionScope = Type.Union([Type.Literal('ORDER'), Type.Literal('PRODUCT')]);
export type PromotionScope = Static<typeof PromotionScope>;

/** A promotion definition as the promotions context knows it. */
export const Promotion = Type.Object(
  {
    code: Type.String({ minLength: 1 }),
    title: Type.String(),
    description: Type.String(),
    kind: PromotionKind,
    scope: PromotionScope,
    priority: Type.Integer(),
    startDate: Type.String({ format: 'date-time', description: 'RFC 3339, UTC' }),
    endDate: Type.String({ format: 'date-time', description: 'RFC 3339, UTC' }),
    /** ORDER_THRESHOLD: order subtotal (after product discounts) at or above which the discount applies. */
    threshold: Type.Optional(Money),
    /** ORDER_THRESHOLD: fixed discount off the order. */
    discount: Type.Optional(Money),
    /** CATEGORY_PERCENTAGE: percent off every entry in `categories`. */
    percentage: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
    /** CATEGORY_PERCENTAGE, BUY_ONE_GET_ONE, GIFT_WITH_PURCHASE: the categories that qualify. */
    categories: Type.Optional(Type.Array(Type.String())),
    /** GIFT_WITH_PURCHASE: the SKU given away. */
    giftSku: Type.Optional(Sku),
  },
  { additionalProperties: false },
);
export type Promotion = Static<typeof Promotion>;

/**
 * A promotion as the gateway's surfaces see it, whichever backend stated it: a definition of the
 * promotions service, or what the monolith says of one. What a backend does not state is absent
 * (a product's potential promotion in OCC carries only code, title, description, type and end).
 * Ports return this; each surface renders it (OCC: src/occ/promotions.ts).
 */
export const PromotionInfo = Type.Object(
  {
    code: Type.String({ minLength: 1 }),
    title: Type.String(),
    description: Type.Optional(Type.String()),
    /** the engine's label for how the promotion is defined, e.g. SAP's 'Rule Based Promotion' */
    type: Type.Optional(Type.String()),
    enabled: Type.Optional(Type.Boolean()),
    startDate: Type.Optional(Type.String({ format: 'date-time', description: 'RFC 3339, UTC' })),
    endDate: Type.Optional(Type.String({ format: 'date-time', description: 'RFC 3339, UTC' })),
    priority: Type.Optional(Type.Integer()),
    /** the promotion group (SAP: one per site) */
    group: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);
export type PromotionInfo = Static<typeof PromotionInfo>;

export const PromotionSummary = Type.Object(
  { code: Type.String(), title: Type.String() },
  { additionalProperties: false },
);
export type PromotionSummary = Static<typeof PromotionSummary>;

/** The canonical product view (docs/ARCHITECTURE.md#canonical-model). */
export const ProductView = Type.Object(
  {
    sku: Sku,
    name: Type.String(),
    price: Type.Union([Money, Type.Null()]),
    availability: Availability,
    promotions: Type.Array(PromotionSummary),
  },
  { additionalProperties: false },
);
export type ProductView = Static<typeof ProductView>;

export const CartEntryInput = Type.Object(
  {
    sku: Sku,
    quantity: Type.Integer({ minimum: 1, maximum: 999 }),
  },
  { additionalProperties: false },
);
export type CartEntryInput = Static<typeof CartEntryInput>;

export const CartInput = Type.Object(
  {
    entries: Type.Array(CartEntryInput, { minItems: 1, maxItems: 100 }),
  },
  { additionalProperties: false },
);
export type CartInput = Static<typeof CartInput>;

export const EvaluatedEntry = Type.Object(
  {
    entryNumber: Type.Integer({ minimum: 0 }),
    sku: Sku,
    quantity: Type.Integer({ minimum: 1 }),
    unitPrice: Money,
    /** quantity × unitPrice, before discounts */
    basePrice: Money,
    discount: Money,
    /** basePrice − discount */
    total: Money,
    /** true for an entry added by a gift-with-purchase promotion */
    giveaway: Type.Boolean(),
  },
  { additionalProperties: false },
);
export type EvaluatedEntry = Static<typeof EvaluatedEntry>;

export const AppliedPromotion = Type.Object(
  {
    code: Type.String(),
    title: Type.String(),
    /** the promotion's customer-facing description (OCC's fired message) */
    description: Type.String(),
    scope: PromotionScope,
    discount: Money,
    /** entry numbers the promotion consumed (product promotions, gifts) */
    entryNumbers: Type.Array(Type.Integer({ minimum: 0 })),
  },
  { additionalProperties: false },
);
export type AppliedPromotion = Static<typeof AppliedPromotion>;

export const CartEvaluation = Type.Object(
  {
    currency: CurrencyCode,
    entries: Type.Array(EvaluatedEntry),
    appliedPromotions: Type.Array(AppliedPromotion),
    /** sum of entry base prices */
    subTotal: Money,
    productDiscounts: Money,
    orderDiscounts: Money,
    totalDiscounts: Money,
    /** subTotal − totalDiscounts */
    total: Money,
    tax: Money,
    totalWithTax: Money,
  },
  { additionalProperties: false },
);
export type CartEvaluation = Static<typeof CartEvaluation>;

/** RFC 9457 problem details, with the gateway's stable code. */
export const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.Optional(Type.String()),
    instance: Type.Optional(Type.String()),
    code: Type.String({ pattern: '^GW_ERR_[A-Z0-9]+_[A-Z0-9_]+$' }),
    requestId: Type.Optional(Type.String()),
    context: Type.Optional(Type.String()),
    backend: Type.Optional(Type.String()),
    errors: Type.Optional(Type.Array(Type.Object({ path: Type.String(), message: Type.String() }), { maxItems: 10 })),
    errorCount: Type.Optional(Type.Integer({ description: 'how many errors there were, when there were more than `errors` lists (its first 10)' })),
  },
  {},
);
export type Problem = Static<typeof Problem>;
