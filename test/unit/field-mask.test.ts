import t from 'tap';
import {
  applyFieldMask,
  DEFAULT_MASK,
  FieldMaskError,
  fieldMaskCacheSize,
  isFieldSelected,
  LEVEL_TABLES,
  parseFields,
  projectFields,
} from '../../src/occ/field-mask.js';

const price = { currencyIso: 'USD', value: 1301.54, formattedValue: '$1,301.54', priceType: 'BUY', minQuantity: 1 };
const product = {
  availableForPickup: true,
  averageRating: 4.5,
  categories: [{ code: '575', name: 'Digital Cameras', url: '/c/575', image: { url: '/x.jpg', format: 'thumbnail', altText: 'a' } }],
  code: '1000001',
  description: 'A camera',
  images: [{ altText: 'x', format: 'zoom', imageType: 'PRIMARY', url: '/z.jpg', galleryIndex: 0 }],
  manufacturer: 'Canon',
  name: 'EOS',
  numberOfReviews: 3,
  potentialPromotions: [{ code: 'p1', title: 'T', description: 'D', promotionType: 'Rule Based Promotion', endDate: '2027-12-31T23:59:59+0000' }],
  price,
  purchasable: true,
  stock: { stockLevel: 4, stockLevelStatus: 'lowStock' },
  summary: 'Sum',
  url: '/p/1000001',
  volumePricesFlag: false,
  secretInternal: 'only FULL',
};

t.test('absent or blank fields means DEFAULT', async (t) => {
  t.equal(parseFields(undefined), DEFAULT_MASK);
  t.equal(parseFields(''), DEFAULT_MASK);
  t.equal(parseFields('   '), DEFAULT_MASK);
  t.same([...parseFields(undefined).levels], ['DEFAULT']);
});

t.test('BASIC level of Product', async (t) => {
  const out = applyFieldMask(product, parseFields('BASIC'), 'Product') as Record<string, unknown>;
  t.same(Object.keys(out), ['availableForPickup', 'code', 'name', 'price', 'purchasable', 'stock', 'url']);
  t.same(out.price, { currencyIso: 'USD', value: 1301.54, priceType: 'BUY' }, 'nested price at BASIC');
  t.same(out.stock, { stockLevel: 4, stockLevelStatus: 'lowStock' });
});

t.test('DEFAULT level of Product', async (t) => {
  const out = applyFieldMask(product, parseFields('DEFAULT'), 'Product') as Record<string, unknown>;
  t.same(Object.keys(out), [
    'availableForPickup', 'averageRating', 'categories', 'code', 'description', 'images', 'manufacturer', 'name',
    'numberOfReviews', 'potentialPromotions', 'price', 'purchasable', 'stock', 'summary', 'url', 'volumePricesFlag',
  ]);
  t.notOk('secretInternal' in out, 'unknown property not in DEFAULT');
  t.same(out.price, price, 'price(DEFAULT) includes formattedValue');
  t.same(out.categories, [{ code: '575', name: 'Digital Cameras', url: '/c/575' }], 'categories(BASIC) drops image');
  t.same(out.images, product.images, 'images(DEFAULT)');
  t.same(out.potentialPromotions, product.potentialPromotions);
  t.same(applyFieldMask(product, parseFields(undefined), 'Product'), out, 'absent fields = DEFAULT');
});

t.test('FULL returns everything (the same reference)', async (t) => {
  t.equal(applyFieldMask(product, parseFields('FULL'), 'Product'), product);
  t.equal(applyFieldMask(product, parseFields('code,FULL'), 'Product'), product);
});

t.test('explicit masks', async (t) => {
  t.same(applyFieldMask(product, parseFields('code,name'), 'Product'), { code: '1000001', name: 'EOS' });
  t.same(applyFieldMask(product, parseFields('code,price(formattedValue)'), 'Product'), {
    code: '1000001',
    price: { formattedValue: '$1,301.54' },
  });
  t.same(applyFieldMask(product, parseFields('price(FULL),stock(DEFAULT)'), 'Product'), { price, stock: product.stock });
  t.same(
    applyFieldMask(product, parseFields('price'), 'Product'),
    { price: { currencyIso: 'USD', value: 1301.54, priceType: 'BUY' } },
    'a nested object without sub-mask is BASIC',
  );
  t.same(applyFieldMask(product, parseFields('categories(code,image(url))'), 'Product'), {
    categories: [{ code: '575', image: { url: '/x.jpg' } }],
  });
  t.same(applyFieldMask(product, parseFields('nosuchfield,code'), 'Product'), { code: '1000001' }, 'unknown fields ignored');
  t.same(applyFieldMask(product, parseFields(' code , name '), 'Product'), { code: '1000001', name: 'EOS' }, 'whitespace tolerated');
});

