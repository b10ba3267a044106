/**
 * The federation v1 subgraph SDL of every context (docs/ARCHITECTURE.md#graphql-schema). One source for
 * both sides of a context: the gateway's subgraph (served over the ports: legacy through the
 * anti-corruption layer, new through the modern adapter) and the new service's own subgraph
 * (backends/<ctx>-service/graphql.ts). Because both sides speak the same SDL, moving a context
 * from one to the other never changes the composed schema its clients see.
 *
 * `Product @key(fields: "sku")` is owned by the catalog (the monolith's, not migrated). The
 * other contexts extend it. SKUs are only unique within a base site, so each extension
 * `@requires` the product's `site`: the gateway fetches it from the catalog with the key and
 * sends it in every entity representation, and a subgraph never has to guess the site.
 */

/**
 * No value types are shared between subgraphs: @mercuriusjs/gateway resolves a field whose type
 * several subgraphs declare from its parent object, which would skip the subgraph extending
 * Product with it. So pricing's `Price` and promotions' `Money` are distinct (same fields).
 */
const MONEY_FIELDS = `
  "Amount in minor units of the currency (cents, pence)."
  amount: Int!
  "ISO 4217 currency code."
  currency: String!
  "Display form, e.g. $1,301.54 or £12.00."
  formatted: String!
`;

export const CATALOG_SDL = `
extend type Query {
  "One product of a base site, or null when the catalog does not know the SKU."
  product(site: String!, sku: ID!): Product
  "Many products (at most 100 SKUs) in the order asked, null for each SKU the catalog does not know."
  products(site: String!, skus: [ID!]!): [Product]!
  "One page of the monolith's storefront search (its catalog index decides the order)."
  searchProducts(site: String!, query: String, page: Int, pageSize: Int, sort: String): ProductSearchPage!
}

type Product @key(fields: "sku") {
  sku: ID!
  "The base site the product was read from."
  site: String!
  name: String!
  summary: String
  manufacturer: String
  categories: [Category!]!
}

type Category {
  code: ID!
  name: String
}

type ProductSearchPage {
  products: [Product!]!
  pagination: Pagination!
}

type Pagination {
  currentPage: Int!
  pageSize: Int!
  totalPages: Int
  totalResults: Int
}
`;

export const PRICING_SDL = `
type Price {${MONEY_FIELDS}}
extend type Product @key(fields: "sku") {
  sku: ID! @external
  site: String! @external
  "The list price, or null when the product has no price (not purchasable)."
  price: Price @requires(fields: "site")
}
`;

export const INVENTORY_SDL = `
enum AvailabilityStatus {
  IN_STOCK
  LOW_STOCK
  OUT_OF_STOCK
}

type Availability {
  status: AvailabilityStatus!
  quantity: Int!
}

extend type Product @key(fields: "sku") {
  sku: ID! @external
  site: String! @external
  "Stock; a SKU the inventory does not know is OUT_OF_STOCK with quantity 0."
  availability: Availability @requires(fields: "site")
}
`;

export const PROMOTIONS_SDL = `
type Money {${MONEY_FIELDS}}
type ProductPromotion {
  code: ID!
  title: String!
}

extend type Product @key(fields: "sku") {
  sku: ID! @external
  site: String! @external
  "Product promotions that may apply to the product."
  promotions: [ProductPromotion!] @requires(fields: "site")
}

input CartEntryInput {
  sku: ID!
  "1..999"
  quantity: Int!
}

input CartInput {
  "1..100 entries; repeated SKUs are merged into one line, as the monolith does."
  entries: [CartEntryInput!]!
}

enum PromotionScope {
  ORDER
  PRODUCT
}

type CartEntry {
  entryNumber: Int!
  sku: ID!
  quantity: Int!
  unitPrice: Money!
  "quantity × unitPrice, before discounts"
  basePrice: Money!
  discount: Money!
  "basePrice − discount"
  total: Money!
  "true for an entry a gift-with-purchase promotion added"
  giveaway: Boolean!
}

type AppliedPromotion {
  code: ID!
  title: String!
  description: String!
  scope: PromotionScope!
  discount: Money!
  entryNumbers: [Int!]!
}

type CartEvaluation {
  currency: String!
  entries: [CartEntry!]!
  appliedPromotions: [AppliedPromotion!]!
  subTotal: Money!
  productDiscounts: Money!
  orderDiscounts: Money!
  totalDiscounts: Money!
  total: Money!
  tax: Money!
  totalWithTax: Money!
}

extend type Query {
  "Prices a cart and applies promotions, statelessly (nothing is stored)."
  evaluateCart(site: String!, cart: CartInput!): CartEvaluation!
}
`;

/**
 * The SDL of the catalog and of each shipped context, by name (the contexts' descriptors,
 * src/contexts/<ctx>/index.ts, take theirs from here; the composed list is
 * src/graphql/subgraphs/index.ts localSubgraphs()).
 */
export const SUBGRAPH_SDL = Object.freeze({
  catalog: CATALOG_SDL,
  pricing: PRICING_SDL,
  inventory: INVENTORY_SDL,
  promotions: PROMOTIONS_SDL,
});

export type SubgraphName = keyof typeof SUBGRAPH_SDL;
