/**
 * The one deterministic seed both worlds (legacy OCC simulator and the new services) read from,
 * so that they agree on every value unless a drift is injected on purpose (CONTRACTS.md "Seed").
 *
 * Product i of a site is a pure function of (site, i): a mulberry32 PRNG is keyed per site and
 * index, so any product is computable in O(1) and generation order never matters. Results are
 * cached lazily.
 */
import type { Promotion } from '../contract/model.js';

export type SiteId = 'electronics-spa' | 'apparel-uk';

export interface SiteDef {
  id: SiteId;
  name: string;
  currency: 'USD' | 'GBP';
  locale: 'en-US' | 'en-GB';
  catalogId: string;
  catalogVersion: 'Online';
  /** e.g. 0.07 for 7 %; the engine converts it to basis points for exact integer rounding */
  taxRate: number;
  productCount: number;
}

export const SITES: readonly SiteDef[] = Object.freeze([
  {
    id: 'electronics-spa',
    name: 'Electronics Site',
    currency: 'USD',
    locale: 'en-US',
    catalogId: 'electronicsProductCatalog',
    catalogVersion: 'Online',
    taxRate: 0.07,
    productCount: 10_000,
  },
  {
    id: 'apparel-uk',
    name: 'Apparel Site UK',
    currency: 'GBP',
    locale: 'en-GB',
    catalogId: 'apparelProductCatalog',
    catalogVersion: 'Online',
    taxRate: 0.2,
    productCount: 10_000,
  },
] satisfies SiteDef[]);

export function getSite(id: string): SiteDef | undefined {
  return SITES.find((s) => s.id === id);
}

export interface SeedCategory {
  code: string;
  name: string;
}

export interface SeedProduct {
  code: string;
  name: string;
  summary: string;
  description: string;
  manufacturer: string;
  categories: SeedCategory[];
  priceMinor: number;
  stockQuantity: number;
}

// ---------------------------------------------------------------------------------------------
// Catalog vocabulary. Each "type" category has a weight (share of products, in %), a price range
// in minor units and name parts; brands double as SAP-style `brand_N` categories.

interface TypeCategory extends SeedCategory {
  weight: number;
  minPrice: number;
  maxPrice: number;
  noun: string;
  series: readonly string[];
  features: readonly string[];
}

interface SiteVocabulary {
  codePrefix: string;
  types: readonly TypeCategory[];
  brands: readonly SeedCategory[];
}

