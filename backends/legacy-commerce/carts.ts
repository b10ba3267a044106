/**
 * In-memory cart store and OCC cart DTOs of the legacy simulator. Carts hold only the paid
 * entries `{code, quantity}`; prices, discounts, gift entries and totals are recomputed on every
 * read by the shared promotion engine (CONTRACTS.md "Cart evaluation"), with seed prices.
 */
import { randomUUID } from 'node:crypto';
import type { Evaluation as CartEvaluation } from '../contract/model.js';
import { evaluateCart } from '../kit/promotion-engine.js';
import { getProduct, type SiteDef } from '../kit/seed.js';
import { occImages, occPrice, occStock, PROMOTION_TYPE, toMajor, type OccImage, type OccPrice, type OccStock } from './occ-format.js';

export const ANONYMOUS = 'anonymous';

export interface StoredEntry {
  code: string;
  quantity: number;
}

export interface StoredCart {
  site: string;
  code: string;
  guid: string;
  /** 'anonymous', or the user key (email, or `token:<bearer>` for `current`) */
  owner: string;
  /** the uid shown in the cart's `user` */
  uid: string;
  entries: StoredEntry[];
  createdAt: number;
}

/** Bounded in-memory store: the oldest carts are evicted beyond `maxCarts` (load tests create many). */
export class CartStore {
  private readonly byCode = new Map<string, StoredCart>();
  private readonly byGuid = new Map<string, StoredCart>();
  private seq = 0;

  constructor(private readonly maxCarts = 100_000) {}

  get size(): number {
    return this.byCode.size;
  }

  create(site: string, owner: string, uid: string): StoredCart {
    this.seq += 1;
    const cart: StoredCart = {
      site,
      code: String(this.seq).padStart(8, '0'),
      guid: randomUUID(),
      owner,
      uid,
      entries: [],
      createdAt: Date.now(),
    };
    this.byCode.set(key(site, cart.code), cart);
    this.byGuid.set(key(site, cart.guid), cart);
    while (this.byCode.size > this.maxCarts) {
      const oldest = this.byCode.values().next();
      if (oldest.done) break;
      this.remove(oldest.value);
    }
    return cart;
  }

  /** Anonymous carts are addressed by guid, user carts by code (`current` = the user's latest cart). */
  find(site: string, owner: string, cartId: string): StoredCart | undefined {
    if (owner === ANONYMOUS) {
      const cart = this.byGuid.get(key(site, cartId));
      return cart?.owner === ANONYMOUS ? cart : undefined;
    }
    if (cartId === 'current') return this.list(site, owner).at(-1);
    const cart = this.byCode.get(key(site, cartId));
    return cart?.owner === owner ? cart : undefined;
  }

  /** A cart by guid, whoever owns it. */
  findByGuid(site: string, guid: string): StoredCart | undefined {
    return this.byGuid.get(key(site, guid));
  }

  /** Hands a cart to another owner (an anonymous cart taken over at login). */
  reassign(cart: StoredCart, owner: string, uid: string): void {
    cart.owner = owner;
    cart.uid = uid;
  }

  list(site: string, owner: string): StoredCart[] {
    const out: StoredCart[] = [];
    for (const cart of this.byCode.values()) if (cart.site === site && cart.owner === owner) out.push(cart);
    return out;
  }

  remove(cart: StoredCart): void {
    this.byCode.delete(key(cart.site, cart.code));
    this.byGuid.delete(key(cart.site, cart.guid));
  }
}

const key = (site: string, id: string): string => `${site}|${id}`;

// ---------------------------------------------------------------------------------------------
// DTOs

export interface OccEntryProduct {
  code: string;
  name: string;
  url: string;
  purchasable: boolean;
  stock: OccStock;
  images: OccImage[];
}

export interface OccOrderEntry {
  entryNumber: number;
  product: OccEntryProduct;
  quantity: number;
  basePrice: OccPrice;
  totalPrice: OccPrice;
  updateable: boolean;
}

export interface OccPromotionResult {
  promotion: { code: string; title: string; promotionType: string };
  description: string;
  consumedEntries: { orderEntryNumber: number; quantity: number; adjustedUnitPrice: number }[];
}

