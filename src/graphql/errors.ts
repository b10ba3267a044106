/**
 * GraphQL errors in the gateway's error model (docs/ARCHITECTURE.md#error-model): every error a client sees
 * carries a stable `extensions.code` (the same GW_ERR_* codes REST uses), with the context and
 * backend when an upstream is to blame. Upstream bodies and stack traces never reach a client;
 * an unexpected error is logged and answered as GW_ERR_INTERNAL_ERROR.
 */
import { GraphQLError } from 'graphql';
import { GatewayError } from '../errors.js';
import { toGatewayError } from '../error-handler.js';

export interface WireErrorExtensions {
  [key: string]: unknown;
  code: string;
  context?: string;
  backend?: string;
  /** what failed validation in an upstream payload (paths and messages only) */
  errors?: readonly { path: string; message: string }[];
  /** which limit a rejected request exceeded */
  limit?: string;
}

/** An error as it travels in a GraphQL response (subgraph → gateway → client). */
export interface WireError {
  message: string;
  locations?: readonly { line: number; column: number }[];
  path?: readonly (string | number)[];
  extensions: WireErrorExtensions;
}

export interface ErrorLogger {
  error(obj: object, msg?: string): void;
}

export const INTERNAL_MESSAGE = 'internal error; quote the request id when reporting it';

/** A GatewayError that also says which GraphQL limit was exceeded. */
export class LimitError extends GatewayError {
  constructor(
    readonly limit: string,
    detail: string,
  ) {
    super(400, 'GW_ERR_REQUEST_INVALID', detail);
  }
}

/** Any failure as a GatewayError: ours as they are, anything else logged and made opaque. */
export function asGatewayError(err: unknown, log: ErrorLogger): GatewayError {
  if (err instanceof GatewayError) return err;
  log.error({ err, event: 'graphql.error' }, 'GraphQL execution failed unexpectedly');
  return new GatewayError(500, 'GW_ERR_INTERNAL_ERROR', INTERNAL_MESSAGE);
}

export function fromGatewayError(err: GatewayError): WireError {
  const extensions: WireErrorExtensions = { code: err.code };
  if (err.context) extensions.context = err.context;
  if (err.backend) extensions.backend = err.backend;
  if (err.errors?.length) extensions.errors = err.errors.map((e) => ({ path: e.path, message: e.message }));
  if (err instanceof LimitError) extensions.limit = err.limit;
  return { message: err.detail, extensions };
}

/**
 * One error raised while executing a subgraph, on the wire. Errors graphql-js raises itself
 * (coercion, non-null violations) have no original error and a message about the query, which
 * is safe to show; anything else that is not a GatewayError is a bug, logged with its stack.
 */
export function subgraphWireError(err: GraphQLError, log: ErrorLogger): WireError {
  const original = err.originalError;
  let wire: WireError;
  if (original instanceof GatewayError) wire = fromGatewayError(original);
  else if (original === undefined) wire = { message: err.message, extensions: { code: 'GW_ERR_REQUEST_INVALID' } };
  else {
    log.error({ err: original, event: 'graphql.resolver_error' }, 'a GraphQL resolver failed unexpectedly');
    wire = { message: INTERNAL_MESSAGE, extensions: { code: 'GW_ERR_INTERNAL_ERROR' } };
  }
  if (err.path) wire.path = err.path;
  return wire;
}

/**
 * A subgraph result's errors, one per cause: a batch that failed fails every field that waited
 * on it with the same error, and the client needs to hear about it once.
 */
export function dedupeByCause(errors: readonly GraphQLError[], log: ErrorLogger): WireError[] {
  const seen = new Set<unknown>();
  const out: WireError[] = [];
  for (const e of errors) {
    const cause = e.originalError ?? e;
    if (seen.has(cause)) continue;
    seen.add(cause);
    out.push(subgraphWireError(e, log));
  }
  return out;
}

function isWireError(x: unknown): x is WireError {
  if (typeof x !== 'object' || x === null) return false;
  const e = x as { message?: unknown; extensions?: { code?: unknown } };
  return typeof e.message === 'string' && typeof e.extensions?.code === 'string' && e.extensions.code.startsWith('GW_ERR_');
}

interface MercuriusLikeError {
  code?: string;
  statusCode?: number;
  errors?: unknown[];
  extensions?: { errors?: unknown[] };
}

/** graphql-js' message when a document has more tokens than `parseOptions.maxTokens` allows. */
const TOKEN_LIMIT = /^Syntax Error: Document contains more tha[nt] (\d+) tokens\. Parsing aborted\.$/;

/** The kinds of failure the HTTP status depends on. */
export type ErrorKind = 'request' | 'document' | 'execution';

export interface ClientError {
  wire: WireError;
  kind: ErrorKind;
  status: number;
}

/**
 * Flattens whatever mercurius and its gateway hand the error formatter into client errors:
 * a validation error bundles the document's errors; a federated error bundles a subgraph's
 * (already in our model: our subgraphs speak it, remote ones are translated on the way in);
 * subgraph errors that came with data arrive as plain objects.
 */
