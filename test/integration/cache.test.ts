/**
 * The data cache and the HTTP validators through the gateway, against the real simulators: a
 * revalidation gets 304, a flip changes the ETag and never serves the other arm's copy, a
 * delivered domain event purges, and a failing upstream is answered from a stale copy, marked.
 * Prices are changed in the simulators' seed itself (the data both the monolith and the pricing
 * service serve), so the gateway can only see a change by asking again.
 */
import t from 'tap';
import { getProduct } from '../../backends/kit/seed.js';
import { startWorld, flagFile } from '../helpers/world.js';
import type { DomainEvent } from '../../src/events/bus.js';

const SITE = 'electronics-spa';

function seedProduct(sku: string): { priceMinor: number } {
  const p = getProduct(SITE, sku) as { priceMinor: number } | undefined;
  if (!p) throw new Error(`no seed product ${sku}`);
  return p;
}

function priceChanged(sku: string, id: string): DomainEvent {
  return { id, type: 'price.changed', at: new Date().toISOString(), context: 'pricing', data: { site: SITE, sku } };
}

t.test('validators: strong ETag over the bytes, If-None-Match → 304, Cache-Control and Vary per surface', async (t) => {
  const w = await startWorld(t); // data cache off: the validators are on regardless
  const url = `/api/v1/sites/${SITE}/products/1000001`;
  // a client without identity is sent the sticky cookie: that answer is private
  const anonymous = await w.app.inject({ url });
  t.ok(anonymous.headers['set-cookie']);
  t.equal(anonymous.headers['cache-control'], 'private, no-cache', 'an answer that sets a cookie is private');
  const a = await w.app.inject({ url, headers: { 'x-session-id': 's-1' } });
  t.equal(a.statusCode, 200);
  const etag = a.headers.etag as string;
  t.match(etag, /^"[A-Za-z0-9_-]+"$/, 'a strong ETag');
  t.equal(a.headers['cache-control'], 'public, no-cache');
  for (const h of ['Accept-Language', 'X-User-Id', 'X-Session-Id', 'Authorization', 'Cookie']) t.match(String(a.headers.vary), h, `Vary names ${h}`);
  const b = await w.app.inject({ url, headers: { 'x-session-id': 's-1' } });
  t.equal(b.headers.etag, etag, 'same answer, same ETag');
  const nm = await w.app.inject({ url, headers: { 'if-none-match': `"other", ${etag}` } });
  t.equal(nm.statusCode, 304);
  t.equal(nm.body, '', 'no body on 304');
  t.equal(nm.headers.etag, etag, 'the 304 carries the ETag');
  const weak = await w.app.inject({ url, headers: { 'if-none-match': `W/${etag}` } });
  t.equal(weak.statusCode, 304, 'If-None-Match compares weakly');
  const miss = await w.app.inject({ url, headers: { 'if-none-match': '"nope"' } });
  t.equal(miss.statusCode, 200);

  // OCC: the ETag is over what the fields mask left
  const basic = await w.app.inject({ url: `/occ/v2/${SITE}/products/1000001?fields=BASIC` });
  const full = await w.app.inject({ url: `/occ/v2/${SITE}/products/1000001?fields=FULL` });
  t.equal(basic.statusCode, 200);
  t.not(basic.headers.etag, full.headers.etag, 'another fields mask, other bytes, another ETag');
  t.equal(basic.headers['cache-control'], 'private, no-cache');
  const occ304 = await w.app.inject({ url: `/occ/v2/${SITE}/products/1000001?fields=BASIC`, headers: { 'if-none-match': basic.headers.etag as string } });
  t.equal(occ304.statusCode, 304);

  // errors and writes carry no validators
  const notFound = await w.app.inject({ url: `/api/v1/sites/${SITE}/products/9999999` });
  t.equal(notFound.statusCode, 404);
  t.equal(notFound.headers.etag, undefined);
});

