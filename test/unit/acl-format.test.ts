import t from 'tap';
import { Type } from '@sinclair/typebox';
import { all, fail, MAX_ERRORS, ok, pointer, prefixErrors, validator } from '../../src/domain/map-result.js';
import {
  availabilityStatus,
  formatMoney,
  formatOccDate,
  fromOccPrice,
  isExactMajor,
  isOccDate,
  parseOccDate,
  stockLevelStatus,
  toMajor,
  toMinor,
  toOccPrice,
  tryParseOccDate,
} from '../../src/occ/format.js';

t.test('formatMoney: symbol, thousands separators, two decimals', async (t) => {
  const cases: [number, string, string][] = [
    [130154, 'USD', '$1,301.54'],
    [1200, 'GBP', '£12.00'],
    [0, 'USD', '$0.00'],
    [5, 'EUR', '€0.05'],
    [99, 'GBP', '£0.99'],
    [100000, 'USD', '$1,000.00'],
    [123456789, 'EUR', '€1,234,567.89'],
    [-1500, 'USD', '-$15.00'],
    [Number.MAX_SAFE_INTEGER, 'USD', '$90,071,992,547,409.91'],
  ];
  for (const [amount, currency, want] of cases) t.equal(formatMoney(amount, currency), want, `${amount} ${currency}`);
  t.throws(() => formatMoney(100, 'JPY'), RangeError, 'unsupported currency');
  t.throws(() => formatMoney(1.5, 'USD'), RangeError, 'minor units are integers');
});

t.test('toMajor / toMinor: exact, and round-trip', async (t) => {
  t.equal(toMajor(130154, 'USD'), 1301.54);
  t.equal(toMajor(0, 'GBP'), 0);
  t.ok(Object.is(toMajor(-0, 'GBP'), 0), 'no negative zero');
  t.equal(toMinor(1301.54, 'USD'), 130154, '1301.54 × 100 is 130153.99999999999 in binary');
  t.equal(toMinor(0.29, 'EUR'), 29);
  t.equal(toMinor(-12.34, 'GBP'), -1234);
  t.ok(Object.is(toMinor(-0.001, 'USD'), 0), 'rounds to 0, not -0');
  t.throws(() => toMinor(Number.NaN, 'USD'), RangeError);
  t.throws(() => toMinor(1e300, 'USD'), RangeError, 'beyond safe integers');
  t.throws(() => toMajor(0.5, 'USD'), RangeError);
  for (let amount = 0; amount <= 100_000; amount += 7) {
    if (toMinor(toMajor(amount, 'USD'), 'USD') !== amount) t.fail(`round trip ${amount}`);
    if (JSON.parse(JSON.stringify(toMajor(amount, 'GBP'))) !== toMajor(amount, 'GBP')) t.fail(`JSON ${amount}`);
  }
  t.ok(isExactMajor(1301.54, 'USD'));
  t.notOk(isExactMajor(1301.545, 'USD'));
  t.notOk(isExactMajor(Number.POSITIVE_INFINITY, 'USD'));
});

t.test('OCC price conversions', async (t) => {
  t.same(toOccPrice({ amount: 130154, currency: 'USD' }), { currencyIso: 'USD', value: 1301.54, formattedValue: '$1,301.54', priceType: 'BUY' });
  t.same(fromOccPrice({ currencyIso: 'GBP', value: 12, formattedValue: '£12.00', priceType: 'BUY' }), ok({ amount: 1200, currency: 'GBP' }));
  const bad = fromOccPrice({ currencyIso: 'XXX', value: 1, formattedValue: '', priceType: 'BUY' }, '/entries/0/basePrice');
  t.equal(bad.ok ? '' : bad.errors[0]?.path, '/entries/0/basePrice/currencyIso', 'errors are placed under the given pointer');
});