export interface OccCart {
  code: string;
  guid: string;
  entries: OccOrderEntry[];
  appliedProductPromotions: OccPromotionResult[];
  appliedOrderPromotions: OccPromotionResult[];
  appliedVouchers: never[];
  subTotal: OccPrice;
  productDiscounts: OccPrice;
  orderDiscounts: OccPrice;
  totalDiscounts: OccPrice;
  totalPrice: OccPrice;
  totalTax: OccPrice;
  totalPriceWithTax: OccPrice;
  totalItems: number;
  totalUnitCount: number;
  deliveryItemsQuantity: number;
  net: boolean;
  calculated: boolean;
  site: string;
  store: string;
  user: { uid: string; name: string };
}

export interface OccCartModification {
  statusCode: 'success' | 'lowStock' | 'noStock';
  statusMessage?: string;
  quantityAdded: number;
  quantity: number;
  entry: OccOrderEntry | Omit<OccOrderEntry, 'entryNumber'>;
  deliveryModeChanged: boolean;
}

export function entryProduct(site: SiteDef, code: string): OccEntryProduct {
  const p = getProduct(site.id, code);
  if (!p) return { code, name: code, url: `/p/${code}`, purchasable: false, stock: occStock(0), images: [] };
  return {
    code: p.code,
    name: p.name,
    url: `/p/${p.code}`,
    purchasable: true,
    stock: occStock(p.stockQuantity),
    images: occImages(p).filter((i) => i.format === 'thumbnail' || i.format === 'cartIcon'),
  };
}

/** Runs the shared engine on a stored cart with seed prices. */
export function evaluate(site: SiteDef, cart: StoredCart): CartEvaluation {
  return evaluateCart(
    site.id,
    cart.entries.map((e) => ({ sku: e.code, quantity: e.quantity, unitPrice: getProduct(site.id, e.code)?.priceMinor ?? 0 })),
  );
}

export function occCart(site: SiteDef, cart: StoredCart, ev: CartEvaluation = evaluate(site, cart)): OccCart {
  const cur = site.currency;
  const entries: OccOrderEntry[] = ev.entries.map((e) => ({
    entryNumber: e.entryNumber,
    product: entryProduct(site, e.sku),
    quantity: e.quantity,
    basePrice: occPrice(e.unitPrice.amount, cur),
    totalPrice: occPrice(e.total.amount, cur),
    updateable: !e.giveaway,
  }));
  const result = (a: CartEvaluation['appliedPromotions'][number]): OccPromotionResult => ({
    promotion: { code: a.code, title: a.title, promotionType: PROMOTION_TYPE },
    description: a.description,
    consumedEntries: a.entryNumbers.map((n) => {
      const e = ev.entries[n];
      const quantity = e?.quantity ?? 0;
      return {
        orderEntryNumber: n,
        quantity,
        adjustedUnitPrice: toMajor(e && quantity > 0 ? Math.round(e.total.amount / quantity) : 0),
      };
    }),
  });
  const totalUnitCount = ev.entries.reduce((s, e) => s + e.quantity, 0);
  return {
    code: cart.code,
    guid: cart.guid,
    entries,
    appliedProductPromotions: ev.appliedPromotions.filter((a) => a.scope === 'PRODUCT').map(result),
    appliedOrderPromotions: ev.appliedPromotions.filter((a) => a.scope === 'ORDER').map(result),
    appliedVouchers: [],
    subTotal: occPrice(ev.subTotal.amount, cur),
    productDiscounts: occPrice(ev.productDiscounts.amount, cur),
    orderDiscounts: occPrice(ev.orderDiscounts.amount, cur),
    totalDiscounts: occPrice(ev.totalDiscounts.amount, cur),
    totalPrice: occPrice(ev.total.amount, cur),
    totalTax: occPrice(ev.tax.amount, cur),
    totalPriceWithTax: occPrice(ev.totalWithTax.amount, cur),
    totalItems: entries.length,
    totalUnitCount,
    deliveryItemsQuantity: totalUnitCount,
    net: true,
    calculated: true,
    site: site.id,
    store: site.id,
    user: { uid: cart.uid, name: cart.uid === ANONYMOUS ? 'Anonymous' : cart.uid },
  };
}
