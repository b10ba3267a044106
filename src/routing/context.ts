/**
 * The Unleash context of a request. Built once per request from what the storefront already
 * sends, so stickiness holds without any client change. With a resolved identity
 * (src/routing/identity.ts, the gateway's own surfaces) userId (when the request names a user)
 * and sessionId (when it carries a session) are both its one stickiness key, so `default`,
 * `userId` and `sessionId` stickiness hash the same value; without one, userId comes from the OCC path or `x-user-id`, sessionId from the cart
 * guid, `x-session-id` or the session cookie.
 */
import type { Context } from 'unleash-client';

export type Channel = 'occ' | 'api' | 'graphql';

export interface RequestFacts {
  headers: Record<string, string | string[] | undefined>;
  remoteAddress: string | undefined;
  site: string | undefined;
  currency: string | undefined;
  /** OCC `/users/{userId}/` segment, if any */
  occUserId?: string | undefined;
  /** OCC anonymous cart guid, if the request addresses one */
  cartGuid?: string | undefined;
  channel: Channel;
  /** the resolved stickiness key, and whether the request names a user and carries a session */
  identity?: { readonly key: string; readonly user: boolean; readonly session: boolean } | undefined;
}

const SESSION_COOKIES = ['strangler_session', 'JSESSIONID'];
const ANONYMOUS = new Set(['anonymous', 'current']);

export function buildFlagContext(f: RequestFacts): Context {
  const id = f.identity;
  const userId = id ? (id.user ? id.key : undefined) : (header(f.headers['x-user-id']) ?? (f.occUserId && !ANONYMOUS.has(f.occUserId) ? f.occUserId : undefined));
  const sessionId = id ? (id.session ? id.key : undefined) : (f.cartGuid ?? header(f.headers['x-session-id']) ?? cookie(header(f.headers.cookie)));
  const properties: Record<string, string> = { channel: f.channel };
  if (f.site) properties.baseSiteId = f.site;
  if (f.currency) properties.currency = f.currency;
  const ctx: Context = { properties };
  if (userId) ctx.userId = userId;
  if (sessionId) ctx.sessionId = sessionId;
  if (f.remoteAddress) ctx.remoteAddress = f.remoteAddress;
  return ctx;
}

function header(v: string | string[] | undefined): string | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  return s && s.length <= 256 ? s : undefined;
}

function cookie(raw: string | undefined): string | undefined {
  if (!raw) return undefined;
  for (const part of raw.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    if (SESSION_COOKIES.includes(name)) return part.slice(eq + 1).trim() || undefined;
  }
  return undefined;
}
