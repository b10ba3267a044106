/**
 * The OCC `fields` mask has two independent implementations: the legacy simulator's
 * (backends/contract/fields.ts, standing in for SAP Commerce) and the gateway's
 * (src/occ/field-mask.ts, which renders OCC answers on the new arm). Both are read from the level
 * table in docs/CONTRACTS.md. Here the simulator's is held to the contract's examples, and the two
 * to each other over thousands of generated expressions and the simulator's real DTOs: a
 * disagreement would surface as a parity failure, so it is caught here first, with the expression.
 */
import t from 'tap';
import { buildLegacyCommerce } from '../../backends/legacy-commerce/server.js';
import { FieldsSyntaxError, readFields, selectFields, type DtoType } from '../../backends/contract/fields.js';
import { applyFieldMask, FieldMaskError, parseFields } from '../../src/occ/field-mask.js';

async function realDtos(): Promise<{ type: DtoType; body: unknown }[]> {
  const app = await buildLegacyCommerce();
  try {
    const get = async (url: string) => (await app.inject({ url: `/occ/v2/electronics-spa${url}` })).json() as unknown;
    const cart = (await app.inject({ method: 'POST', url: '/occ/v2/electronics-spa/users/anonymous/carts' })).json() as { guid: string };
    const cartUrl = `/occ/v2/electronics-spa/users/anonymous/carts/${cart.guid}`;
    for (const [code, qty] of [['1000001', 3], ['1000002', 2], ['1000042', 1]] as const) {
      await app.inject({ method: 'POST', url: `${cartUrl}/entries`, payload: { product: { code }, quantity: qty } });
    }
    return [
      { type: 'Product', body: await get('/products/1000001?fields=FULL') },
      { type: 'Product', body: await get('/products/1000042?fields=FULL') },
      { type: 'ProductSearchPage', body: await get('/products/search?query=a&pageSize=4&fields=FULL') },
      { type: 'PromotionList', body: await get('/promotions?type=all&fields=FULL') },
      { type: 'Stock', body: await get('/products/1000001/stock?fields=FULL') },
      { type: 'Cart', body: (await app.inject({ url: `${cartUrl}?fields=FULL` })).json() as unknown },
    ];
  } finally {
    await app.close();
  }
}

/** mulberry32: a reproducible stream, so a failure names an expression that can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const NAMES = [
  'code', 'name', 'url', 'price', 'stock', 'images', 'categories', 'potentialPromotions', 'summary', 'description',
  'value', 'formattedValue', 'currencyIso', 'priceType', 'stockLevel', 'stockLevelStatus', 'products', 'pagination',
  'sorts', 'freeTextSearch', 'currentQuery', 'totalResults', 'entries', 'product', 'basePrice', 'totalPrice', 'quantity',
  'appliedProductPromotions', 'appliedOrderPromotions', 'promotion', 'consumedEntries', 'promotions', 'user', 'uid',
  'title', 'endDate', 'guid', 'subTotal', 'totalPriceWithTax', 'format', 'selected', 'nosuch', 'BASIC', 'DEFAULT', 'FULL',
];

function expression(rand: () => number, depth: number): string {
  const n = 1 + Math.floor(rand() * 4);
  const items: string[] = [];
  for (let i = 0; i < n; i++) {
    const name = NAMES[Math.floor(rand() * NAMES.length)] as string;
    const nest = depth < 3 && !['BASIC', 'DEFAULT', 'FULL'].includes(name) && rand() < 0.35;
    items.push(nest ? `${name}(${expression(rand, depth + 1)})` : name);
    if (rand() < 0.05) items.push('');
  }
  return items.join(rand() < 0.2 ? ' , ' : ',');
}

/** A valid expression with one character inserted or removed: mostly syntax errors, some not. */
function mutate(rand: () => number, src: string): string {
  const at = Math.floor(rand() * (src.length + 1));
  if (rand() < 0.5) return src.slice(0, at) + src.slice(at + 1);
  const chars = '(),. a\t';
  return src.slice(0, at) + chars.charAt(Math.floor(rand() * chars.length)) + src.slice(at);
}

type Outcome = { error: true } | { error: false; json: string };

function simulator(expr: string, type: DtoType, body: unknown): Outcome {
  try {
    return { error: false, json: JSON.stringify(selectFields(body, readFields(expr), type)) };
  } catch (e) {
    if (e instanceof FieldsSyntaxError) return { error: true };
    throw e;
  }
}

function gateway(expr: string, type: DtoType, body: unknown): Outcome {
  try {
    return { error: false, json: JSON.stringify(applyFieldMask(body, parseFields(expr), type)) };
  } catch (e) {
    if (e instanceof FieldMaskError) return { error: true };
    throw e;
  }
}

t.test('the simulator applies the contract level table', async (t) => {
  const [product] = await realDtos();
  const basic = selectFields(product?.body, readFields('BASIC'), 'Product') as Record<string, unknown>;
  t.same(Object.keys(basic).sort(), ['availableForPickup', 'code', 'name', 'price', 'purchasable', 'stock', 'url'], 'Product BASIC');
  t.same(Object.keys(basic.price as object).sort(), ['currencyIso', 'priceType', 'value'], 'a nested Price at BASIC');
  const picked = selectFields(product?.body, readFields('code,price(formattedValue),images(url),nosuch'), 'Product') as Record<string, unknown>;
  t.same(Object.keys(picked), ['code', 'images', 'price'], "the DTO's key order, unknown names ignored");
  t.match(picked, { price: { formattedValue: /^\$[\d,]+\.\d\d$/ } });
  t.equal(selectFields(product?.body, readFields('code,FULL'), 'Product'), product?.body, 'FULL anywhere at a level: everything');
  t.same(
    selectFields({ price: { value: 1, formattedValue: '$0.01', priceType: 'BUY', currencyIso: 'USD' } }, readFields('price,price(formattedValue)'), 'Product'),
    { price: { value: 1, formattedValue: '$0.01', priceType: 'BUY', currencyIso: 'USD' } },
    'two mentions of a field: the union (BASIC and formattedValue)',
  );
  t.equal(readFields('  '), readFields(undefined), 'blank is DEFAULT');
  for (const bad of ['code(', 'code)', 'code()', '(code)', 'BASIC(code)', 'co de', 'code;name', 'a'.repeat(4097), 'a('.repeat(17) + 'b' + ')'.repeat(17)]) {
    t.throws(() => readFields(bad), FieldsSyntaxError, bad.slice(0, 40));
  }
  t.doesNotThrow(() => readFields('a('.repeat(16) + 'b' + ')'.repeat(16)), '16 levels of nesting are allowed');
});

t.test('simulator and gateway agree on every generated expression', async (t) => {
  const dtos = await realDtos();
  const rand = prng(19);
  let compared = 0;
  let rejected = 0;
  const disagreements: string[] = [];
  for (let i = 0; i < 3000; i++) {
    const valid = expression(rand, 0);
    const expr = i % 3 === 2 ? mutate(rand, valid) : valid;
    for (const { type, body } of dtos) {
      const a = simulator(expr, type, body);
      const b = gateway(expr, type, body);
      compared++;
      if (a.error) rejected++;
      if (a.error !== b.error || (!a.error && !b.error && a.json !== b.json)) disagreements.push(`${type} fields=${JSON.stringify(expr)}`);
    }
  }
  t.same(disagreements.slice(0, 10), [], `no disagreement in ${compared} comparisons (${disagreements.length} found)`);
  t.ok(rejected > 100 && rejected < compared / 2, `both valid and malformed expressions were tried (${rejected} rejected)`);
});