const ELECTRONICS: SiteVocabulary = {
  codePrefix: '1',
  types: [
    { code: '575', name: 'Digital Cameras', weight: 10, minPrice: 9_900, maxPrice: 120_000, noun: 'Digital Camera', series: ['PowerShot', 'Cyber-shot', 'Coolpix', 'Lumix', 'WB'], features: ['20.1MP sensor', '30x optical zoom', 'Wi-Fi and NFC', '4K video'] },
    { code: '578', name: 'Digital SLR', weight: 8, minPrice: 45_000, maxPrice: 250_000, noun: 'Digital SLR', series: ['EOS', 'Alpha', 'D', 'NX', 'K'], features: ['full-frame sensor', '45-point autofocus', 'weather sealing', 'dual card slots'] },
    { code: '584', name: 'Compact Cameras', weight: 8, minPrice: 5_900, maxPrice: 45_000, noun: 'Compact Camera', series: ['IXUS', 'DSC-W', 'Coolpix S', 'ST'], features: ['pocket-sized body', 'image stabilisation', '8x zoom', 'smile shutter'] },
    { code: '827', name: 'Camcorders', weight: 12, minPrice: 19_900, maxPrice: 180_000, noun: 'Camcorder', series: ['LEGRIA HF', 'Handycam HDR', 'HMX', 'Everio'], features: ['Full HD recording', '57x advanced zoom', 'optical SteadyShot', 'built-in projector'] },
    { code: '588', name: 'Camera Lenses', weight: 12, minPrice: 12_900, maxPrice: 240_000, noun: 'Lens', series: ['EF 50mm f/1.8', 'FE 24-70mm f/2.8', 'AF-S 35mm f/1.4', 'EF-S 18-135mm', 'FE 70-200mm f/4'], features: ['ultrasonic motor', 'image stabiliser', 'nano coating', 'dust and moisture resistant'] },
    { code: '902', name: 'Memory Cards', weight: 12, minPrice: 99, maxPrice: 14_900, noun: 'Memory Card', series: ['SDHC 16GB', 'SDXC 64GB', 'microSDXC 128GB', 'CompactFlash 32GB', 'SDXC 256GB'], features: ['UHS-I U3', 'up to 90 MB/s read', 'waterproof', 'X-ray proof'] },
    { code: '597', name: 'Tripods', weight: 10, minPrice: 1_999, maxPrice: 39_900, noun: 'Tripod', series: ['Compact', 'Travel', 'Pro', 'Gorilla'], features: ['aluminium legs', 'quick-release plate', '3-way pan head', 'carry bag included'] },
    { code: '585', name: 'Camera Flashes', weight: 10, minPrice: 4_900, maxPrice: 59_900, noun: 'Flash', series: ['Speedlite 430EX', 'HVL-F43M', 'SB-700', 'SEF-42A'], features: ['guide number 43', 'wireless TTL', 'bounce and swivel head', 'LED video light'] },
    { code: '816', name: 'Power Supplies', weight: 10, minPrice: 1_499, maxPrice: 12_900, noun: 'Battery Pack', series: ['LP-E6', 'NP-FW50', 'EN-EL15', 'BP-1130'], features: ['1865 mAh', 'InfoLithium', 'fast charging', 'charge indicator'] },
    { code: '1288', name: 'Camera Accessories', weight: 8, minPrice: 999, maxPrice: 24_900, noun: 'Camera Bag', series: ['Shoulder', 'Backpack', 'Holster', 'Sling'], features: ['padded dividers', 'rain cover', 'tablet pocket', 'tripod straps'] },
  ],
  brands: [
    { code: 'brand_10', name: 'Canon' },
    { code: 'brand_5', name: 'Sony' },
    { code: 'brand_18', name: 'Nikon' },
    { code: 'brand_26', name: 'Samsung' },
    { code: 'brand_2171', name: 'Kingston' },
    { code: 'brand_75', name: 'Panasonic' },
  ],
};

const APPAREL: SiteVocabulary = {
  codePrefix: '3',
  types: [
    { code: '250100', name: 'Shirts', weight: 12, minPrice: 1_499, maxPrice: 8_900, noun: 'Shirt', series: ['Oxford', 'Flannel', 'Denim', 'Linen'], features: ['organic cotton', 'button-down collar', 'slim fit', 'chest pocket'] },
    { code: '250200', name: 'T-Shirts', weight: 12, minPrice: 999, maxPrice: 4_500, noun: 'T-Shirt', series: ['Logo', 'Graphic', 'Basic', 'Pocket'], features: ['crew neck', 'ringspun cotton', 'screen-printed', 'relaxed fit'] },
    { code: '250300', name: 'Hoodies', weight: 12, minPrice: 2_999, maxPrice: 11_900, noun: 'Hoodie', series: ['Zip', 'Pullover', 'Heavyweight', 'Tech'], features: ['brushed fleece lining', 'kangaroo pocket', 'adjustable hood', 'ribbed cuffs'] },
    { code: '250400', name: 'Snow Jackets', weight: 10, minPrice: 8_900, maxPrice: 59_900, noun: 'Snow Jacket', series: ['Alpine', 'Backcountry', 'Park', 'Storm'], features: ['10K waterproof membrane', 'taped seams', 'powder skirt', 'pit zips'] },
    { code: '250500', name: 'Snow Pants', weight: 8, minPrice: 6_900, maxPrice: 39_900, noun: 'Snow Pant', series: ['Cargo', 'Bib', 'Shell', 'Insulated'], features: ['boot gaiters', 'reinforced hems', 'vent zips', 'adjustable waist'] },
    { code: '250600', name: 'Sunglasses', weight: 10, minPrice: 2_499, maxPrice: 24_900, noun: 'Sunglasses', series: ['Aviator', 'Wayfarer', 'Wrap', 'Round'], features: ['polarised lenses', 'UV400 protection', 'acetate frame', 'mirror coating'] },
    { code: '250700', name: 'Caps', weight: 10, minPrice: 1_299, maxPrice: 3_999, noun: 'Cap', series: ['Snapback', 'Trucker', 'Five-Panel', 'Dad'], features: ['embroidered logo', 'curved peak', 'mesh back', 'adjustable strap'] },
    { code: '250800', name: 'Beanies', weight: 8, minPrice: 999, maxPrice: 3_499, noun: 'Beanie', series: ['Cuffed', 'Slouch', 'Pom', 'Fisherman'], features: ['merino wool', 'fleece lining', 'rib knit', 'woven label'] },
    { code: '250900', name: 'Shoes', weight: 10, minPrice: 3_999, maxPrice: 18_900, noun: 'Shoe', series: ['Skate', 'Runner', 'High-Top', 'Slip-On'], features: ['vulcanised sole', 'suede upper', 'padded collar', 'waffle grip'] },
    { code: '251000', name: 'Bags', weight: 8, minPrice: 1_999, maxPrice: 14_900, noun: 'Backpack', series: ['Day', 'Roll-Top', 'Board', 'Messenger'], features: ['laptop sleeve', 'water-resistant fabric', 'board straps', 'hidden pocket'] },
  ],
  brands: [
    { code: 'brand_370', name: 'Burton' },
    { code: 'brand_745', name: 'Quiksilver' },
    { code: 'brand_376', name: 'Roxy' },
    { code: 'brand_2020', name: 'Volcom' },
    { code: 'brand_303', name: 'Oakley' },
    { code: 'brand_95', name: 'Billabong' },
  ],
};

