/**
 * Money display, as docs/CONTRACTS.md fixes it for both OCC's `formattedValue` and the new
 * services' GraphQL `formatted`: currency symbol, `,` thousands separators, two decimals, a
 * leading `-` for negative amounts (`$1,301.54`, `£12.00`, `-$0.50`).
 */

const SYMBOLS: Readonly<Record<string, string>> = { USD: '$', GBP: '£', EUR: '€' };

/** Minor units → major units as a JSON number (130154 → 1301.54). */
export function toMajor(minor: number): number {
  return minor / 100;
}

/** `$1,301.54` / `£1,301.54`; an unknown currency is written as its code and a space (`CHF 5.00`). */
export function formatMoney(minor: number, currency: string): string {
  const abs = Math.abs(minor);
  const units = Math.floor(abs / 100);
  const cents = abs - units * 100;
  let grouped = '';
  let rest = String(units);
  while (rest.length > 3) {
    grouped = `,${rest.slice(-3)}${grouped}`;
    rest = rest.slice(0, -3);
  }
  grouped = rest + grouped;
  const symbol = SYMBOLS[currency] ?? `${currency} `;
  return `${minor < 0 ? '-' : ''}${symbol}${grouped}.${String(cents).padStart(2, '0')}`;
}