export function toClientErrors(errors: readonly GraphQLError[], log: ErrorLogger): ClientError[] {
  const out: ClientError[] = [];
  for (const e of errors) {
    const original = e.originalError as (Error & MercuriusLikeError) | (WireError & MercuriusLikeError) | undefined;
    const nested = original?.code === 'MER_ERR_GQL_VALIDATION' && Array.isArray(original.errors) ? original.errors : undefined;
    if (nested) {
      for (const n of nested) {
        const g = n instanceof GraphQLError ? n : undefined;
        const tokens = g ? TOKEN_LIMIT.exec(g.message) : null;
        if (tokens) {
          // graphql-js stops parsing at the limit: a refusal (like every limit), not a document error
          out.push({ wire: fromGatewayError(new LimitError('tokens', `query too long: the document has more than ${tokens[1]} tokens, the limit is ${tokens[1]}`)), kind: 'request', status: 400 });
          continue;
        }
        const message = g?.message ?? (n instanceof Error ? n.message : 'invalid request');
        const wire: WireError = { message, extensions: { code: 'GW_ERR_REQUEST_INVALID' } };
        if (g?.locations) wire.locations = g.locations;
        // A GraphQLError is about the document (syntax, validation, variables); anything else is
        // about the HTTP request itself (e.g. a body whose `query` is not a string).
        out.push({ wire, kind: g ? 'document' : 'request', status: 400 });
      }
      continue;
    }
    // @mercuriusjs/gateway's FederatedError: an Error whose extensions.errors are a subgraph's
    // errors (a wire error, a plain object, may carry `extensions.errors` of its own: details).
    const federated = original instanceof Error && !(original instanceof GatewayError) && Array.isArray(original.extensions?.errors) ? original.extensions.errors : undefined;
    if (federated) {
      for (const f of federated) out.push(execution(f, e.path, log));
      continue;
    }
    if (original instanceof GatewayError) {
      const wire = fromGatewayError(original);
      if (e.path) wire.path = e.path;
      out.push({ wire, kind: e.path ? 'execution' : 'request', status: original.status });
      continue;
    }
    if (isWireError(original)) {
      out.push(execution(original, undefined, log));
      continue;
    }
    if (original === undefined) {
      const wire: WireError = { message: e.message, extensions: { code: 'GW_ERR_REQUEST_INVALID' } };
      if (e.path) wire.path = e.path;
      if (e.locations) wire.locations = e.locations;
      out.push({ wire, kind: e.path ? 'execution' : 'document', status: 400 });
      continue;
    }
    if (original.code === 'MER_ERR_GQL_VALIDATION') {
      // mercurius' own request checks (variables that are not JSON, a body of the wrong shape)
      out.push({ wire: { message: original.message, extensions: { code: 'GW_ERR_REQUEST_INVALID' } }, kind: 'request', status: 400 });
      continue;
    }
    if (original.code === 'MER_ERR_GQL_PERSISTED_QUERY_NOT_FOUND') {
      out.push({ wire: { message: 'the request has no query', extensions: { code: 'GW_ERR_REQUEST_INVALID' } }, kind: 'request', status: 400 });
      continue;
    }
    if (original.code === 'MER_ERR_METHOD_NOT_ALLOWED') {
      out.push({ wire: { message: 'only queries may be sent with GET', extensions: { code: 'GW_ERR_METHOD_NOT_ALLOWED' } }, kind: 'request', status: 405 });
      continue;
    }
    // fastify's own request errors (bad JSON, media type, body size), translated as on REST
    const gw = toGatewayError(original as Error);
    if (gw.status >= 500) log.error({ err: original, event: 'graphql.error' }, 'GraphQL request failed unexpectedly');
    const wire = gw.status >= 500 ? { message: INTERNAL_MESSAGE, extensions: { code: gw.code } } : fromGatewayError(gw);
    out.push({ wire, kind: 'request', status: gw.status });
  }
  return dedupe(out);
}

function execution(f: unknown, path: GraphQLError['path'], log: ErrorLogger): ClientError {
  if (isWireError(f)) {
    const wire: WireError = { message: f.message, extensions: { ...f.extensions } };
    // A subgraph's own path (`_entities/7/price`) means nothing to the client; the gateway's does.
    const p = path ?? f.path;
    if (p && p[0] !== '_entities') wire.path = p;
    return { wire, kind: 'execution', status: 200 };
  }
  log.error({ err: f, event: "graphql.subgraph_error" }, "a subgraph call failed unexpectedly");
  const wire: WireError = { message: INTERNAL_MESSAGE, extensions: { code: 'GW_ERR_INTERNAL_ERROR' } };
  if (path) wire.path = path;
  return { wire, kind: 'execution', status: 200 };
}

/** One error per cause: 50 products whose prices failed together are one error, not 50. */
function dedupe(errors: ClientError[]): ClientError[] {
  const seen = new Set<string>();
  return errors.filter((e) => {
    const x = e.wire.extensions;
    const key = `${x.code}\u0000${x.context ?? ''}\u0000${x.backend ?? ''}\u0000${e.wire.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

