/**
 * Who a request belongs to, for routing only: the stickiness key the route flags hash, and the
 * source it came from. The order (first present wins) is documented in docs/stickiness.md:
 *
 *   1. `x-user-id`, then `x-session-id` (explicit headers)
 *   2. the OCC path's user id (`/users/{userId}/`, not `anonymous` or `current`)
 *   3. a bearer token: the `sub` of a JWT, else a keyed hash of the token (never the token itself:
 *      it is neither logged nor stored; nothing here verifies it, this is no authorization)
 *   4. the OCC anonymous cart guid (`/users/anonymous/carts/{guid}`)
 *   5. the gateway's own signed sticky cookie
 *   6. a legacy session cookie (`JSESSIONID`, `strangler_session`), as before this module
 *   7. a keyed hash of remote address + user agent, for clients that keep nothing
 *
 * A client with none of 1–6 (or whose sticky cookie fails its signature) is sent a new sticky
 * cookie whose id is the key of 7, so the requests it makes before it stores the cookie (a
 * storefront's parallel first calls) and after hash the same key.
 *
 * Users, tokens and carts may be bound to an earlier key (src/routing/sticky-bindings.ts): the
 * key a request is routed by is that binding when there is one (`effective`).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { GatewayError } from '../errors.js';

/** Every source, in the resolver's order. */
export const STICKINESS_SOURCES = ['header-user', 'header-session', 'occ-user', 'jwt-sub', 'bearer-hash', 'cart', 'cookie', 'session-cookie', 'address'] as const;
export type StickinessSource = (typeof STICKINESS_SOURCES)[number];

/** The namespace a binding of a key lives under, by source; sources never bound have none. */
const BINDING_NS: Partial<Record<StickinessSource, string>> = {
  'header-user': 'u:',
  'occ-user': 'u:',
  'jwt-sub': 'u:',
  'bearer-hash': 't:',
  cart: 'c:',
};

/** Longest id taken from a header, path or token claim (longer ones are ignored, as before). */
export const MAX_ID_LENGTH = 256;
/** Longest bearer token accepted (a JWT with many claims is a few KB); longer: 431. */
export const MAX_BEARER_LENGTH = 8192;
/** Longest sticky cookie value accepted (the gateway mints ~45 characters); longer: 431. */
export const MAX_COOKIE_VALUE_LENGTH = 256;

/** Verified cookie values remembered (each ~70 bytes). */
const VERIFIED_CACHE = 10_000;
const LEGACY_SESSION_COOKIES = ['JSESSIONID', 'strangler_session'];
const NOT_A_USER = new Set(['anonymous', 'current']);

export interface StickyOptions {
  /** sticky cookie name */
  readonly cookieName: string;
  /** `Secure` attribute on the cookie */
  readonly secure: boolean;
  /** HMAC key for the cookie signature and the token/address hashes */
  readonly secret: Buffer;
  /** cookie Max-Age and binding TTL, seconds */
  readonly ttlS: number;
}

export interface IdentityFacts {
  readonly headers: IncomingHttpHeaders;
  readonly remoteAddress: string | undefined;
  /** OCC `/users/{userId}/` segment, if the path has one */
  readonly occUserId?: string | undefined;
  /** OCC anonymous cart guid, if the path addresses one */
  readonly cartGuid?: string | undefined;
}

export interface Identity {
  readonly source: StickinessSource;
  /** the key of the source, before bindings */
  readonly key: string;
  /** where a binding of `key` lives (namespace + key), undefined for sources never bound */
  readonly bindingKey: string | undefined;
  /** the request names a user (x-user-id, OCC path, bearer): the key also goes to the flag context's userId */
  readonly user: boolean;
  /**
   * the request carries a session (x-session-id, a cart guid, a sticky or session cookie, or
   * nothing else: its address): the key also goes to the flag context's sessionId
   */
  readonly session: boolean;
  /** every identifier the request carried, namespaced (for the arm-change counter) */
  readonly carried: readonly string[];
  /** `Set-Cookie` to send with the response: the client has no identity or a bad cookie */
  readonly setCookie: string | undefined;
  /** the key routing hashes: the binding of `bindingKey` if any, else `key` (set once looked up) */
  effective: string;
}