const VOCABULARY: Record<SiteId, SiteVocabulary> = {
  'electronics-spa': ELECTRONICS,
  'apparel-uk': APPAREL,
};

/** The fixed category list of a site (type categories then brand categories). */
export function categoriesFor(site: string): readonly SeedCategory[] {
  const v = vocabularyOf(site);
  if (!v) return [];
  return [...v.types.map(({ code, name }) => ({ code, name })), ...v.brands];
}

function vocabularyOf(site: string): SiteVocabulary | undefined {
  return getSite(site) ? VOCABULARY[site as SiteId] : undefined;
}

// ---------------------------------------------------------------------------------------------
// PRNG

/** mulberry32: tiny, fast, good enough distribution for test data; never Math.random. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a, to turn the site id into a PRNG key. */
function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function rngFor(site: string, index: number): () => number {
  // golden-ratio stride so neighbouring indexes get unrelated streams
  return mulberry32(hashString(site) ^ Math.imul(index + 1, 0x9e3779b1));
}

function pick<T>(rand: () => number, items: readonly T[]): T {
  const item = items[Math.floor(rand() * items.length)];
  if (item === undefined) throw new Error('pick from empty list');
  return item;
}

function intBetween(rand: () => number, min: number, max: number): number {
  return min + Math.floor(rand() * (max - min + 1));
}

function pickWeighted(rand: () => number, types: readonly TypeCategory[]): TypeCategory {
  const total = types.reduce((sum, t) => sum + t.weight, 0);
  let r = rand() * total;
  for (const t of types) {
    r -= t.weight;
    if (r < 0) return t;
  }
  return types[types.length - 1] as TypeCategory;
}

// ---------------------------------------------------------------------------------------------
// Products

const CODE_DIGITS = 6;

function codeOf(v: SiteVocabulary, index: number): string {
  return v.codePrefix + String(index).padStart(CODE_DIGITS, '0');
}

/** ~8 % out of stock, ~12 % low (1..9), the rest 10..500. */
function stockFor(rand: () => number): number {
  const r = rand();
  if (r < 0.08) return 0;
  if (r < 0.2) return intBetween(rand, 1, 9);
  return intBetween(rand, 10, 500);
}

/** Prices end in 9 or 99 like a real shop, inside the contract's 99..250000 range. */
function priceFor(rand: () => number, t: TypeCategory): number {
  const raw = intBetween(rand, t.minPrice, t.maxPrice);
  const rounded = raw >= 1_000 ? Math.floor(raw / 100) * 100 + 99 : Math.floor(raw / 10) * 10 + 9;
  return Math.min(250_000, Math.max(99, rounded));
}

