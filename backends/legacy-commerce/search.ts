/**
 * Product search of the legacy simulator (a stand-in for SAP's Solr search): free text over
 * name / code / manufacturer (case-insensitive, every word must match), OCC's
 * `text:sort:facet:value:…` query syntax for `category` / `manufacturer` / `code` facets, the six SAP
 * sorts, stable ordering (ties broken by code). Sorted code lists are computed once per
 * (site, sort) and filtered per query, so a search is one linear scan.
 */
import { allProducts, getProduct, type SeedProduct, type SiteDef } from '../kit/seed.js';
import { averageRatingOf } from './occ-format.js';

export const SORTS = [
  { code: 'relevance', name: 'Relevance' },
  { code: 'topRated', name: 'Top Rated' },
  { code: 'name-asc', name: 'Name (ascending)' },
  { code: 'name-desc', name: 'Name (descending)' },
  { code: 'price-asc', name: 'Price (lowest first)' },
  { code: 'price-desc', name: 'Price (highest first)' },
] as const;
export type SortCode = (typeof SORTS)[number]['code'];

export function isSortCode(s: string): s is SortCode {
  return SORTS.some((x) => x.code === s);
}

interface Indexed {
  product: SeedProduct;
  haystack: string;
  categories: readonly string[];
  manufacturer: string;
  rating: number;
}

const indexes = new Map<string, Indexed[]>();
const codeIndexes = new Map<string, Map<string, Indexed>>();

function indexedByCode(site: SiteDef): Map<string, Indexed> {
  let m = codeIndexes.get(site.id);
  if (!m) {
    m = new Map(indexOf(site).map((i) => [i.product.code, i]));
    codeIndexes.set(site.id, m);
  }
  return m;
}
const sorted = new Map<string, Indexed[]>();

function indexOf(site: SiteDef): Indexed[] {
  let idx = indexes.get(site.id);
  if (!idx) {
    idx = [];
    for (const p of allProducts(site.id)) {
      idx.push({
        product: p,
        haystack: `${p.name}\n${p.code}\n${p.manufacturer}`.toLowerCase(),
        categories: p.categories.map((c) => c.code),
        manufacturer: p.manufacturer.toLowerCase(),
        rating: averageRatingOf(p.code),
      });
    }
    indexes.set(site.id, idx);
  }
  return idx;
}

const byCode = (a: Indexed, b: Indexed): number => (a.product.code < b.product.code ? -1 : a.product.code > b.product.code ? 1 : 0);
const byName = (a: Indexed, b: Indexed): number => (a.product.name < b.product.name ? -1 : a.product.name > b.product.name ? 1 : 0);

const COMPARATORS: Record<SortCode, (a: Indexed, b: Indexed) => number> = {
  relevance: byCode,
  topRated: (a, b) => b.rating - a.rating || byCode(a, b),
  'name-asc': (a, b) => byName(a, b) || byCode(a, b),
  'name-desc': (a, b) => byName(b, a) || byCode(a, b),
  'price-asc': (a, b) => a.product.priceMinor - b.product.priceMinor || byCode(a, b),
  'price-desc': (a, b) => b.product.priceMinor - a.product.priceMinor || byCode(a, b),
};

function sortedOf(site: SiteDef, sort: SortCode): Indexed[] {
  const k = `${site.id}|${sort}`;
  let list = sorted.get(k);
  if (!list) {
    list = [...indexOf(site)].sort(COMPARATORS[sort]);
    sorted.set(k, list);
  }
  return list;
}

export interface ParsedQuery {
  freeText: string;
  /** sort named inside the query (`text:price-asc:…`), overriding the `sort` parameter */
  sort: SortCode | undefined;
  filters: { key: string; value: string }[];
}

/** OCC query syntax: `freeText[:sort[:facetKey:facetValue]…]`. */
export function parseQuery(query: string): ParsedQuery {
  const parts = query.split(':');
  const freeText = (parts[0] ?? '').trim();
  const sortPart = parts[1]?.trim();
  const filters: { key: string; value: string }[] = [];
  for (let i = 2; i + 1 < parts.length; i += 2) {
    const k = parts[i]?.trim();
    const v = parts[i + 1]?.trim();
    if (k && v) filters.push({ key: k, value: v });
  }
  return { freeText, sort: sortPart && isSortCode(sortPart) ? sortPart : undefined, filters };
}

export interface SearchResult {
  freeText: string;
  sort: SortCode;
  total: number;
  page: SeedProduct[];
}

export function searchProducts(site: SiteDef, query: string, sort: SortCode, currentPage: number, pageSize: number): SearchResult {
  const q = parseQuery(query);
  const effectiveSort = q.sort ?? sort;
  const list = sortedOf(site, effectiveSort);
  const words = q.freeText.toLowerCase().split(/\s+/).filter(Boolean);
  const filters = q.filters.map((f) => ({ key: f.key, value: f.value.toLowerCase(), raw: f.value }));
  const start = currentPage * pageSize;
  const end = start + pageSize;
  const page: SeedProduct[] = [];
  let total = 0;
  const codes = filters.filter((f) => f.key === 'code').map((f) => f.raw);
  const unfiltered = words.length === 0 && filters.length === 0;
  if (codes.length > 0) {
    // `:code:A:code:B` (values of one facet are OR'ed, as in Solr): a direct lookup rather than
    // a scan, since storefronts and the gateway use it to fetch a known set of products.
    const others = filters.filter((f) => f.key !== 'code');
    const found = [...new Set(codes)]
      .map((c) => getProduct(site.id, c))
      .filter((p): p is SeedProduct => p !== undefined)
      .map((p) => indexedByCode(site).get(p.code) as Indexed)
      .filter((item) => matches(item, words, others))
      .sort(COMPARATORS[effectiveSort]);
    total = found.length;
    for (let i = start; i < Math.min(end, found.length); i++) page.push((found[i] as Indexed).product);
  } else if (unfiltered) {
    total = list.length;
    for (let i = start; i < Math.min(end, list.length); i++) page.push((list[i] as Indexed).product);
  } else {
    for (const item of list) {
      if (!matches(item, words, filters)) continue;
      if (total >= start && total < end) page.push(item.product);
      total++;
    }
  }
  return { freeText: q.freeText, sort: effectiveSort, total, page };
}

function matches(item: Indexed, words: string[], filters: { key: string; value: string; raw: string }[]): boolean {
  for (const w of words) if (!item.haystack.includes(w)) return false;
  for (const f of filters) {
    if (f.key === 'category' || f.key === 'allCategories') {
      if (!item.categories.includes(f.raw)) return false;
    } else if (f.key === 'manufacturer' || f.key === 'brand') {
      if (item.manufacturer !== f.value) return false;
    }
    // `code` is handled by the caller; unknown facet keys are ignored, as Solr ignores unknown indexed properties
  }
  return true;
}
