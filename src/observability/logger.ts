/**
 * pino options for the gateway: JSON lines, a request id on every line, and secrets redacted
 * before they are serialized (never after).
 */
import type { FastifyServerOptions } from 'fastify';
import { randomUUID } from 'node:crypto';

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["proxy-authorization"]',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  '*.token',
  '*.password',
];

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Echo a well-formed inbound x-request-id; otherwise mint one (never trust arbitrary bytes into logs). */
export function requestIdFrom(raw: string | string[] | undefined): string {
  const v = Array.isArray(raw) ? raw[0] : raw;
  return v && REQUEST_ID.test(v) ? v : randomUUID();
}

export function loggerOptions(level: string): NonNullable<FastifyServerOptions['logger']> {
  return {
    level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { service: 'strangler-gateway' },
    timestamp: () => `,"time":"${new Date().toISOString()}"`,
  };
}
