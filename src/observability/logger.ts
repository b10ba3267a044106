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

/** Lines are written together once this many characters are waiting. */
const LOG_BATCH_CHARS = 16 * 1024;

/**
 * stdout as the gateway writes it: lines are collected and written together (one write(2) per
 * ~40 lines, at least every LOG_FLUSH_MS) instead of one synchronous write per line. Whatever is
 * waiting is written when the process exits, crash included; a SIGKILL loses at most the last
 * LOG_FLUSH_MS of lines. The writes themselves go through pino's sonic-boom (synchronous, retried
 * on EAGAIN when stdout is a full pipe). Batching in front of it rather than its own `minLength`:
 * that re-measures the whole pending buffer on every line (Buffer.byteLength of a growing string),
 * which made the buffer cost more than the writes it saved.
 */
export function bufferedStdout(): DestinationStream {
  const dest = pino.destination({ dest: 1, sync: true });
  let lines: string[] = [];
  let chars = 0;
  const flush = () => {
    if (lines.length === 0) return;
    const out = lines.length === 1 ? lines[0]! : lines.join('');
    lines = [];
    chars = 0;
    dest.write(out);
  };
  setInterval(flush, LOG_FLUSH_MS).unref();
  process.on('exit', flush);
  return {
    write(line: string) {
      lines.push(line);
      chars += line.length;
      if (chars >= LOG_BATCH_CHARS) flush();
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