t.test('GraphQL GET: the answer carries no per-request id, so ETags repeat and revalidate', async (t) => {
  const w = await startWorld(t);
  const q = encodeURIComponent(`{ product(site: "${SITE}", sku: "1000001") { sku name price { amount currency } } }`);
  const a = await w.app.inject({ url: `/graphql?query=${q}` });
  t.equal(a.statusCode, 200);
  const b = await w.app.inject({ url: `/graphql?query=${q}` });
  t.equal(a.body, b.body, 'two answers are the same bytes');
  t.ok(a.headers.etag);
  t.equal(a.headers.etag, b.headers.etag);
  t.match(String(a.headers.vary), /^Accept, /, 'Vary: Accept on GraphQL (it picks the media type)');
  const modern = await w.app.inject({ url: `/graphql?query=${q}`, headers: { accept: 'application/graphql-response+json' } });
  t.not(modern.headers.etag, a.headers.etag, 'another media type, another ETag');
  const nm = await w.app.inject({ url: `/graphql?query=${q}`, headers: { 'if-none-match': a.headers.etag as string } });
  t.equal(nm.statusCode, 304);
  const post = await w.app.inject({ method: 'POST', url: '/graphql', payload: { query: decodeURIComponent(q) } });
  t.equal(post.statusCode, 200);
  t.equal(post.headers.etag, undefined, 'POST: no validators');
});

t.test('a flip changes the ETag and never serves the other arm’s cached copy; a price event purges', async (t) => {
  const sku = '1000011';
  const p = seedProduct(sku);
  const before = p.priceMinor;
  t.teardown(() => {
    p.priceMinor = before;
  });
  const w = await startWorld(t, { pricing: 0 }, { CACHE_ENABLED: 'true' });
  const url = `/api/v1/sites/${SITE}/products/${sku}`;
  const headers = { 'x-session-id': 'shopper-1' };
  const legacy0 = await w.app.inject({ url, headers });
  t.equal(legacy0.statusCode, 200);
  t.equal(legacy0.json().price.amount, before);
  t.match(legacy0.headers['x-strangler-route'], /pricing=legacy/);

  // The pricing service reads the seed on every call; the monolith built this product's DTO on
  // its first read and keeps it: from here the two arms disagree, so who answered shows.
  p.priceMinor = before + 1234;
  await w.setFlags(flagFile({ pricing: 100 }));
  const modern = await w.app.inject({ url, headers: { ...headers, 'if-none-match': legacy0.headers.etag as string } });
  t.equal(modern.statusCode, 200, 'the legacy ETag does not validate the new arm’s answer');
  t.match(modern.headers['x-strangler-route'], /pricing=new/);
  t.equal(modern.json().price.amount, before + 1234, 'the new arm answered itself: the legacy copy was not served');
  t.not(modern.headers.etag, legacy0.headers.etag, 'the flip changed the ETag');

  p.priceMinor = before + 5678; // no event yet
  const cached = await w.app.inject({ url, headers });
  t.equal(cached.json().price.amount, before + 1234, 'the new arm’s answer is cached');
  t.equal(cached.headers.etag, modern.headers.etag);

  await w.setFlags(flagFile({ pricing: 0 }));
  const back = await w.app.inject({ url, headers });
  t.equal(back.json().price.amount, before, 'back on legacy: legacy’s own answer, never the new arm’s copy');
  t.equal(back.headers.etag, legacy0.headers.etag, 'and its ETag again');

  await w.setFlags(flagFile({ pricing: 100 }));
  w.app.gw.events.deliver(priceChanged(sku, 'evt-1'));
  const purged = await w.app.inject({ url, headers });
  t.equal(purged.json().price.amount, before + 5678, 'after price.changed the pricing service is asked again');
  t.not(purged.headers.etag, modern.headers.etag);

  const metrics = (await w.app.inject({ url: '/metrics' })).body;
  t.match(metrics, /gateway_cache_hits_total\{ns="pricing",tier="memory"\} [1-9]/);
  t.match(metrics, /gateway_cache_misses_total\{ns="catalog"\} [1-9]/);
  t.match(metrics, /gateway_cache_purges_total\{ns="pricing",cause="price.changed"\} 1/);
  t.match(metrics, /gateway_cache_purges_total\{ns="catalog",cause="price.changed"\} 1/);
  t.match(metrics, /gateway_cache_bytes [1-9]/);
});