t.test('levels mixed with fields', async (t) => {
  const out = applyFieldMask(product, parseFields('BASIC,description,secretInternal'), 'Product') as Record<string, unknown>;
  t.same(Object.keys(out), ['availableForPickup', 'code', 'description', 'name', 'price', 'purchasable', 'stock', 'url', 'secretInternal']);
  const merged = applyFieldMask(product, parseFields('BASIC,price(formattedValue)'), 'Product') as Record<string, unknown>;
  t.same(merged.price, { currencyIso: 'USD', value: 1301.54, formattedValue: '$1,301.54', priceType: 'BUY' }, 'union of price(BASIC) and price(formattedValue)');
  const d = applyFieldMask(product, parseFields('DEFAULT,averageRating'), 'Product') as Record<string, unknown>;
  t.equal(d.averageRating, 4.5);
});

t.test('output key order follows the input, not the mask', async (t) => {
  const out = applyFieldMask(product, parseFields('url,stock,code,name'), 'Product');
  t.same(Object.keys(out as object), ['code', 'name', 'stock', 'url']);
});

t.test('repeated fields are merged', async (t) => {
  const m = parseFields('price(value),price(currencyIso)');
  t.same(applyFieldMask(product, m, 'Product'), { price: { currencyIso: 'USD', value: 1301.54 } });
});

t.test('search page masks', async (t) => {
  const page = {
    freeTextSearch: 'eos',
    pagination: { currentPage: 0, pageSize: 20, sort: 'relevance', totalPages: 1, totalResults: 2 },
    products: [product, { ...product, code: '1000002', price: null }],
    sorts: [{ code: 'relevance', name: 'Relevance', selected: true }],
  };
  t.same(applyFieldMask(page, parseFields('products(code,price(formattedValue)),pagination(DEFAULT)'), 'ProductSearchPage'), {
    pagination: page.pagination,
    products: [{ code: '1000001', price: { formattedValue: '$1,301.54' } }, { code: '1000002', price: null }],
  });
  const basic = applyFieldMask(page, parseFields('BASIC'), 'ProductSearchPage') as Record<string, unknown>;
  t.same(basic.pagination, { currentPage: 0, pageSize: 20, totalPages: 1, totalResults: 2 }, 'pagination(BASIC) drops sort');
  t.same(basic.sorts, [{ code: 'relevance', selected: true }]);
  const def = applyFieldMask(page, parseFields('DEFAULT'), 'ProductSearchPage') as { products: Record<string, unknown>[] };
  t.equal(def.products[0]?.description, 'A camera', 'products(DEFAULT)');
  t.notOk('secretInternal' in (def.products[0] ?? {}));
});

t.test('cart masks', async (t) => {
  const cart = {
    code: '00000001',
    guid: 'g',
    entries: [{ entryNumber: 0, product: { code: '1', name: 'n', url: '/p/1', images: [] }, quantity: 2, basePrice: price, totalPrice: price, updateable: true }],
    appliedProductPromotions: [{ promotion: { code: 'p', title: 't', promotionType: 'Rule Based Promotion' }, description: 'd', consumedEntries: [{ orderEntryNumber: 0, quantity: 2, adjustedUnitPrice: 1 }] }],
    totalPrice: price,
    totalItems: 1,
    net: true,
  };
  const basic = applyFieldMask(cart, parseFields('BASIC'), 'Cart');
  t.same(basic, { code: '00000001', guid: 'g', totalPrice: { currencyIso: 'USD', value: 1301.54, priceType: 'BUY' }, totalItems: 1 });
  const def = applyFieldMask(cart, parseFields('DEFAULT'), 'Cart') as typeof cart;
  t.same(def.entries[0]?.product, { code: '1', name: 'n', url: '/p/1' }, 'entry product at BASIC');
  t.same(def.appliedProductPromotions, cart.appliedProductPromotions);
  t.same(applyFieldMask({ statusCode: 'success', quantityAdded: 1, quantity: 1, entry: cart.entries[0] }, parseFields('statusCode,entry(entryNumber)'), 'CartModification'), {
    statusCode: 'success',
    entry: { entryNumber: 0 },
  });
});

t.test('Any type and primitives pass through', async (t) => {
  const v = { a: { b: 1 } };
  t.equal(applyFieldMask(v, parseFields('BASIC'), 'Any'), v);
  t.equal(applyFieldMask(5, parseFields('code'), 'Product'), 5);
  t.equal(applyFieldMask(null, parseFields('code'), 'Product'), null);
  t.same(applyFieldMask([product, product], parseFields('code'), 'Product'), [{ code: '1000001' }, { code: '1000001' }]);
  t.same(projectFields(product, 'code', 'Product'), { code: '1000001' });
});

