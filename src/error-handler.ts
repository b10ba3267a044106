/**
 * Every error a client sees, in one place: problem+json on canonical routes, OCC ErrorList on
 * /occ routes (so existing OCC storefronts still parse it), the same stable code in both.
 * Fastify's own errors (bad JSON, body limit, media type, schema validation) are translated to
 * our codes; anything unexpected is a 500 with no detail beyond the request id.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { clip, GatewayError, MAX_ERROR_DETAILS, toOccErrorList, toProblem, type ErrorCode } from './errors.js';

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
};

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

async function errorHandlerPlugin(app: FastifyInstance): Promise<void> {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const gwErr = toGatewayError(err);
    // a schema violation's `err` carries every ajv error (tens of thousands for a large body): log the bounded ones
    const logObj = { err: err.validation ? undefined : err, code: gwErr.code, context: gwErr.context, backend: gwErr.backend, errors: gwErr.errors, errorCount: gwErr.errorCount };
    if (gwErr.status >= 500) request.log.error(logObj, gwErr.detail);
    else request.log.info(logObj, gwErr.detail);
    return sendError(request, reply, gwErr);
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(request, reply, new GatewayError(404, 'GW_ERR_ROUTE_NOT_FOUND', `no route for ${request.method} ${request.url.split('?')[0]}`)),
  );
}

export default fp(errorHandlerPlugin, { name: 'error-handler', fastify: '5.x' });
