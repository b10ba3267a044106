/**
 * The identity resolver (src/routing/identity.ts): its documented order, the signed cookie, and
 * what it does with bad input. The in-memory binding store: TTL and bound.
 */
import t from 'tap';
import { IdentityResolver, jwtSubject, occPathIds, STICKINESS_SOURCES, type IdentityFacts } from '../../src/routing/identity.js';
import { MemoryBindingStore } from '../../src/routing/sticky-bindings.js';
import { GatewayError } from '../../src/errors.js';

const secret = Buffer.from('0123456789abcdef0123456789abcdef');
const resolver = new IdentityResolver({ cookieName: 'sticky', secure: true, secret, ttlS: 3600 });
const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
const jwt = (payload: object) => `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64(payload)}.c2ln`;

function facts(headers: Record<string, string>, path: { occUserId?: string; cartGuid?: string } = {}, remoteAddress = '10.0.0.1'): IdentityFacts {
  return { headers, remoteAddress, ...path };
}

t.test('the documented order: the first source present wins', async (t) => {
  const cookie = `sticky=${resolver.sign('c-id')}; JSESSIONID=j-1`;
  const all = {
    headers: { 'x-user-id': 'u-1', 'x-session-id': 's-1', authorization: `Bearer ${jwt({ sub: 'sub-1' })}`, cookie },
    path: { occUserId: 'occ-user', cartGuid: 'guid-1' },
  };
  const seen: string[] = [];
  // remove the winning source, one after the other
  const headers: Record<string, string> = { ...all.headers };
  const path: { occUserId?: string; cartGuid?: string } = { ...all.path };
  const drop = [
    () => delete headers['x-user-id'],
    () => delete headers['x-session-id'],
    () => delete path.occUserId,
    () => (headers.authorization = 'Bearer opaque-token'),
    () => delete headers.authorization,
    () => delete path.cartGuid,
    () => (headers.cookie = 'JSESSIONID=j-1'),
    () => delete headers.cookie,
  ];
  for (const d of [...drop, () => undefined]) {
    const id = resolver.resolve(facts(headers, path));
    seen.push(id.source);
    d();
  }
  t.same(seen, STICKINESS_SOURCES, 'header-user, header-session, occ-user, jwt-sub, bearer-hash, cart, cookie, session-cookie, address');
});

t.test('keys: users and sessions as sent, the JWT subject, a keyed hash of an opaque token', async (t) => {
  t.equal(resolver.resolve(facts({ 'x-user-id': 'alice' })).key, 'alice');
  t.equal(resolver.resolve(facts({}, { occUserId: 'alice' })).key, 'alice');
  t.equal(resolver.resolve(facts({ authorization: `Bearer ${jwt({ sub: 'alice' })}` })).key, 'alice', 'a JWT names the same user as x-user-id');
  for (const id of [resolver.resolve(facts({ 'x-user-id': 'alice' })), resolver.resolve(facts({ authorization: `Bearer ${jwt({ sub: 'alice' })}` }))]) {
    t.equal(id.bindingKey, 'u:alice', 'one binding per user whatever names it');
    t.ok(id.user);
  }
  const opaque = resolver.resolve(facts({ authorization: 'Bearer 5f0c-secret-token' }));
  t.equal(opaque.source, 'bearer-hash');
  t.notMatch(opaque.key, /secret-token/, 'the token itself is not the key');
  t.equal(resolver.resolve(facts({ authorization: 'bearer 5f0c-secret-token' })).key, opaque.key, 'stable, whatever the scheme case');
  t.not(resolver.resolve(facts({ authorization: 'Bearer 5f0c-other-token' })).key, opaque.key);
  const other = new IdentityResolver({ cookieName: 'sticky', secure: true, secret: Buffer.from('another secret of 32 characters!'), ttlS: 3600 });
  t.not(other.resolve(facts({ authorization: 'Bearer 5f0c-secret-token' })).key, opaque.key, 'keyed: another secret, another hash');
  t.notOk(resolver.resolve(facts({}, { occUserId: 'anonymous', cartGuid: 'g-1' })).user, 'an anonymous cart is no user');
  t.notOk(resolver.resolve(facts({}, { occUserId: 'current' })).user);
});