export class IdentityResolver {
  private readonly cookiePrefix: string;
  private readonly cookieAttributes: string;
  /** cookie values whose signature verified (bounded: cleared when full) */
  private readonly verified = new Map<string, string>();

  constructor(private readonly opts: StickyOptions) {
    this.cookiePrefix = `${opts.cookieName}=`;
    this.cookieAttributes = `; Path=/; Max-Age=${opts.ttlS}; HttpOnly; SameSite=Lax${opts.secure ? '; Secure' : ''}`;
  }

  /** A random secret for a gateway without STICKY_SECRET (one instance only: see docs/stickiness.md). */
  static randomSecret(): Buffer {
    return randomBytes(32);
  }

  /**
   * The identity of a request. Throws a 431 GatewayError for an oversized bearer token or sticky
   * cookie; anything else malformed is ignored (a bad cookie is replaced, a bad token hashed).
   */
  resolve(f: IdentityFacts): Identity {
    const h = f.headers;
    const carried: string[] = [];
    let source: StickinessSource | undefined;
    let key: string | undefined;
    const pick = (s: StickinessSource, k: string): void => {
      const ns = BINDING_NS[s] ?? `${s}:`;
      carried.push(ns + k);
      if (source === undefined) {
        source = s;
        key = k;
      }
    };

    const xUser = idOf(h['x-user-id']);
    if (xUser !== undefined) pick('header-user', xUser);
    const xSession = idOf(h['x-session-id']);
    if (xSession !== undefined) pick('header-session', xSession);
    if (f.occUserId !== undefined && !NOT_A_USER.has(f.occUserId) && f.occUserId.length <= MAX_ID_LENGTH) pick('occ-user', f.occUserId);

    const auth = h.authorization;
    if (typeof auth === 'string' && auth.length > 7 && auth.slice(0, 7).toLowerCase() === 'bearer ') {
      const token = auth.slice(7).trim();
      if (token.length > MAX_BEARER_LENGTH) {
        throw new GatewayError(431, 'GW_ERR_REQUEST_HEADERS_TOO_LARGE', `bearer token exceeds ${MAX_BEARER_LENGTH} characters`);
      }
      if (token.length > 0) {
        const sub = jwtSubject(token);
        if (sub !== undefined) pick('jwt-sub', sub);
        else pick('bearer-hash', this.hash('t', token));
      }
    }
    if (f.cartGuid !== undefined && f.cartGuid.length <= MAX_ID_LENGTH) pick('cart', f.cartGuid);

    let badCookie = false;
    const cookieHeader = h.cookie;
    if (cookieHeader !== undefined && cookieHeader.length > 0) {
      const raw = cookieValue(cookieHeader, this.cookiePrefix);
      if (raw !== undefined) {
        if (raw.length > MAX_COOKIE_VALUE_LENGTH) {
          throw new GatewayError(431, 'GW_ERR_REQUEST_HEADERS_TOO_LARGE', `cookie ${this.opts.cookieName} exceeds ${MAX_COOKIE_VALUE_LENGTH} characters`);
        }
        const id = this.verify(raw);
        if (id !== undefined) pick('cookie', id);
        else badCookie = true;
      }
      for (const name of LEGACY_SESSION_COOKIES) {
        const v = cookieValue(cookieHeader, `${name}=`);
        if (v !== undefined && v.length > 0 && v.length <= MAX_ID_LENGTH) {
          pick('session-cookie', v);
          break;
        }
      }
    }

    let setCookie: string | undefined;
    if (source === undefined || badCookie) {
      const address = this.hash('a', `${f.remoteAddress ?? ''}\n${typeof h['user-agent'] === 'string' ? h['user-agent'] : ''}`);
      if (source === undefined) pick('address', address);
      setCookie = this.cookiePrefix + this.sign(address) + this.cookieAttributes;
    }
    const s = source as StickinessSource;
    const k = key as string;
    const ns = BINDING_NS[s];
    return { source: s, key: k, bindingKey: ns === undefined ? undefined : ns + k, user: carried.some((c) => c.startsWith('u:') || c.startsWith('t:')), session: carried.some(isSession), carried, setCookie, effective: k };
  }

