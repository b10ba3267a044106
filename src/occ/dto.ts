/**
 * The OCC v2 DTOs the gateway consumes (SAP Commerce OCC; Spartacus `Occ` namespace in
 * @spartacus/core 4.3.8 `occ.models`). OCC declares every field optional and adds fields between
 * releases, so these schemas stay as loose as OCC is (extra properties allowed, most fields
 * optional) and are strict only on what a bounded context reads: a field a context reads is
 * required and typed, so a drifted upstream (renamed, retyped, dropped) fails validation instead
 * of leaking `undefined` into the canonical model.
 *
 * Property order in each schema is the order OCC serialises them in (the gateway's OCC answers
 * must be byte-identical whichever backend serves them).
 */
import { Type, type Static } from '@sinclair/typebox';

/** OCC's date format `yyyy-MM-dd'T'HH:mm:ssZ` (Java SimpleDateFormat, RFC 822 zone), e.g. `2026-01-01T00:00:00+0000`. */
export const OCC_DATE_PATTERN = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}[+-]\\d{4}$';
export const OccDate = Type.String({
  pattern: OCC_DATE_PATTERN,
  errorMessage: "Expected an OCC date (yyyy-MM-dd'T'HH:mm:ss±hhmm, e.g. 2026-01-01T00:00:00+0000)",
});

export const OccPrice = Type.Object({
  currencyIso: Type.String({ pattern: '^[A-Z]{3}$' }),
  /** Major units as a JSON number (OCC serialises a BigDecimal), e.g. 1301.54. */
  value: Type.Number(),
  formattedValue: Type.String(),
  /** `BUY` for a price one pays, `FROM` for a "from" price of a base product. */
  priceType: Type.String(),
  maxQuantity: Type.Optional(Type.Number()),
  minQuantity: Type.Optional(Type.Number()),
});
export type OccPrice = Static<typeof OccPrice>;

export const OccStockLevelStatus = Type.Union([
  Type.Literal('inStock'),
  Type.Literal('lowStock'),
  Type.Literal('outOfStock'),
]);
export type OccStockLevelStatus = Static<typeof OccStockLevelStatus>;

export const OccStock = Type.Object({
  /** OCC omits it for products that are "force in stock". */
  stockLevel: Type.Optional(Type.Integer({ minimum: 0 })),
  stockLevelStatus: OccStockLevelStatus,
});
export type OccStock = Static<typeof OccStock>;

export const OccPromotion = Type.Object({
  code: Type.String({ minLength: 1 }),
  title: Type.String(),
  description: Type.Optional(Type.String()),
  promotionType: Type.Optional(Type.String()),
  enabled: Type.Optional(Type.Boolean()),
  startDate: Type.Optional(OccDate),
  endDate: Type.Optional(OccDate),
  priority: Type.Optional(Type.Integer()),
  promotionGroup: Type.Optional(Type.String()),
  couldFireMessages: Type.Optional(Type.Array(Type.String())),
  firedMessages: Type.Optional(Type.Array(Type.String())),
});
export type OccPromotion = Static<typeof OccPromotion>;

export const OccCategoryRef = Type.Object({
  code: Type.String(),
  name: Type.Optional(Type.String()),
  url: Type.Optional(Type.String()),
});
export type OccCategoryRef = Static<typeof OccCategoryRef>;

export const OccProduct = Type.Object({
  code: Type.String({ minLength: 1 }),
  name: Type.String(),
  url: Type.Optional(Type.String()),
  summary: Type.Optional(Type.String()),
  description: Type.Optional(Type.String()),
  manufacturer: Type.Optional(Type.String()),
  purchasable: Type.Optional(Type.Boolean()),
  categories: Type.Optional(Type.Array(OccCategoryRef)),
  price: Type.Optional(OccPrice),
  stock: Type.Optional(OccStock),
  potentialPromotions: Type.Optional(Type.Array(OccPromotion)),
});
export type OccProduct = Static<typeof OccProduct>;

/** The product inside a cart entry: OCC sends a reduced product (`{code, name, url}`). */
export const OccProductRef = Type.Object({
  code: Type.String({ minLength: 1 }),
  name: Type.Optional(Type.String()),
  url: Type.Optional(Type.String()),
});
export type OccProductRef = Static<typeof OccProductRef>;

export const OccPromotionOrderEntryConsumed = Type.Object({
  code: Type.Optional(Type.String()),
  orderEntryNumber: Type.Integer({ minimum: 0 }),
  quantity: Type.Optional(Type.Integer({ minimum: 0 })),
  /** Major units, like a Price's value. */
  adjustedUnitPrice: Type.Optional(Type.Number()),
});
export type OccPromotionOrderEntryConsumed = Static<typeof OccPromotionOrderEntryConsumed>;