t.test('malformed bearers still get a stable key; JWT claims that are not a usable sub are hashed', async (t) => {
  for (const token of ['a.b.c', 'x.' + b64({ sub: 42 }) + '.y', 'x.' + b64({ sub: '' }) + '.y', 'x.' + b64({ sub: 'z'.repeat(300) }) + '.y', 'x.bm90IGpzb24.y', '.....']) {
    const a = resolver.resolve(facts({ authorization: `Bearer ${token}` }));
    const b = resolver.resolve(facts({ authorization: `Bearer ${token}` }, {}, '10.9.9.9'));
    t.equal(a.source, 'bearer-hash', token);
    t.equal(a.key, b.key, `${token}: same key from anywhere`);
    t.equal(a.setCookie, undefined, 'a bearer is an identity: no cookie');
  }
  t.equal(jwtSubject(jwt({ sub: 'bob' })), 'bob');
  t.equal(jwtSubject('bob'), undefined);
  t.equal(jwtSubject('a.b.c.d'), undefined, 'four parts is no JWT');
});

t.test('oversized tokens and cookies are refused with 431; oversized ids are ignored', async (t) => {
  const err = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return e;
    }
    return undefined;
  };
  const big = err(() => resolver.resolve(facts({ authorization: `Bearer ${'t'.repeat(8193)}` })));
  t.ok(big instanceof GatewayError && big.status === 431 && big.code === 'GW_ERR_REQUEST_HEADERS_TOO_LARGE');
  t.notMatch((big as Error).message, /tttt/, 'not echoed');
  const bigCookie = err(() => resolver.resolve(facts({ cookie: `sticky=${'c'.repeat(257)}` })));
  t.ok(bigCookie instanceof GatewayError && bigCookie.status === 431);
  t.equal(resolver.resolve(facts({ authorization: `Bearer ${'t'.repeat(8192)}` })).source, 'bearer-hash', 'at the limit: accepted');
  t.equal(resolver.resolve(facts({ 'x-user-id': 'u'.repeat(257) })).source, 'address', 'an oversized id is ignored, as before');
  t.equal(resolver.resolve(facts({ cookie: `other=${'c'.repeat(3000)}` })).source, 'address', "other cookies' size is not ours to judge");
});

t.test('the sticky cookie: minted for a client with no identity, with its key; tampered or foreign ones replaced', async (t) => {
  const first = resolver.resolve(facts({ 'user-agent': 'Firefox' }));
  t.equal(first.source, 'address');
  t.match(first.setCookie, /^sticky=[A-Za-z0-9._-]+; Path=\/; Max-Age=3600; HttpOnly; SameSite=Lax; Secure$/);
  const value = first.setCookie!.slice('sticky='.length).split(';')[0]!;
  const next = resolver.resolve(facts({ 'user-agent': 'Firefox', cookie: `a=1; sticky=${value}; b=2` }, {}, '192.168.7.7'));
  t.equal(next.source, 'cookie');
  t.equal(next.key, first.key, 'the request before the cookie and the ones after share one key');
  t.equal(next.setCookie, undefined, 'a valid cookie is not replaced');
  t.equal(resolver.resolve(facts({ 'user-agent': 'Firefox' })).key, first.key, "parallel first requests (no cookie yet) share the key too");
  t.not(resolver.resolve(facts({ 'user-agent': 'Safari' })).key, first.key, 'another client, another key');

  const dot = value.lastIndexOf('.');
  const [id, sig] = [value.slice(0, dot), value.slice(dot + 1)];
  for (const bad of [`${id}x.${sig}`, `${id}.${sig.slice(0, -1)}`, id, `.${sig}`, `${id}.${new IdentityResolver({ cookieName: 'sticky', secure: true, secret: Buffer.alloc(32, 7), ttlS: 1 }).sign(id).split('.').pop()}`]) {
    const r = resolver.resolve(facts({ 'user-agent': 'Firefox', cookie: `sticky=${bad}` }));
    t.not(r.source, 'cookie', `${bad}: ignored`);
    t.ok(r.setCookie, `${bad}: replaced`);
  }
  const withCart = resolver.resolve(facts({ cookie: `sticky=${id}.forged` }, { occUserId: 'anonymous', cartGuid: 'g' }));
  t.equal(withCart.source, 'cart', 'a forged cookie does not hide the cart');
  t.ok(withCart.setCookie, 'and is replaced');
  t.notOk(resolver.resolve(facts({ cookie: 'JSESSIONID=j' })).setCookie, 'a legacy session cookie is an identity: no new cookie');

  const plain = new IdentityResolver({ cookieName: 'shop_sticky', secure: false, secret, ttlS: 60 });
  t.match(plain.resolve(facts({})).setCookie, /^shop_sticky=[^;]+; Path=\/; Max-Age=60; HttpOnly; SameSite=Lax$/, 'name and Secure are configurable');
  t.equal(resolver.resolve(facts({ cookie: `notsticky=${value}` })).source, 'address', 'only the cookie with that exact name');
});