t.test('stale-if-error: a copy past its TTL answers when the upstream fails, marked', async (t) => {
  // inventory: TTL 2 s, stale bound 10 s (its descriptor); fallback off so the failure would show
  const w = await startWorld(t, { inventory: 100 }, { CACHE_ENABLED: 'true', FALLBACK_CONTEXTS: '' });
  const url = `/api/v1/sites/${SITE}/products/1000021`;
  const fresh = await w.app.inject({ url });
  t.equal(fresh.statusCode, 200);
  t.equal(fresh.headers['x-strangler-stale'], undefined);
  await new Promise((r) => setTimeout(r, 2200));
  const put = await fetch(`${w.backends.inventory.url}/__faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ errorRate: 1 }) });
  t.equal(put.status, 200);
  const stale = await w.app.inject({ url });
  t.equal(stale.statusCode, 200, 'served although the inventory service fails');
  t.equal(stale.headers['x-strangler-stale'], 'inventory', 'and marked');
  t.same(stale.json().availability, fresh.json().availability);
  // a SKU never cached has no stale copy: the failure shows
  const uncached = await w.app.inject({ url: `/api/v1/sites/${SITE}/products/1000022` });
  t.equal(uncached.statusCode, 502);
  t.equal(uncached.json().code, 'GW_ERR_UPSTREAM_FAILED');
  const metrics = (await w.app.inject({ url: '/metrics' })).body;
  t.match(metrics, /gateway_cache_stale_served_total\{ns="inventory"\} 1/);
});

t.test('OCC product detail (rendered answers cached): a flip and a purge show at once', async (t) => {
  const sku = '1000041';
  const p = seedProduct(sku);
  const before = p.priceMinor;
  t.teardown(() => {
    p.priceMinor = before;
  });
  const w = await startWorld(t, { pricing: 0 }, { CACHE_ENABLED: 'true' });
  const url = `/occ/v2/${SITE}/products/${sku}?fields=FULL`;
  const headers = { 'x-session-id': 'shopper-2' };
  const value = (r: { json(): unknown }) => (r.json() as { price: { value: number } }).price.value;
  const legacy0 = await w.app.inject({ url, headers });
  t.equal(legacy0.statusCode, 200);
  const again = await w.app.inject({ url, headers });
  t.equal(again.body, legacy0.body, 'the rendered answer is the same bytes');
  t.equal(again.headers['x-strangler-route'], legacy0.headers['x-strangler-route'], 'and says the same arms');
  t.equal(again.headers['content-type'], legacy0.headers['content-type']);
  // kept on its second request (the doorkeeper): the third is a hit, served with the ETag stored with it
  const hitsOf = async () => Number(/gateway_cache_hits_total\{ns="occ-product",tier="memory"\} (\d+)/.exec((await w.app.inject({ url: '/metrics' })).body)?.[1] ?? 0);
  const hits0 = await hitsOf();
  const third = await w.app.inject({ url, headers });
  t.equal(await hitsOf(), hits0 + 1, 'the third request is a rendered hit');
  t.equal(third.body, legacy0.body);
  t.equal(third.headers.etag, legacy0.headers.etag, 'a hit has the ETag the rendered answer had');
  t.equal(third.headers['content-length'], legacy0.headers['content-length']);
  t.equal(third.headers['cache-control'], legacy0.headers['cache-control']);
  t.equal(third.headers.vary, legacy0.headers.vary);
  const revalidated = await w.app.inject({ url, headers: { ...headers, 'if-none-match': legacy0.headers.etag as string } });
  t.equal(revalidated.statusCode, 304, 'a hit revalidates');
  t.equal(revalidated.body, '');

  p.priceMinor = before + 100; // the pricing service sees it, the monolith's DTO does not
  await w.setFlags(flagFile({ pricing: 100 }));
  const modern = await w.app.inject({ url, headers });
  t.match(modern.headers['x-strangler-route'], /pricing=new/);
  t.equal(Math.round(value(modern) * 100), before + 100, 'the new arm, not legacy’s rendering');
  t.not(modern.headers.etag, legacy0.headers.etag);

  p.priceMinor = before + 200;
  t.equal(Math.round(value(await w.app.inject({ url, headers })) * 100), before + 100, 'cached until told');
  w.app.gw.events.deliver(priceChanged(sku, 'evt-occ'));
  t.equal(Math.round(value(await w.app.inject({ url, headers })) * 100), before + 200, 'the event purged the rendering too');
  const basic = await w.app.inject({ url: `/occ/v2/${SITE}/products/${sku}?fields=BASIC`, headers });
  t.not(basic.body, modern.body, 'another fields mask is another rendering');
});
