/**
 * Console sessions (docs/console.md#sessions-and-csrf): the admin token is exchanged once, at the
 * login form, for a signed cookie that carries the operator's name and its expiry. Stateless: an
 * HMAC under a key derived from ADMIN_TOKEN, so every worker and instance sharing the token
 * accepts it, and rotating ADMIN_TOKEN ends every session. Logout revokes the session id in this
 * process until it would have expired anyway.
 *
 * CSRF (synchronizer token): the token is an HMAC of the session id, handed to the page in the
 * login answer (never in a cookie), and required as `x-csrf-token` on every write. A page of
 * another origin can neither read it nor, with SameSite=Strict, send the cookie.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const COOKIE_NAME = 'strangler_console';
export const COOKIE_PATH = '/console';

export interface ConsoleSession {
  readonly sid: string;
  readonly actor: string;
  /** epoch ms */
  readonly exp: number;
}

export type SessionVerdict = { ok: true; session: ConsoleSession } | { ok: false; reason: 'missing' | 'invalid' | 'expired' | 'revoked' };

const b64 = (b: Buffer) => b.toString('base64url');

export class SessionKeeper {
  private readonly key: Buffer;
  private readonly revoked = new Map<string, number>();

  constructor(
    adminToken: string,
    readonly ttlS: number,
    private readonly now: () => number = Date.now,
  ) {
    this.key = createHmac('sha256', 'strangler-console-session-v1').update(adminToken, 'utf8').digest();
  }

  private mac(s: string): Buffer {
    return createHmac('sha256', this.key).update(s, 'utf8').digest();
  }

  issue(actor: string): { session: ConsoleSession; cookieValue: string } {
    const session: ConsoleSession = { sid: b64(randomBytes(18)), actor, exp: this.now() + this.ttlS * 1000 };
    const payload = b64(Buffer.from(JSON.stringify(session), 'utf8'));
    return { session, cookieValue: `${payload}.${b64(this.mac(payload))}` };
  }

  verify(cookieValue: string | undefined): SessionVerdict {
    if (!cookieValue) return { ok: false, reason: 'missing' };
    const dot = cookieValue.indexOf('.');
    if (dot <= 0) return { ok: false, reason: 'invalid' };
    const payload = cookieValue.slice(0, dot);
    const given = Buffer.from(cookieValue.slice(dot + 1), 'base64url');
    const want = this.mac(payload);
    if (given.length !== want.length || !timingSafeEqual(given, want)) return { ok: false, reason: 'invalid' };
    let s: Partial<ConsoleSession>;
    try {
      s = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Partial<ConsoleSession>;
    } catch {
      return { ok: false, reason: 'invalid' };
    }
    if (typeof s.sid !== 'string' || typeof s.actor !== 'string' || typeof s.exp !== 'number') return { ok: false, reason: 'invalid' };
    if (s.exp <= this.now()) return { ok: false, reason: 'expired' };
    if (this.revoked.has(s.sid)) return { ok: false, reason: 'revoked' };
    return { ok: true, session: { sid: s.sid, actor: s.actor, exp: s.exp } };
  }

  csrfToken(session: ConsoleSession): string {
    return b64(this.mac(`csrf:${session.sid}`));
  }

  checkCsrf(session: ConsoleSession, given: string | undefined): boolean {
    if (!given) return false;
    const a = Buffer.from(given, 'utf8');
    const b = Buffer.from(this.csrfToken(session), 'utf8');
    return a.length === b.length && timingSafeEqual(a, b);
  }

  revoke(session: ConsoleSession): void {
    const now = this.now();
    for (const [sid, exp] of this.revoked) if (exp <= now) this.revoked.delete(sid);
    this.revoked.set(session.sid, session.exp);
  }
}

/** The value of one cookie in a Cookie header (RFC 6265 §5.4), undefined when absent. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export function sessionCookie(value: string, maxAgeS: number, secure: boolean): string {
  return `${COOKIE_NAME}=${value}; Path=${COOKIE_PATH}; Max-Age=${maxAgeS}; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}

export function clearedCookie(secure: boolean): string {
  return `${COOKIE_NAME}=; Path=${COOKIE_PATH}; Max-Age=0; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}
