/**
 * The new services' federation (v1) subgraphs, as docs/CONTRACTS.md "GraphQL subgraphs" specifies
 * them: each service extends the catalog's `Product @key(fields: "sku")` with its field, and
 * `@requires` the product's `site` because a SKU is unique only within a base site. Money-like
 * types are per subgraph (`Price` in pricing, `Money` in promotions): no value type is shared.
 */

const MONEY = `
  amount: Int!
  currency: String!
  "e.g. $1,301.54"
  formatted: String!
`;

const PRODUCT_KEY = `
  sku: ID! @external
  site: String! @external`;

export const PRICING_SUBGRAPH = `
type Price {${MONEY}}

extend type Product @key(fields: "sku") {${PRODUCT_KEY}
  "null: the product has no list price here"
  price: Price @requires(fields: "site")
}
`;

export const INVENTORY_SUBGRAPH = `
enum AvailabilityStatus {
  IN_STOCK
  LOW_STOCK
  OUT_OF_STOCK
}

type Availability {
  status: AvailabilityStatus!
  quantity: Int!
}

extend type Product @key(fields: "sku") {${PRODUCT_KEY}
  "an unknown SKU is OUT_OF_STOCK, quantity 0"
  availability: Availability @requires(fields: "site")
}
`;

export const PROMOTIONS_SUBGRAPH = `
type Money {${MONEY}}

type ProductPromotion {
  code: ID!
  title: String!
}

extend type Product @key(fields: "sku") {${PRODUCT_KEY}
  promotions: [ProductPromotion!] @requires(fields: "site")
}

input CartEntryInput {
  sku: ID!
  quantity: Int!
}

input CartInput {
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
  basePrice: Money!
  discount: Money!
  total: Money!
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
  "list prices from this service's catalogue; repeated SKUs merged into one line"
  evaluateCart(site: String!, cart: CartInput!): CartEvaluation!
}
`;
