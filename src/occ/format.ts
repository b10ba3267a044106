/**
 * OCC wire formatting, shared by every context's ACL and by the gateway's OCC surface: money as
 * OCC writes it (major-unit JSON number + formatted string), OCC dates, stock status strings.
 * Canonical money is integer minor units (docs/ARCHITECTURE.md#canonical-model); the conversions here are exact for every
 * safe integer amount, so legacy → canonical → legacy round-trips byte for byte.
 */
import type { AvailabilityStatus, Money } from '../domain/model.js';
import { failAt, isRfc3339DateTime, isValidDateTimeParts, ok, type MapResult } from '../domain/map-result.js';
import type { OccPrice, OccStockLevelStatus } from './dto.js';

interface CurrencyInfo {
  /** ISO 4217 minor unit exponent */
  readonly exponent: number;
  readonly symbol: string;
}

/** The currencies the embedded world trades in; ISO 4217 minor units. */
const CURRENCIES: ReadonlyMap<string, CurrencyInfo> = new Map([
  ['USD', { exponent: 2, symbol: '$' }],
  ['GBP', { exponent: 2, symbol: '£' }],
  ['EUR', { exponent: 2, symbol: '€' }],
]);

export const SUPPORTED_CURRENCIES: readonly string[] = [...CURRENCIES.keys()];

export function isSupportedCurrency(currency: string): boolean {
  return CURRENCIES.has(currency);
}

function currencyInfo(currency: string): CurrencyInfo {
  const info = CURRENCIES.get(currency);
  if (!info) throw new RangeError(`Unsupported currency ${JSON.stringify(currency)}`);
  return info;
}

export function currencyExponent(currency: string): number {
  return currencyInfo(currency).exponent;
}

function assertSafeInteger(amountMinor: number): void {
  if (!Number.isSafeInteger(amountMinor)) throw new RangeError(`Amount ${amountMinor} is not a safe integer of minor units`);
}

/**
 * Minor → major units. Dividing an integer by 10^e gives the double nearest to the exact decimal,
 * i.e. the same double JSON.parse gives for OCC's `1301.54`, so the result is exact in that sense.
 */
export function toMajor(amountMinor: number, currency: string): number {
  assertSafeInteger(amountMinor);
  const { exponent } = currencyInfo(currency);
  return amountMinor / 10 ** exponent + 0; // + 0 turns -0 into 0
}

/** Major → minor units, rounding half away from zero (absorbs binary error: 1301.54 × 100 = 130153.99…). */
export function toMinor(value: number, currency: string): number {
  if (!Number.isFinite(value)) throw new RangeError(`Value ${value} is not a finite number`);
  const { exponent } = currencyInfo(currency);
  const scaled = Math.abs(value) * 10 ** exponent;
  const minor = Math.sign(value) * Math.round(scaled) + 0;
  assertSafeInteger(minor);
  return minor;
}

/** True when `value` has no more decimals than the currency's minor unit (12.345 USD has not). */
export function isExactMajor(value: number, currency: string): boolean {
  if (!Number.isFinite(value)) return false;
  const minor = Math.sign(value) * Math.round(Math.abs(value) * 10 ** currencyExponent(currency));
  return Number.isSafeInteger(minor) && toMajor(minor, currency) === value;
}

/** `$1,301.54`, `£12.00`, `-€0.50`: symbol, `,` thousands separators, exactly `exponent` decimals. */
export function formatMoney(amountMinor: number, currency: string): string {
  assertSafeInteger(amountMinor);
  const { exponent, symbol } = currencyInfo(currency);
  // String arithmetic: no float division, so no rounding surprises near 2^53.
  const digits = String(Math.abs(amountMinor)).padStart(exponent + 1, '0');
  const whole = digits.slice(0, digits.length - exponent).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const fraction = exponent > 0 ? `.${digits.slice(digits.length - exponent)}` : '';
  return `${amountMinor < 0 ? '-' : ''}${symbol}${whole}${fraction}`;
}

/**
 * Canonical money as an OCC Price. Key order is the legacy simulator's
 * (`backends/legacy-commerce/occ-format.ts` occPrice: `currencyIso, value, formattedValue,
 * priceType`), so the gateway's OCC answers are byte-identical whichever backend serves them.
 */