function generate(site: SiteId, index: number): SeedProduct {
  const v = VOCABULARY[site];
  const rand = rngFor(site, index);
  const type = pickWeighted(rand, v.types);
  const brand = pick(rand, v.brands);
  const series = pick(rand, type.series);
  const model = intBetween(rand, 100, 999);
  const feature1 = pick(rand, type.features);
  const feature2 = pick(rand, type.features);
  const withBrandCategory = rand() < 0.5;
  const priceMinor = priceFor(rand, type);
  const stockQuantity = stockFor(rand);
  const name = `${brand.name} ${series} ${model} ${type.noun}`;
  const features = feature1 === feature2 ? feature1 : `${feature1} and ${feature2}`;
  return {
    code: codeOf(v, index),
    name,
    summary: `${type.noun} with ${features}.`,
    description: `The ${name} from ${brand.name} combines ${features}. Part of our ${type.name} range.`,
    manufacturer: brand.name,
    categories: withBrandCategory
      ? [{ code: type.code, name: type.name }, { code: brand.code, name: brand.name }]
      : [{ code: type.code, name: type.name }],
    priceMinor,
    stockQuantity,
  };
}

const productCache = new Map<SiteId, (SeedProduct | undefined)[]>();

function productAt(site: SiteDef, index: number): SeedProduct {
  let cache = productCache.get(site.id);
  if (!cache) {
    cache = new Array<SeedProduct | undefined>(site.productCount);
    productCache.set(site.id, cache);
  }
  let p = cache[index];
  if (!p) {
    p = generate(site.id, index);
    cache[index] = p;
  }
  return p;
}

/** O(1): the code encodes the index, so parse it and check the range. */
export function getProduct(siteId: string, code: string): SeedProduct | undefined {
  const site = getSite(siteId);
  if (!site) return undefined;
  const v = VOCABULARY[site.id];
  if (code.length !== v.codePrefix.length + CODE_DIGITS || !code.startsWith(v.codePrefix)) return undefined;
  const digits = code.slice(v.codePrefix.length);
  if (!/^\d+$/.test(digits)) return undefined;
  const index = Number(digits);
  if (index >= site.productCount) return undefined;
  return productAt(site, index);
}

const codeCache = new Map<SiteId, readonly string[]>();

export function listProductCodes(siteId: string): readonly string[] {
  const site = getSite(siteId);
  if (!site) return [];
  let codes = codeCache.get(site.id);
  if (!codes) {
    const v = VOCABULARY[site.id];
    codes = Object.freeze(Array.from({ length: site.productCount }, (_, i) => codeOf(v, i)));
    codeCache.set(site.id, codes);
  }
  return codes;
}

export function* allProducts(siteId: string): Iterable<SeedProduct> {
  const site = getSite(siteId);
  if (!site) return;
  for (let i = 0; i < site.productCount; i++) yield productAt(site, i);
}

export function availabilityStatus(quantity: number): 'IN_STOCK' | 'LOW_STOCK' | 'OUT_OF_STOCK' {
  if (quantity <= 0) return 'OUT_OF_STOCK';
  if (quantity < 10) return 'LOW_STOCK';
  return 'IN_STOCK';
}

// ---------------------------------------------------------------------------------------------
// Promotions (one of each kind per site, stable codes)

const START_DATE = '2026-01-01T00:00:00Z';
const END_DATE = '2027-12-31T23:59:59Z';

interface PromoPlan {
  threshold: number;
  discount: number;
  symbol: string;
  /** gift: qualifying categories, and the category the gift is taken from */
  giftCategories: string[];
  giftFrom: string;
  giftNoun: string;
  giftOn: string;
  pctCategories: string[];
  pct: number;
  pctOn: string;
  /** overlaps pctCategories on purpose: a BOGO entry of quantity 1 falls through to the percentage */
  bogoCategories: string[];
  bogoOn: string;
}

const PLANS: Record<SiteId, PromoPlan> = {
  'electronics-spa': {
    threshold: 20_000,
    discount: 1_500,
    symbol: '$',
    giftCategories: ['827'],
    giftFrom: '597',
    giftNoun: 'Tripod',
    giftOn: 'Camcorder',
    pctCategories: ['575', '578', '584'],
    pct: 10,
    pctOn: 'Cameras',
    bogoCategories: ['902', '584'],
    bogoOn: 'Memory Cards and Compact Cameras',
  },
  'apparel-uk': {
    threshold: 15_000,
    discount: 1_000,
    symbol: '£',
    giftCategories: ['250300'],
    giftFrom: '250800',
    giftNoun: 'Beanie',
    giftOn: 'Hoodie',
    pctCategories: ['250400', '250500'],
    pct: 15,
    pctOn: 'Snowwear',
    bogoCategories: ['250200', '250700'],
    bogoOn: 'T-Shirts and Caps',
  },
};