t.test('OCC dates', async (t) => {
  t.equal(formatOccDate('2026-01-01T00:00:00Z'), '2026-01-01T00:00:00+0000');
  t.equal(formatOccDate('2027-12-31T23:59:59Z'), '2027-12-31T23:59:59+0000');
  t.equal(formatOccDate('2026-01-01T01:30:00+01:00'), '2026-01-01T00:30:00+0000', 'converted to UTC');
  t.equal(formatOccDate('2026-06-15T12:00:00.987Z'), '2026-06-15T12:00:00+0000', 'OCC has no fractions');
  t.throws(() => formatOccDate('2026-01-01'), RangeError, 'a date without time');
  t.throws(() => formatOccDate('2026-02-30T00:00:00Z'), RangeError, 'not a calendar date');
  t.equal(parseOccDate('2026-01-01T00:00:00+0000'), '2026-01-01T00:00:00Z');
  t.equal(parseOccDate('2026-01-01T02:00:00+0200'), '2026-01-01T00:00:00Z', 'any RFC 822 zone');
  t.equal(parseOccDate('2025-12-31T19:00:00-0500'), '2026-01-01T00:00:00Z');
  t.equal(parseOccDate('0050-03-01T00:00:00+0000'), '0050-03-01T00:00:00Z', 'two-digit years are not 19xx');
  for (const bad of ['2026-01-01T00:00:00Z', '2026-01-01T00:00:00+00:00', '2026-13-01T00:00:00+0000', '2026-02-29T00:00:00+0000', '2026-01-01T24:00:00+0000', '2026-01-01 00:00:00+0000', '']) {
    t.equal(tryParseOccDate(bad), undefined, `rejects ${JSON.stringify(bad)}`);
    t.notOk(isOccDate(bad));
    t.throws(() => parseOccDate(bad), RangeError);
  }
  t.ok(isOccDate('2028-02-29T00:00:00+0000'), 'leap day');
  for (const iso of ['2026-01-01T00:00:00Z', '2027-12-31T23:59:59Z', '2024-02-29T12:34:56Z']) t.equal(parseOccDate(formatOccDate(iso)), iso, `round trip ${iso}`);
});

t.test('stock statuses, both ways', async (t) => {
  t.equal(stockLevelStatus('IN_STOCK'), 'inStock');
  t.equal(stockLevelStatus('LOW_STOCK'), 'lowStock');
  t.equal(stockLevelStatus('OUT_OF_STOCK'), 'outOfStock');
  for (const s of ['IN_STOCK', 'LOW_STOCK', 'OUT_OF_STOCK'] as const) t.equal(availabilityStatus(stockLevelStatus(s)), s);
});

t.test('validator: JSON Pointer paths, first error per path, at most 10', async (t) => {
  const check = validator(Type.Object({ a: Type.Integer(), list: Type.Array(Type.Object({ 'x/y': Type.String() })) }));
  t.same(check({ a: 1, list: [{ 'x/y': 'ok' }] }), ok({ a: 1, list: [{ 'x/y': 'ok' }] }));
  const r = check({ list: [{}, { 'x/y': 1 }] });
  t.notOk(r.ok);
  const errors = r.ok ? [] : r.errors;
  t.same(errors.map((e) => e.path), ['/a', '/list/0/x~1y', '/list/1/x~1y'], 'RFC 6901 escaping; one error per path');
  t.match(errors[0]?.message, /required/);
  const many = validator(Type.Array(Type.Integer()))(Array.from({ length: 50 }, () => 'x'));
  t.equal(many.ok ? 0 : many.errors.length, MAX_ERRORS);
  const root = validator(Type.Object({}))(null);
  t.equal(root.ok ? undefined : root.errors[0]?.path, '', 'the root is the empty pointer');
});

t.test('helpers', async (t) => {
  t.equal(pointer('/a', 'b/c', 0, 'd~e'), '/a/b~1c/0/d~0e');
  t.same(prefixErrors('/entries/2', [{ path: '/value', message: 'm' }]), [{ path: '/entries/2/value', message: 'm' }]);
  t.same(all([ok(1), ok(2)]), ok([1, 2]));
  t.same(all([ok(1), fail([{ path: '/x', message: 'm' }])]), { ok: false, errors: [{ path: '/x', message: 'm' }] });
  const capped = fail(Array.from({ length: 20 }, (_, i) => ({ path: `/${i}`, message: 'm' })));
  t.equal(capped.ok ? 0 : capped.errors.length, MAX_ERRORS);
});