t.test('user and session: which flag-context fields carry the key', async (t) => {
  const pick = (h: Record<string, string>, p: { occUserId?: string; cartGuid?: string } = {}) => {
    const id = resolver.resolve(facts(h, p));
    return [id.user, id.session];
  };
  t.same(pick({ 'x-user-id': 'u' }), [true, false], 'a user alone has no session: a sessionId rollout leaves it out, as before');
  t.same(pick({ authorization: 'Bearer tok' }), [true, false]);
  t.same(pick({ authorization: 'Bearer tok', cookie: `sticky=${resolver.sign('cid')}` }), [true, true], 'a logged-in browser has both');
  t.same(pick({}, { occUserId: 'anonymous', cartGuid: 'g' }), [false, true]);
  t.same(pick({ 'x-session-id': 's' }), [false, true]);
  t.same(pick({}), [false, true], 'a client with nothing: its address is its session');
});

t.test('carried: every identifier of the request, for the arm-change counter', async (t) => {
  const id = resolver.resolve(facts({ authorization: 'Bearer tok', cookie: `sticky=${resolver.sign('cid')}` }, { occUserId: 'anonymous', cartGuid: 'g-9' }));
  t.equal(id.source, 'bearer-hash');
  t.same(id.carried.map((c) => c.split(':')[0]), ['t', 'c', 'cookie']);
  t.ok(id.carried.includes('c:g-9') && id.carried.includes('cookie:cid'));
});

t.test('OCC path ids', async (t) => {
  t.same(occPathIds('/occ/v2/s/users/anonymous/carts/abc-1?fields=FULL'), { occUserId: 'anonymous', cartGuid: 'abc-1' });
  t.same(occPathIds('/occ/v2/s/users/anonymous/carts?x=1'), { occUserId: 'anonymous' });
  t.same(occPathIds('/occ/v2/s/users/al%40x.com/carts/0001'), { occUserId: 'al@x.com' }, 'a user cart is addressed by code: no guid');
  t.same(occPathIds('/occ/v2/s/products/1'), {});
  t.same(occPathIds('/api/v1/sites/s/users/x'), {});
});

t.test('in-memory bindings expire and stay bounded', async (t) => {
  const store = new MemoryBindingStore(3);
  await store.set('a', 'A', 60_000);
  await store.set('gone', 'G', -1);
  t.equal(await store.get('a'), 'A');
  t.equal(await store.get('gone'), undefined, 'expired');
  for (const k of ['b', 'c', 'd']) await store.set(k, k.toUpperCase(), 60_000);
  t.equal(store.size, 3);
  t.equal(await store.get('a'), undefined, 'the oldest went first');
  await store.set('b', 'B2', 60_000);
  t.equal(await store.get('b'), 'B2', 'a later binding replaces');
});
