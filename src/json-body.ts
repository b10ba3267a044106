/**
 * The JSON body parser of every gateway route (the passthrough relays bodies unparsed): fastify's
 * own (prototype poisoning refused), behind a nesting limit. A body is scanned once, linearly,
 * before it is parsed: JSON nested thousands deep parses, but anything recursive afterwards
 * (validation, serialization when a cart write is forwarded) overflows the stack, which was a 500.
 */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { GatewayError } from './errors.js';

/** Deeper than any request the gateway's APIs take (an OCC cart entry nests 3, GraphQL variables a few). */
export const MAX_JSON_DEPTH = 64;

/** The deepest nesting of arrays and objects in `text`, counting only up to `limit + 1`. */
export function jsonDepth(text: string, limit = MAX_JSON_DEPTH): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) {
        max = depth;
        if (max > limit) return max;
      }
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}

async function jsonBody(app: FastifyInstance): Promise<void> {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body as string;
    if (jsonDepth(text) > MAX_JSON_DEPTH) {
      done(new GatewayError(400, 'GW_ERR_REQUEST_INVALID', `request body nests deeper than ${MAX_JSON_DEPTH} levels`), undefined);
      return;
    }
    parse(request, text, done);
  });
}

export default fp(jsonBody, { name: 'json-body', fastify: '5.x' });
