/**
 * Type-level contract: the legacy simulator's DTO builders produce what Spartacus (the reference
 * OCC client, @spartacus/core 4.x) expects. Checked by `tsc --noEmit`; nothing runs.
 *
 * Spartacus types dates as `Date` and enums as TS enums, while JSON carries strings: `Wire<T>`
 * maps `Date` to `string` and string enums to their string literal values.
 */
import type { Occ } from '@spartacus/core/src/occ/occ-models/occ.models.js';
import type { occCart, OccCartModification } from '../../backends/legacy-commerce/carts.js';
import type { occPrice, occProduct, occPromotion, occStock, OccErrorList, OccPotentialPromotion } from '../../backends/legacy-commerce/occ-format.js';

export type Wire<T> = T extends Date
  ? string
  : T extends string
    ? `${T}`
    : T extends readonly (infer U)[]
      ? Wire<U>[]
      : T extends object
        ? { [K in keyof T]: Wire<T[K]> }
        : T;

/** Compiles only when A is assignable to B. */
type Assignable<A extends B, B> = A;

export type Checks = [
  Assignable<ReturnType<typeof occProduct>, Wire<Occ.Product>>,
  Assignable<ReturnType<typeof occPrice>, Wire<Occ.Price>>,
  Assignable<ReturnType<typeof occStock>, Wire<Occ.Stock>>,
  Assignable<ReturnType<typeof occPromotion>, Wire<Occ.Promotion>>,
  Assignable<OccPotentialPromotion, Wire<Occ.Promotion>>,
  Assignable<ReturnType<typeof occCart>, Wire<Occ.Cart>>,
  Assignable<OccCartModification, Wire<Occ.CartModification>>,
  Assignable<OccErrorList, Wire<Occ.ErrorList>>,
  Assignable<SearchPage, Wire<Occ.ProductSearchPage>>,
  Assignable<{ promotions: ReturnType<typeof occPromotion>[] }, Wire<Occ.PromotionList>>,
];

/** The search page as `backends/legacy-commerce/server.ts` assembles it. */
interface SearchPage {
  breadcrumbs: never[];
  currentQuery: { query: { value: string }; url: string };
  facets: never[];
  freeTextSearch: string;
  pagination: { currentPage: number; pageSize: number; sort: string; totalPages: number; totalResults: number };
  products: ReturnType<typeof occProduct>[];
  sorts: { code: string; name: string; selected: boolean }[];
}

// Negative control: a wrong wire type must be rejected.
// @ts-expect-error value must be a number, not a formatted string
export type MustFail = Assignable<{ value: string }, Wire<Occ.Price>>;
