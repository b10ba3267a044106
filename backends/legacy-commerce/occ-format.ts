/**
 * OCC v2 wire formats and DTO builders of the legacy SAP Commerce simulator (CONTRACTS.md
 * "Legacy commerce"): money as major-unit JSON numbers plus a formatted string, SAP's date
 * format, camelCase stock statuses, "Rule Based Promotion"s. The DTO interfaces here are what
 * `test/contract/occ-types.ts` holds against Spartacus' `Occ` types.
 */
import type { Promotion } from '../contract/model.js';
import { formatMoney, toMajor } from '../contract/money.js';
import { productPromotions, promotionsFor, type SeedProduct, type SiteDef } from '../kit/seed.js';

// ---------------------------------------------------------------------------------------------
// DTO shapes (wire)

export interface OccPrice {
  currencyIso: string;
  value: number;
  formattedValue: string;
  priceType: 'BUY';
}

export type OccStockLevelStatus = 'inStock' | 'lowStock' | 'outOfStock';

export interface OccStock {
  stockLevel: number;
  stockLevelStatus: OccStockLevelStatus;
}

export interface OccImage {
  altText: string;
  format: string;
  imageType: 'PRIMARY';
  url: string;
}

export interface OccCategory {
  code: string;
  name: string;
  url: string;
}

export interface OccPromotion {
  code: string;
  title: string;
  description: string;
  promotionType: string;
  enabled: boolean;
  startDate: string;
  endDate: string;
  priority: number;
  promotionGroup: string;
}

export interface OccPotentialPromotion {
  code: string;
  title: string;
  description: string;
  promotionType: string;
  endDate: string;
}

export interface OccProduct {
  availableForPickup: boolean;
  averageRating: number;
  baseOptions: never[];
  categories: OccCategory[];
  code: string;
  description: string;
  images: OccImage[];
  manufacturer: string;
  name: string;
  numberOfReviews: number;
  potentialPromotions: OccPotentialPromotion[];
  price: OccPrice;
  purchasable: boolean;
  stock: OccStock;
  summary: string;
  url: string;
  volumePricesFlag: boolean;
}

export interface OccError {
  type: string;
  message: string;
  reason?: string;
  subject?: string;
  subjectType?: string;
}

export interface OccErrorList {
  errors: OccError[];
}

// ---------------------------------------------------------------------------------------------
// Formatting

export { formatMoney, toMajor };

export function occPrice(minor: number, currency: string): OccPrice {
  return { currencyIso: currency, value: toMajor(minor), formattedValue: formatMoney(minor, currency), priceType: 'BUY' };
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/** SAP's `yyyy-MM-dd'T'HH:mm:ss+0000` (UTC), from any `Date.parse`-able timestamp. */
export function occDate(iso: string | Date): string {
  const d = typeof iso === 'string' ? new Date(iso) : iso;
  if (Number.isNaN(d.getTime())) throw new RangeError(`invalid date: ${String(iso)}`);
  return (
    `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}` +
    `T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}+0000`
  );
}

/** Low-stock threshold: quantity < 10 (CONTRACTS "Seed"). */
export function stockLevelStatus(quantity: number): OccStockLevelStatus {
  if (quantity <= 0) return 'outOfStock';
  if (quantity < 10) return 'lowStock';
  return 'inStock';
}

export function occStock(quantity: number): OccStock {
  return { stockLevel: Math.max(0, quantity), stockLevelStatus: stockLevelStatus(quantity) };
}

export function errorList(type: string, message: string, extra?: Omit<OccError, 'type' | 'message'>): OccErrorList {
  return { errors: [{ type, message, ...extra }] };
}

// ---------------------------------------------------------------------------------------------
// Promotions

export const PROMOTION_TYPE = 'Rule Based Promotion';

export function occPromotion(site: SiteDef, p: Promotion): OccPromotion {
  return {
    code: p.code,
    title: p.title,
    description: p.description,
    promotionType: PROMOTION_TYPE,
    enabled: true,
    startDate: occDate(p.startDate),
    endDate: occDate(p.endDate),
    priority: p.priority,
    promotionGroup: `${site.id}PromoGrp`,
  };
}

// ---------------------------------------------------------------------------------------------
// Products

/** FNV-1a of the code: the source of the deterministic rating/review numbers. */
function codeHash(code: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < code.length; i++) {
    h ^= code.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Deterministic rating in 1.0..5.0 (one decimal). */
export function averageRatingOf(code: string): number {
  return (10 + (codeHash(code) % 41)) / 10;
}

export function numberOfReviewsOf(code: string): number {
  return (codeHash(code) >>> 8) % 60;
}

const IMAGE_FORMATS: readonly [string, string][] = [
  ['zoom', '1200Wx1200H'],
  ['product', '300Wx300H'],
  ['thumbnail', '96Wx96H'],
  ['cartIcon', '65Wx65H'],
];

export function occImages(p: SeedProduct): OccImage[] {
  return IMAGE_FORMATS.map(([format, size]) => ({
    altText: p.name,
    format,
    imageType: 'PRIMARY' as const,
    url: `/medias/${size}-${p.code}.jpg`,
  }));
}

export function occProduct(site: SiteDef, p: SeedProduct): OccProduct {
  const promos = new Set(productPromotions(site.id, p.code).map((x) => x.code));
  const potentialPromotions = promotionsFor(site.id)
    .filter((x) => promos.has(x.code))
    .map((x) => ({
      code: x.code,
      title: x.title,
      description: x.description,
      promotionType: PROMOTION_TYPE,
      endDate: occDate(x.endDate),
    }));
  return {
    availableForPickup: p.stockQuantity > 0 && codeHash(p.code) % 3 === 0,
    averageRating: averageRatingOf(p.code),
    baseOptions: [],
    categories: p.categories.map((c) => ({ code: c.code, name: c.name, url: `/c/${c.code}` })),
    code: p.code,
    description: p.description,
    images: occImages(p),
    manufacturer: p.manufacturer,
    name: p.name,
    numberOfReviews: numberOfReviewsOf(p.code),
    potentialPromotions,
    price: occPrice(p.priceMinor, site.currency),
    purchasable: true,
    stock: occStock(p.stockQuantity),
    summary: p.summary,
    url: `/p/${p.code}`,
    volumePricesFlag: false,
  };
}
