/**
 * pino options for the gateway: JSON lines, a request id and a trace id on every request line
 * (bound by the per-request logger, see observability/telemetry.ts), and secrets redacted before
 * they are serialized (never after).
 */
import type { FastifyRequest, FastifyServerOptions } from 'fastify';
import pino, { type DestinationStream } from 'pino';
import { randomUUID } from 'node:crypto';

/**
 * Credentials wherever a log object may carry them. pino applies these after the serializers:
 * fastify's `res` serializer and ours for `req` (below) write no headers at all, so request and
 * response headers cannot reach the log through the request lines; these paths cover a handler
 * logging the headers it saw, an error carrying the headers it was sent with, credential
 * fields, and the gateway's config (ADMIN_TOKEN, the Unleash tokens).
 *
 * No `*` paths, and none under `req`/`res`: pino 9's redactor deep-clones and re-serializes
 * every value in a redacted namespace, and a leading `*` makes every key one, so such paths
 * cost ~10 µs per request on the three lines each request logs, to guard nothing.
 */
export const REDACT_PATHS = [
  'headers.authorization',
  'headers.cookie',
  'headers["set-cookie"]',
  'headers["proxy-authorization"]',
  'headers["x-api-key"]',
  'err.headers.authorization',
  'err.headers.cookie',
  'err.headers["set-cookie"]',
  'err.headers["proxy-authorization"]',
  'err.headers["x-api-key"]',
  'authorization',
  'cookie',
  'token',
  'password',
  'client_secret',
  'adminToken',
  'config.adminToken',
  'config.flags.token',
  'config.flags.admin.token',
];

/** Query parameters that carry credentials (OAuth 2 / RFC 6750 §2.3 allows `access_token`). */
const SECRET_QUERY = /([?&](?:access_token|refresh_token|id_token|token|client_secret|password|api_key|apikey)=)[^&#]*/gi;

/** The URL as logged: credential query parameters replaced, the rest as received. */
export function redactUrl(url: string): string {
  return url.includes('?') ? url.replace(SECRET_QUERY, '$1[redacted]') : url;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Echo a well-formed inbound x-request-id; otherwise mint one (never trust arbitrary bytes into logs). */
export function requestIdFrom(raw: string | string[] | undefined): string {
  const v = Array.isArray(raw) ? raw[0] : raw;
  return v && REQUEST_ID.test(v) ? v : randomUUID();
}

/**
 * The `time` field, ISO 8601 with milliseconds. Formatting a Date was the most expensive of our
 * own functions on the passthrough (2.9 % of its CPU): the string is rebuilt only when the
 * millisecond changes, and many lines share a millisecond under load.
 */
let lastMs = 0;
let lastTime = '';
export function isoTime(): string {
  const now = Date.now();
  if (now !== lastMs) {
    lastMs = now;
    lastTime = `,"time":"${new Date(now).toISOString()}"`;
  }
  return lastTime;
}

/** How long a log line may wait in the stdout buffer before it is written. */
export const LOG_FLUSH_MS = 100;

/**
 * stdout as the gateway writes it: lines are buffered (up to 8 KB) and written together, at
 * least every LOG_FLUSH_MS, instead of one synchronous write(2) per line; the buffer is flushed
 * synchronously when the process exits (pino registers that), crash included. A SIGKILL loses
 * at most the last LOG_FLUSH_MS of lines.
 */
export function bufferedStdout(): DestinationStream {
  const dest = pino.destination({ dest: 1, sync: false, minLength: 8 * 1024 });
  let pending = false;
  setInterval(() => {
    if (!pending) return; // an idle gateway makes no empty writes
    pending = false;
    // sonic-boom throws when flushed while it is still opening or after it ended
    try {
      dest.flush();
    } catch {}
  }, LOG_FLUSH_MS).unref();
  return {
    write(line: string) {
      pending = true;
      dest.write(line);
    },
  };
}

export function loggerOptions(level: string, stream?: DestinationStream): NonNullable<FastifyServerOptions['logger']> {
  return {
    level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { service: 'strangler-gateway' },
    timestamp: isoTime,
    serializers: {
      // fastify's own request serializer, with credentials in the query string redacted
      req: (req: FastifyRequest) => ({
        method: req.method,
        url: typeof req.url === 'string' ? redactUrl(req.url) : req.url,
        host: req.host,
        remoteAddress: req.ip,
        remotePort: req.socket?.remotePort,
      }),
    },
    ...(stream ? { stream } : {}),
  };
}