  /** The binding key of an anonymous cart guid. */
  static cartBindingKey(guid: string): string {
    return BINDING_NS.cart + guid;
  }

  /** `<id>.<signature>`: the id and a truncated HMAC of it (128 bits). */
  sign(id: string): string {
    return `${id}.${this.mac('cookie.v1', id)}`;
  }

  /** The id of a cookie value the gateway signed, else undefined. */
  verify(value: string): string | undefined {
    // a shopper sends the same cookie on every request: its HMAC is checked once
    const known = this.verified.get(value);
    if (known !== undefined) return known;
    const id = this.check(value);
    if (id !== undefined) {
      if (this.verified.size >= VERIFIED_CACHE) this.verified.clear();
      this.verified.set(value, id);
    }
    return id;
  }

  private check(value: string): string | undefined {
    const dot = value.lastIndexOf('.');
    if (dot <= 0) return undefined;
    const id = value.slice(0, dot);
    const given = Buffer.from(value.slice(dot + 1));
    const want = Buffer.from(this.mac('cookie.v1', id));
    return given.length === want.length && timingSafeEqual(given, want) ? id : undefined;
  }

  private hash(kind: 'a' | 't', value: string): string {
    return `${kind}.${this.mac(kind, value)}`;
  }

  private mac(purpose: string, value: string): string {
    return createHmac('sha256', this.opts.secret).update(purpose).update('\0').update(value).digest('base64url').slice(0, 22);
  }
}

const SESSION_NS = ['header-session:', 'c:', 'cookie:', 'session-cookie:', 'address:'];
const isSession = (carried: string): boolean => SESSION_NS.some((ns) => carried.startsWith(ns));

function idOf(v: string | string[] | undefined): string | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  return s && s.length <= MAX_ID_LENGTH ? s : undefined;
}

/** The value of the first cookie called `prefix` (name + '='), if any. */
function cookieValue(header: string, prefix: string): string | undefined {
  let i = header.indexOf(prefix);
  while (i >= 0) {
    // a whole cookie name: at the start or after `;` and spaces
    let j = i - 1;
    while (j >= 0 && header[j] === ' ') j--;
    if (j < 0 || header[j] === ';') {
      const start = i + prefix.length;
      const end = header.indexOf(';', start);
      return (end < 0 ? header.slice(start) : header.slice(start, end)).trim();
    }
    i = header.indexOf(prefix, i + 1);
  }
  return undefined;
}

/**
 * The `sub` claim of a token shaped like a JWT (three base64url parts, a JSON payload), without
 * verifying it: the gateway routes by it, it does not authorize with it.
 */
export function jwtSubject(token: string): string | undefined {
  const a = token.indexOf('.');
  if (a <= 0) return undefined;
  const b = token.indexOf('.', a + 1);
  if (b < 0 || token.indexOf('.', b + 1) >= 0) return undefined;
  try {
    const payload: unknown = JSON.parse(Buffer.from(token.slice(a + 1, b), 'base64url').toString('utf8'));
    if (payload === null || typeof payload !== 'object') return undefined;
    const sub = (payload as { sub?: unknown }).sub;
    return typeof sub === 'string' && sub.length > 0 && sub.length <= MAX_ID_LENGTH ? sub : undefined;
  } catch {
    return undefined;
  }
}

const OCC_USER = /^\/occ\/v2\/[^/?]+\/users\/([^/?]+)(?:\/carts\/([^/?]+))?/;

/** The OCC user id and anonymous cart guid a request path addresses. */
export function occPathIds(url: string): { occUserId?: string; cartGuid?: string } {
  if (!url.startsWith('/occ/v2/') || !url.includes('/users/')) return {};
  const m = OCC_USER.exec(url);
  if (!m) return {};
  const occUserId = decodeSafe(m[1]!);
  if (occUserId === 'anonymous' && m[2] !== undefined) return { occUserId, cartGuid: decodeSafe(m[2]) };
  return { occUserId };
}

function decodeSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
