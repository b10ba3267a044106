/**
 * Bearer-token check for /admin (RFC 6750). Both sides are hashed first so timingSafeEqual
 * compares equal-length buffers and the comparison time says nothing about the token's length
 * or content.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export type BearerVerdict = 'ok' | 'missing' | 'invalid';

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

export function bearerChecker(expected: string): (authorization: string | undefined) => BearerVerdict {
  const want = digest(expected);
  return (authorization) => {
    if (!authorization) return 'missing';
    // The scheme is case-insensitive (RFC 9110 §11.1).
    const m = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization);
    if (!m) return 'invalid';
    return timingSafeEqual(digest(m[1]!), want) ? 'ok' : 'invalid';
  };
}
