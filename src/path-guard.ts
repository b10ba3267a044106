/**
 * Rejects request targets that could steer a proxied request somewhere the configuration did
 * not intend: absolute-form targets (RFC 9112 §3.2.2, a proxy request to another host),
 * dot-segments and their percent-encoded forms, encoded separators and backslashes, NUL.
 */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { GatewayError } from './errors.js';

const UNSAFE = /(^|\/)\.\.?(\/|$)|%2e|%2f|%5c|\\|%00/i;

export function isSafeTarget(url: string): boolean {
  if (!url.startsWith('/') || url.startsWith('//')) return false;
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  return !UNSAFE.test(path);
}

async function pathGuardPlugin(app: FastifyInstance): Promise<void> {
  // callback-style: no promise per request on the hot path
  app.addHook('onRequest', (request, _reply, done) => {
    if (!isSafeTarget(request.raw.url ?? '')) {
      return done(new GatewayError(400, 'GW_ERR_REQUEST_PATH_REJECTED', 'request target rejected: use an origin-form path without dot-segments or encoded separators'));
    }
    done();
  });
}

export default fp(pathGuardPlugin, { name: 'path-guard', fastify: '5.x', dependencies: ['error-handler'] });