function formatMajor(minor: number, symbol: string): string {
  return minor % 100 === 0 ? `${symbol}${minor / 100}` : `${symbol}${(minor / 100).toFixed(2)}`;
}

/** The gift is the first in-stock product of the gift category: deterministic and orderable. */
function giftSkuFor(site: SiteDef, categoryCode: string): string {
  for (let i = 0; i < site.productCount; i++) {
    const p = productAt(site, i);
    if (p.stockQuantity > 0 && p.categories.some((c) => c.code === categoryCode)) return p.code;
  }
  throw new Error(`no product in gift category ${categoryCode} for ${site.id}`);
}

function buildPromotions(site: SiteDef): Promotion[] {
  const plan = PLANS[site.id];
  const money = (amount: number) => ({ amount, currency: site.currency });
  const base = { startDate: START_DATE, endDate: END_DATE };
  const promos: Promotion[] = [
    {
      ...base,
      code: `${site.id}-bogo`,
      title: `Buy one get one free on ${plan.bogoOn}`,
      description: `Buy one, get one free on all ${plan.bogoOn}: every second unit is free.`,
      kind: 'BUY_ONE_GET_ONE',
      scope: 'PRODUCT',
      priority: 400,
      categories: plan.bogoCategories,
    },
    {
      ...base,
      code: `${site.id}-category-pct`,
      title: `${plan.pct}% off all ${plan.pctOn}`,
      description: `Save ${plan.pct}% on all ${plan.pctOn}.`,
      kind: 'CATEGORY_PERCENTAGE',
      scope: 'PRODUCT',
      priority: 300,
      percentage: plan.pct,
      categories: plan.pctCategories,
    },
    {
      ...base,
      code: `${site.id}-gift`,
      title: `Free ${plan.giftNoun} with any ${plan.giftOn}`,
      description: `Buy any ${plan.giftOn} and get a free ${plan.giftNoun}.`,
      kind: 'GIFT_WITH_PURCHASE',
      scope: 'PRODUCT',
      priority: 200,
      categories: plan.giftCategories,
      giftSku: giftSkuFor(site, plan.giftFrom),
    },
    {
      ...base,
      code: `${site.id}-order-threshold`,
      title: `${formatMajor(plan.discount, plan.symbol)} off orders over ${formatMajor(plan.threshold, plan.symbol)}`,
      description: `Spend ${formatMajor(plan.threshold, plan.symbol)} or more and get ${formatMajor(plan.discount, plan.symbol)} off your order.`,
      kind: 'ORDER_THRESHOLD',
      scope: 'ORDER',
      priority: 100,
      threshold: money(plan.threshold),
      discount: money(plan.discount),
    },
  ];
  return promos.sort((a, b) => b.priority - a.priority);
}

const promoCache = new Map<SiteId, readonly Promotion[]>();

/** The site's promotions, priority desc. Frozen: callers share the cached objects. */
export function promotionsFor(siteId: string): readonly Promotion[] {
  const site = getSite(siteId);
  if (!site) return [];
  let promos = promoCache.get(site.id);
  if (!promos) {
    promos = Object.freeze(buildPromotions(site).map((p) => deepFreeze(p)));
    promoCache.set(site.id, promos);
  }
  return promos;
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

/** True when a product promotion potentially applies to the product (shares a category). */
export function promotionQualifies(promo: Promotion, product: SeedProduct): boolean {
  const cats = promo.categories;
  if (promo.scope !== 'PRODUCT' || !cats) return false;
  return product.categories.some((c) => cats.includes(c.code));
}

export function productPromotions(siteId: string, code: string): { code: string; title: string }[] {
  const product = getProduct(siteId, code);
  if (!product) return [];
  return promotionsFor(siteId)
    .filter((p) => promotionQualifies(p, product))
    .map((p) => ({ code: p.code, title: p.title }));
}
