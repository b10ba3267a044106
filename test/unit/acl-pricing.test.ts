import t from 'tap';
import { legacyPriceToMoney, moneyToOccPrice } from '../../src/contexts/pricing/legacy/mapper.js';
import { checkPrice, checkPriceBatch } from '../../src/contexts/pricing/modern/payload.js';
import type { Money } from '../../src/domain/model.js';
import { runFixtures } from './acl-fixtures.js';

t.test('golden fixtures', async (t) => {
  runFixtures(t, 'pricing', { legacyPriceToMoney, moneyToOccPrice, checkPriceBatch, checkPrice }, {
    mapResult: ['legacyPriceToMoney', 'checkPriceBatch', 'checkPrice'],
  });
});

/** Deterministic PRNG (mulberry32): the property checks are reproducible. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

t.test('round trip: legacyPriceToMoney(moneyToOccPrice(m)) equals m', async (t) => {
  const random = prng(20260101);
  const fixed = [0, 1, 99, 100, 101, 130154, 9999999, 123456789, 2 ** 40, Number.MAX_SAFE_INTEGER];
  const amounts = [...fixed, ...Array.from({ length: 5000 }, () => Math.floor(random() * 10 ** Math.ceil(random() * 12)))];
  for (const currency of ['USD', 'GBP']) {
    let failures = 0;
    for (const amount of amounts) {
      const m: Money = { amount, currency };
      const occ = moneyToOccPrice(m);
      const back = legacyPriceToMoney(JSON.parse(JSON.stringify(occ)));
      if (!back.ok || back.value.amount !== amount || back.value.currency !== currency) {
        failures++;
        t.fail(`${currency} ${amount}`, { occ, back });
      }
    }
    t.equal(failures, 0, `${amounts.length} ${currency} amounts round-trip`);
  }
});

t.test('round trip the other way: an OCC price the simulator writes comes back byte-identical', async (t) => {
  const random = prng(7);
  for (let i = 0; i < 2000; i++) {
    const amount = Math.floor(random() * 250_000);
    const whole = Math.floor(amount / 100);
    const json = `{"currencyIso":"GBP","value":${amount / 100},"formattedValue":"£${whole.toLocaleString('en-US')}.${String(amount % 100).padStart(2, '0')}","priceType":"BUY"}`;
    const m = legacyPriceToMoney(JSON.parse(json));
    if (!m.ok || JSON.stringify(moneyToOccPrice(m.value)) !== json) t.fail(json, { m });
  }
  t.pass('2000 GBP prices');
});