export const OccPromotionResult = Type.Object({
  promotion: OccPromotion,
  description: Type.Optional(Type.String()),
  consumedEntries: Type.Optional(Type.Array(OccPromotionOrderEntryConsumed)),
});
export type OccPromotionResult = Static<typeof OccPromotionResult>;

export const OccOrderEntry = Type.Object({
  entryNumber: Type.Integer({ minimum: 0 }),
  product: OccProductRef,
  quantity: Type.Integer({ minimum: 1 }),
  /** The unit price (OCC's name notwithstanding). */
  basePrice: OccPrice,
  /** quantity × basePrice − the entry's product discounts */
  totalPrice: OccPrice,
  updateable: Type.Optional(Type.Boolean()),
});
export type OccOrderEntry = Static<typeof OccOrderEntry>;

export const OccPrincipal = Type.Object({
  uid: Type.Optional(Type.String()),
  name: Type.Optional(Type.String()),
});

/** Totals are required: the pricing and promotions contexts own them. OCC omits an empty `entries`. */
export const OccCart = Type.Object({
  code: Type.Optional(Type.String()),
  guid: Type.Optional(Type.String()),
  user: Type.Optional(OccPrincipal),
  entries: Type.Optional(Type.Array(OccOrderEntry)),
  appliedProductPromotions: Type.Optional(Type.Array(OccPromotionResult)),
  appliedOrderPromotions: Type.Optional(Type.Array(OccPromotionResult)),
  potentialProductPromotions: Type.Optional(Type.Array(OccPromotionResult)),
  potentialOrderPromotions: Type.Optional(Type.Array(OccPromotionResult)),
  subTotal: OccPrice,
  productDiscounts: OccPrice,
  orderDiscounts: OccPrice,
  totalDiscounts: OccPrice,
  totalPrice: OccPrice,
  totalTax: OccPrice,
  totalPriceWithTax: OccPrice,
  totalItems: Type.Optional(Type.Integer({ minimum: 0 })),
  totalUnitCount: Type.Optional(Type.Integer({ minimum: 0 })),
  deliveryItemsQuantity: Type.Optional(Type.Integer({ minimum: 0 })),
  net: Type.Optional(Type.Boolean()),
  calculated: Type.Optional(Type.Boolean()),
});
export type OccCart = Static<typeof OccCart>;

export const OccPagination = Type.Object({
  currentPage: Type.Integer({ minimum: 0 }),
  pageSize: Type.Integer({ minimum: 0 }),
  sort: Type.Optional(Type.String()),
  totalPages: Type.Optional(Type.Integer({ minimum: 0 })),
  totalResults: Type.Optional(Type.Integer({ minimum: 0 })),
});
export type OccPagination = Static<typeof OccPagination>;

export const OccSort = Type.Object({
  code: Type.Optional(Type.String()),
  name: Type.Optional(Type.String()),
  selected: Type.Optional(Type.Boolean()),
});

export const OccProductSearchPage = Type.Object({
  freeTextSearch: Type.Optional(Type.String()),
  categoryCode: Type.Optional(Type.String()),
  products: Type.Optional(Type.Array(OccProduct)),
  sorts: Type.Optional(Type.Array(OccSort)),
  /** Always present in OCC's answer (even with no results), so its absence is drift. */
  pagination: OccPagination,
});
export type OccProductSearchPage = Static<typeof OccProductSearchPage>;

/**
 * The catalog's view of a product: what the (unmigrated) catalog owns is validated; the parts
 * the contexts own stay opaque here and are validated by each context's own ACL, so a legacy
 * price format change cannot break a request whose pricing is routed to the new service.
 */
export const OccCatalogProduct = Type.Composite([
  Type.Omit(OccProduct, ['price', 'stock', 'potentialPromotions']),
  Type.Object({
    price: Type.Optional(Type.Unknown()),
    stock: Type.Optional(Type.Unknown()),
    potentialPromotions: Type.Optional(Type.Unknown()),
  }),
]);
export type OccCatalogProduct = Static<typeof OccCatalogProduct>;

export const OccCatalogSearchPage = Type.Composite([
  Type.Omit(OccProductSearchPage, ['products']),
  Type.Object({ products: Type.Optional(Type.Array(OccCatalogProduct)) }),
]);
export type OccCatalogSearchPage = Static<typeof OccCatalogSearchPage>;

export const OccError = Type.Object({
  type: Type.String({ minLength: 1 }),
  reason: Type.Optional(Type.String()),
  message: Type.Optional(Type.String()),
  subject: Type.Optional(Type.String()),
  subjectType: Type.Optional(Type.String()),
});
export type OccError = Static<typeof OccError>;

export const OccErrorList = Type.Object({
  errors: Type.Array(OccError, { minItems: 1 }),
});
export type OccErrorList = Static<typeof OccErrorList>;