export function toOccPrice(money: Money): OccPrice {
  return {
    currencyIso: money.currency,
    value: toMajor(money.amount, money.currency),
    formattedValue: formatMoney(money.amount, money.currency),
    priceType: 'BUY',
  };
}

/**
 * A validated OCC Price as canonical money. `base` is the price's JSON Pointer in the payload,
 * so errors point at the offending field.
 */
export function fromOccPrice(price: OccPrice, base = ''): MapResult<Money> {
  if (!isSupportedCurrency(price.currencyIso)) {
    return failAt(`${base}/currencyIso`, `Unsupported currency ${JSON.stringify(price.currencyIso)} (supported: ${SUPPORTED_CURRENCIES.join(', ')})`);
  }
  if (!isExactMajor(price.value, price.currencyIso)) {
    return failAt(
      `${base}/value`,
      `Expected a ${price.currencyIso} amount with at most ${currencyExponent(price.currencyIso)} decimals, got ${price.value}`,
    );
  }
  return ok({ amount: toMinor(price.value, price.currencyIso), currency: price.currencyIso });
}

/** Like fromOccPrice, also requiring the currency the caller expects (a cart has one currency). */
export function fromOccPriceIn(price: OccPrice, currency: string, base: string): MapResult<Money> {
  if (price.currencyIso !== currency) {
    return failAt(`${base}/currencyIso`, `Expected currency ${currency}, got ${JSON.stringify(price.currencyIso)}`);
  }
  return fromOccPrice(price, base);
}

const OCC_DATE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})([+-])(\d{2})(\d{2})$/;

/** RFC 3339 → OCC `yyyy-MM-dd'T'HH:mm:ss+0000`, in UTC, to the second (OCC has no fractions). */
export function formatOccDate(rfc3339: string): string {
  if (!isRfc3339DateTime(rfc3339)) throw new RangeError(`Not an RFC 3339 date-time: ${JSON.stringify(rfc3339)}`);
  return `${new Date(rfc3339).toISOString().slice(0, 19)}+0000`;
}

/** Parses an OCC date (any `±hhmm` zone) to RFC 3339 UTC (`2026-01-01T00:00:00Z`); undefined if malformed. */
export function tryParseOccDate(s: string): string | undefined {
  const m = OCC_DATE.exec(s);
  if (!m) return undefined;
  const [y, mo, d, h, mi, se, sign, oh, om] = m.slice(1) as [string, string, string, string, string, string, string, string, string];
  const [year, month, day, hour, minute, second] = [y, mo, d, h, mi, se].map(Number) as [number, number, number, number, number, number];
  if (!isValidDateTimeParts(year, month, day, hour, minute, second) || Number(oh) > 23 || Number(om) > 59) return undefined;
  const offsetMs = (sign === '-' ? -1 : 1) * (Number(oh) * 60 + Number(om)) * 60_000;
  const utc = new Date(0);
  // setUTCFullYear, not Date.UTC: Date.UTC maps years 0..99 to 1900..1999.
  utc.setUTCFullYear(year, month - 1, day);
  utc.setUTCHours(hour, minute, second, 0);
  utc.setTime(utc.getTime() - offsetMs);
  return `${utc.toISOString().slice(0, 19)}Z`;
}

export function isOccDate(s: string): boolean {
  return tryParseOccDate(s) !== undefined;
}

export function parseOccDate(s: string): string {
  const parsed = tryParseOccDate(s);
  if (parsed === undefined) throw new RangeError(`Not an OCC date (yyyy-MM-dd'T'HH:mm:ss±hhmm): ${JSON.stringify(s)}`);
  return parsed;
}

const TO_OCC_STATUS = {
  IN_STOCK: 'inStock',
  LOW_STOCK: 'lowStock',
  OUT_OF_STOCK: 'outOfStock',
} as const satisfies Record<AvailabilityStatus, OccStockLevelStatus>;

const FROM_OCC_STATUS = {
  inStock: 'IN_STOCK',
  lowStock: 'LOW_STOCK',
  outOfStock: 'OUT_OF_STOCK',
} as const satisfies Record<OccStockLevelStatus, AvailabilityStatus>;

export function stockLevelStatus(status: AvailabilityStatus): OccStockLevelStatus {
  return TO_OCC_STATUS[status];
}

export function availabilityStatus(status: OccStockLevelStatus): AvailabilityStatus {
  return FROM_OCC_STATUS[status];
}
