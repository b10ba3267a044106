/**
 * Every error a client sees, in one place: problem+json on canonical routes, OCC ErrorList on
 * /occ routes (so existing OCC storefronts still parse it), the same stable code in both.
 * Fastify's own errors (bad JSON, body limit, media type, schema validation) are translated to
 * our codes; anything unexpected is a 500 with no detail beyond the request id.
 */
import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { RepeatedLogLimiter } from './observability/log-limit.js';
import { clip, GatewayError, MAX_ERROR_DETAILS, toOccErrorList, toProblem, type ErrorCode, type ProblemBody } from './errors.js';

export function isOccPath(url: string): boolean {
  return url.startsWith('/occ/');
}

/** Sets status, headers and content type for `err` on `reply` and returns the body to send. */
export function errorResponse(request: FastifyRequest, reply: FastifyReply, err: GatewayError): object {
  if (err.retryAfterSeconds !== undefined) reply.header('retry-after', String(err.retryAfterSeconds));
  reply.code(err.status);
  if (isOccPath(request.url)) {
    reply.type('application/json;charset=UTF-8');
    return toOccErrorList(err);
  }
  reply.type('application/problem+json');
  const path = request.url.split('?')[0] ?? request.url;
  return toProblem(err, path, String(request.id));
}

export function sendError(request: FastifyRequest, reply: FastifyReply, err: GatewayError): FastifyReply {
  return reply.send(errorResponse(request, reply, err));
}

const FASTIFY_CODES: Record<string, [number, ErrorCode, string]> = {
  FST_ERR_CTP_INVALID_JSON_BODY: [400, 'GW_ERR_REQUEST_MALFORMED_JSON', 'request body is not valid JSON'],
  FST_ERR_CTP_EMPTY_JSON_BODY: [400, 'GW_ERR_REQUEST_MALFORMED_JSON', 'request body is empty but content-type is application/json'],
  FST_ERR_CTP_BODY_TOO_LARGE: [413, 'GW_ERR_REQUEST_TOO_LARGE', 'request body exceeds the size limit'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [415, 'GW_ERR_REQUEST_UNSUPPORTED_MEDIA_TYPE', 'unsupported content-type; send application/json'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [400, 'GW_ERR_REQUEST_INVALID', 'content-length does not match the body'],
  FST_ERR_CTP_INVALID_TYPE: [400, 'GW_ERR_REQUEST_INVALID', 'the content-type header is not valid'],
  // the router's own refusals (fastify's `frameworkErrors`, app.ts): the URL is never echoed
  FST_ERR_BAD_URL: [400, 'GW_ERR_REQUEST_INVALID', 'the request URL has an invalid percent-encoding'],
  FST_ERR_MAX_PARAM_LENGTH: [414, 'GW_ERR_REQUEST_URI_TOO_LONG', 'a path segment of the request URL is too long'],
};

/** node's `clientError` codes (before a request exists: no route, no reply), as in fastify's own handler */
const CLIENT_ERRORS: Record<string, [number, ErrorCode, string]> = {
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'GW_ERR_REQUEST_TIMEOUT', 'the request was not received in time (REQUEST_TIMEOUT_MS, HEADERS_TIMEOUT_MS)'],
  HPE_HEADER_OVERFLOW: [431, 'GW_ERR_REQUEST_HEADERS_TOO_LARGE', 'the request headers are too large'],
};

/**
 * fastify's `clientErrorHandler`: a request node could not read (malformed, too slow, headers
 * too large) gets a problem+json with a gateway code, then the connection is closed.
 */
export function clientErrorHandler(err: Error & { code?: string }, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, code, detail] = (err.code ? CLIENT_ERRORS[err.code] : undefined) ?? [400, 'GW_ERR_REQUEST_INVALID', 'malformed HTTP request'];
  const problem: ProblemBody = toProblem(new GatewayError(status, code, detail), '', randomUUID());
  delete problem.instance; // no request line was read
  const body = JSON.stringify(problem);
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: application/problem+json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}

export function toGatewayError(err: FastifyError | GatewayError | Error): GatewayError {
  if (err instanceof GatewayError) return err;
  const fe = err as FastifyError;
  const known = fe.code ? FASTIFY_CODES[fe.code] : undefined;
  if (known) return new GatewayError(known[0], known[1], known[2]);
  if (fe.validation) {
    const errors = fe.validation.map((v) => ({
      path: `${fe.validationContext ?? 'request'}${v.instancePath || ''}`,
      message: v.message ?? 'invalid',
    }));
    // the detail names the first few, like `errors` (bounded by GatewayError); the count says the rest
    const shown = errors.slice(0, MAX_ERROR_DETAILS).map((e) => clip(`${e.path} ${e.message}`));
    const more = errors.length > shown.length ? ` (and ${errors.length - shown.length} more)` : '';
    return new GatewayError(400, 'GW_ERR_REQUEST_INVALID', `invalid ${fe.validationContext ?? 'request'}: ${shown.join('; ')}${more}`, { errors });
  }
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    if (fe.statusCode === 413) return new GatewayError(413, 'GW_ERR_REQUEST_TOO_LARGE', 'request body exceeds the size limit');
    if (fe.statusCode === 415) return new GatewayError(415, 'GW_ERR_REQUEST_UNSUPPORTED_MEDIA_TYPE', 'unsupported content-type');
    return new GatewayError(400, 'GW_ERR_REQUEST_INVALID', 'the request is invalid');
  }
  return new GatewayError(500, 'GW_ERR_INTERNAL_ERROR', 'internal error; quote the request id when reporting it');
}

/** Error lines of one code (and context) logged per second; the rest are counted in a summary line. */
export const ERROR_LINES_PER_SECOND = 10;

async function errorHandlerPlugin(app: FastifyInstance): Promise<void> {
  const levels = new Map<string, 'error' | 'info'>();
  const limiter = new RepeatedLogLimiter(ERROR_LINES_PER_SECOND, 1000, ({ key, suppressed, windowMs }) => {
    const [code, context] = key.split('|');
    const level = levels.get(key) ?? 'info';
    levels.delete(key);
    app.log[level](
      { event: 'log.suppressed', code, context: context || undefined, suppressed, windowMs },
      `${suppressed} more ${code} error lines in ${windowMs} ms, not logged one by one`,
    );
  });
  app.addHook('onClose', async () => limiter.close());
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const gwErr = toGatewayError(err);
    const key = `${gwErr.code}|${gwErr.context ?? ''}`;
    const level = gwErr.status >= 500 ? 'error' : 'info';
    if (limiter.allow(key)) {
      // a schema violation's `err` carries every ajv error (tens of thousands for a large body): log the bounded ones
      const logObj = { err: err.validation ? undefined : err, code: gwErr.code, context: gwErr.context, backend: gwErr.backend, errors: gwErr.errors, errorCount: gwErr.errorCount };
      request.log[level](logObj, gwErr.detail);
    } else levels.set(key, level);
    return sendError(request, reply, gwErr);
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(request, reply, new GatewayError(404, 'GW_ERR_ROUTE_NOT_FOUND', `no route for ${request.method} ${request.url.split('?')[0]}`)),
  );
}

export default fp(errorHandlerPlugin, { name: 'error-handler', fastify: '5.x' });
