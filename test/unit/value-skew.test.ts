/**
 * The value fault of the simulators: a payload that stays valid against its consumer's schema but
 * carries one wrong value (what shadow comparison must catch, docs/parity.md).
 */
import t, { type Test } from 'tap';
import { request } from 'undici';
import type { FastifyInstance } from 'fastify';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { Type } from '@sinclair/typebox';
import { Money } from '../../src/domain/model.js';
import { buildPricingService } from '../../backends/pricing-service/server.js';
import { buildInventoryService } from '../../backends/inventory-service/server.js';
import { skewJson } from '../../backends/kit/faults.js';

const PriceList = TypeCompiler.Compile(Type.Object({ site: Type.String(), prices: Type.Array(Type.Object({ sku: Type.String(), price: Money })), missing: Type.Array(Type.String()) }));

async function listening(t: Test, build: () => Promise<FastifyInstance>): Promise<string> {
  const app = await build();
  await app.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => app.close());
  const address = app.server.address();
  return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
}

async function putFaults(base: string, body: unknown): Promise<number> {
  const res = await request(`${base}/__faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  await res.body.dump();
  return res.statusCode;
}

async function getJson(url: string): Promise<{ status: number; body: unknown }> {
  const res = await request(url);
  return { status: res.statusCode, body: await res.body.json() };
}

t.test('skewJson: one value wrong, the shape unchanged', async (t) => {
  const first = () => 0;
  t.same(JSON.parse(skewJson('{"sku":"a","price":{"amount":1999,"currency":"EUR"}}', 1, 1, first)), { sku: 'a', price: { amount: 2000, currency: 'EUR' } }, 'a price off by one minor unit');
  t.same(JSON.parse(skewJson('{"sku":"a","price":{"amount":1999,"currency":"EUR"}}', 25, 1, first)), { sku: 'a', price: { amount: 2024, currency: 'EUR' } }, 'by valueSkewMinor');
  t.same(JSON.parse(skewJson('{"availability":{"status":"IN_STOCK","quantity":7}}', 1, 1, first)), { availability: { status: 'IN_STOCK', quantity: 8 } }, 'a stock level off by one');
  t.same(JSON.parse(skewJson('{"items":[{"sku":"a","promotions":[{"code":"p1"},{"code":"p2"}]}]}', 1, 1, first)), { items: [{ sku: 'a', promotions: [{ code: 'p1' }] }] }, 'a promotion missing');
  t.same(JSON.parse(skewJson('{"code":"x","price":{"currencyIso":"USD","value":12.5}}', 1, 1, first)), { code: 'x', price: { currencyIso: 'USD', value: 12.51 } }, 'an OCC price off by a cent');
  t.equal(skewJson('{"status":"ok"}', 1, 1, first), '{"status":"ok"}', 'nothing to skew: unchanged');
  t.equal(skewJson('not json', 1, 1, first), 'not json');
  const two = '{"prices":[{"sku":"a","price":{"amount":100,"currency":"EUR"}},{"sku":"b","price":{"amount":200,"currency":"EUR"}}]}';
  const draws = [0.9, 0.1];
  t.same(JSON.parse(skewJson(two, 1, 0.5, () => draws.shift()!)).prices.map((p: { price: { amount: number } }) => p.price.amount), [100, 201], 'each value rolls on its own');
  t.equal(skewJson(two, 1, 0.5, () => 0.99), two, 'none rolled: the text unchanged');
});

t.test('valueSkewRate on the pricing service: valid answers, some prices off by valueSkewMinor', async (t) => {
  const base = await listening(t, buildPricingService);
  const url = `${base}/v1/sites/electronics-spa/prices?skus=1000001,1000002,1000003`;
  const clean = await getJson(url);
  t.equal(clean.status, 200);
  t.ok(PriceList.Check(clean.body));
  t.equal(await putFaults(base, { valueSkewRate: 1, valueSkewMinor: 3 }), 200);
  const skewed = await getJson(url);
  t.equal(skewed.status, 200);
  t.ok(PriceList.Check(skewed.body), 'still valid for its consumer');
  type L = { prices: { sku: string; price: { amount: number } }[] };
  const before = (clean.body as L).prices;
  const after = (skewed.body as L).prices;
  const deltas = after.map((p, i) => p.price.amount - before[i]!.price.amount);
  t.same(deltas, [3, 3, 3], 'at rate 1 every price is off, by 3 minor units');

  t.equal(await putFaults(base, { valueSkewRate: 0.5 }), 200);
  let wrong = 0;
  for (let i = 0; i < 100; i++) {
    const r = (await getJson(url)).body as L;
    wrong += r.prices.filter((p, j) => p.price.amount !== before[j]!.price.amount).length;
  }
  t.ok(wrong > 90 && wrong < 210, `about half the prices skewed (${wrong}/300)`);
});

t.test('valueSkewRate on the inventory service: a stock level off by one', async (t) => {
  const base = await listening(t, buildInventoryService);
  const url = `${base}/v1/sites/electronics-spa/availability/1000001`;
  const clean = (await getJson(url)).body as { availability: { quantity: number } };
  t.equal(await putFaults(base, { valueSkewRate: 1 }), 200);
  const skewed = (await getJson(url)).body as { availability: { quantity: number } };
  t.equal(skewed.availability.quantity, clean.availability.quantity + 1);
});
