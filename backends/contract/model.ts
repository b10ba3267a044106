/**
 * The new services' wire model, written from docs/CONTRACTS.md ("Identifiers", "New services",
 * "Cart evaluation"), not from the gateway's code: the simulators stand in for systems another
 * team owns, so the parity suite compares two readings of one contract.
 *
 * TypeBox schemas, because fastify validates requests and serialises responses with them: a
 * field the contract does not name never leaves a service.
 */
import { Type, type Static } from '@sinclair/typebox';

/** CONTRACTS "Identifiers": 1–64 characters, letters, digits, `_`, `.`, `-`, not starting with a separator. */
export const SKU_REGEX = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$';
/** CONTRACTS "Identifiers": lowercase letters, digits and `-`, 1–64 characters, not starting with `-`. */
export const SITE_REGEX = '^[a-z0-9][a-z0-9-]{0,63}$';

export const SkuSchema = Type.String({ pattern: SKU_REGEX });
export const SiteSchema = Type.String({ pattern: SITE_REGEX });
const Currency = Type.String({ pattern: '^[A-Z]{3}$' });

/** Integer minor units and an ISO 4217 code. */
export const MoneySchema = Type.Object({ amount: Type.Integer(), currency: Currency }, { additionalProperties: false });
export type Money = Static<typeof MoneySchema>;

export const StockStatusSchema = Type.Union([Type.Literal('IN_STOCK'), Type.Literal('LOW_STOCK'), Type.Literal('OUT_OF_STOCK')]);
export type StockStatus = Static<typeof StockStatusSchema>;

export const AvailabilitySchema = Type.Object(
  { status: StockStatusSchema, quantity: Type.Integer({ minimum: 0 }) },
  { additionalProperties: false },
);
export type Availability = Static<typeof AvailabilitySchema>;

export const ScopeSchema = Type.Union([Type.Literal('ORDER'), Type.Literal('PRODUCT')]);
export type Scope = Static<typeof ScopeSchema>;

export const KindSchema = Type.Union([
  Type.Literal('ORDER_THRESHOLD'),
  Type.Literal('GIFT_WITH_PURCHASE'),
  Type.Literal('CATEGORY_PERCENTAGE'),
  Type.Literal('BUY_ONE_GET_ONE'),
]);
export type Kind = Static<typeof KindSchema>;

/** A promotion definition; the kind-specific fields are present for their kind only. */
export const PromotionSchema = Type.Object(
  {
    code: Type.String({ minLength: 1 }),
    title: Type.String(),
    description: Type.String(),
    kind: KindSchema,
    scope: ScopeSchema,
    priority: Type.Integer(),
    startDate: Type.String({ format: 'date-time' }),
    endDate: Type.String({ format: 'date-time' }),
    threshold: Type.Optional(MoneySchema),
    discount: Type.Optional(MoneySchema),
    percentage: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
    categories: Type.Optional(Type.Array(Type.String())),
    giftSku: Type.Optional(SkuSchema),
  },
  { additionalProperties: false },
);
export type Promotion = Static<typeof PromotionSchema>;

export const PromotionRefSchema = Type.Object({ code: Type.String(), title: Type.String() }, { additionalProperties: false });
export type PromotionRef = Static<typeof PromotionRefSchema>;

export const EvaluatedLineSchema = Type.Object(
  {
    entryNumber: Type.Integer({ minimum: 0 }),
    sku: SkuSchema,
    quantity: Type.Integer({ minimum: 1 }),
    unitPrice: MoneySchema,
    basePrice: MoneySchema,
    discount: MoneySchema,
    total: MoneySchema,
    giveaway: Type.Boolean(),
  },
  { additionalProperties: false },
);
export type EvaluatedLine = Static<typeof EvaluatedLineSchema>;

export const FiredPromotionSchema = Type.Object(
  {
    code: Type.String(),
    title: Type.String(),
    description: Type.String(),
    scope: ScopeSchema,
    discount: MoneySchema,
    entryNumbers: Type.Array(Type.Integer({ minimum: 0 })),
  },
  { additionalProperties: false },
);
export type FiredPromotion = Static<typeof FiredPromotionSchema>;

export const EvaluationSchema = Type.Object(
  {
    currency: Currency,
    entries: Type.Array(EvaluatedLineSchema),
    appliedPromotions: Type.Array(FiredPromotionSchema),
    subTotal: MoneySchema,
    productDiscounts: MoneySchema,
    orderDiscounts: MoneySchema,
    totalDiscounts: MoneySchema,
    total: MoneySchema,
    tax: MoneySchema,
    totalWithTax: MoneySchema,
  },
  { additionalProperties: false },
);
export type Evaluation = Static<typeof EvaluationSchema>;