t.test('syntax errors throw FieldMaskError', async (t) => {
  for (const bad of ['price(value', 'price)value', 'a,b)', 'price()', '(code)', 'code name', 'FULL(code)', 'price(value))', 'a(b(c)', 'co*de']) {
    t.throws(() => parseFields(bad), FieldMaskError, bad);
  }
  t.throws(() => parseFields('a'.repeat(5000)), FieldMaskError, 'too long');
  t.throws(() => parseFields('a('.repeat(20) + 'b' + ')'.repeat(20)), FieldMaskError, 'too deep');
  const e = (() => {
    try {
      parseFields('price(value');
    } catch (err) {
      return err;
    }
    return undefined;
  })();
  t.ok(e instanceof FieldMaskError && e.position >= 0 && /unbalanced/.test(e.message));
  t.doesNotThrow(() => parseFields('code,,name,'), 'empty segments are tolerated');
});

t.test('parse cache returns the same object and is bounded', async (t) => {
  t.equal(parseFields('code,name(x)'), parseFields('code,name(x)'));
  for (let i = 0; i < 700; i++) parseFields(`f${i}`);
  t.ok(fieldMaskCacheSize() <= 500, `cache size ${fieldMaskCacheSize()}`);
  t.same(parseFields('products(code,price(formattedValue)),pagination(DEFAULT)').source, 'products(code,price(formattedValue)),pagination(DEFAULT)');
});

t.test('isFieldSelected', async (t) => {
  const d = parseFields(undefined);
  t.ok(isFieldSelected(d, 'Product', ['potentialPromotions']));
  t.ok(isFieldSelected(d, 'Product', ['price', 'formattedValue']));
  t.notOk(isFieldSelected(parseFields('BASIC'), 'Product', ['potentialPromotions']));
  t.notOk(isFieldSelected(parseFields('BASIC'), 'Product', ['price', 'formattedValue']));
  t.ok(isFieldSelected(parseFields('FULL'), 'Product', ['anything', 'deep']));
  const s = parseFields('products(code,stock)');
  t.ok(isFieldSelected(s, 'ProductSearchPage', ['products', 'stock']));
  t.notOk(isFieldSelected(s, 'ProductSearchPage', ['products', 'price']));
  t.notOk(isFieldSelected(s, 'ProductSearchPage', ['pagination']));
});

t.test('every level table parses and compiles', async (t) => {
  for (const type of Object.keys(LEVEL_TABLES) as (keyof typeof LEVEL_TABLES)[]) {
    t.doesNotThrow(() => applyFieldMask({}, parseFields('BASIC'), type), `${type} BASIC`);
    t.doesNotThrow(() => applyFieldMask({}, parseFields('DEFAULT'), type), `${type} DEFAULT`);
  }
});

t.test('a subtree the mask keeps whole is shared, not copied; anything dropped is copied in order', async (t) => {
  const input = structuredClone(product);
  const before = JSON.stringify(input);
  const out = applyFieldMask(input, parseFields('DEFAULT'), 'Product') as typeof product;
  // DEFAULT drops secretInternal, and categories(BASIC) drops each category's image
  t.not(out, input, 'a dropped property copies the object');
  t.equal(out.price, input.price, 'price(DEFAULT) keeps every property: the same object');
  t.not(out.categories, input.categories, 'categories(BASIC) drops image: copied');
  t.same(Object.keys(out.categories[0]!), ['code', 'name', 'url'], 'copied in input order');
  t.equal(JSON.stringify(input), before, 'the input is not changed');
  const whole = { code: 'x', name: 'n', price: input.price };
  t.equal(applyFieldMask(whole, parseFields('code,name,price(DEFAULT)'), 'Product'), whole, 'nothing dropped: the input itself');
  const tail = { code: 'x', name: 'n', extra: 1, url: '/u' };
  const masked = applyFieldMask(tail, parseFields('code,name,url'), 'Product') as Record<string, unknown>;
  t.same(Object.keys(masked), ['code', 'name', 'url'], 'the properties before and after the first dropped one, in order');
  const list = [{ code: 'a' }, { code: 'b', x: 1 }, { code: 'c' }];
  const projected = applyFieldMask(list, parseFields('code'), 'Category') as unknown[];
  t.not(projected, list);
  t.equal(projected[0], list[0], 'elements kept whole are shared');
  t.same(projected, [{ code: 'a' }, { code: 'b' }, { code: 'c' }]);
});
