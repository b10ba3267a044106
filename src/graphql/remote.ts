/**
 * A context's subgraph as its new service exposes it (`<CONTEXT>_URL/graphql`), reached through
 * the context's own upstream client: the same pool, timeout, request budget and circuit breaker
 * as its REST calls. The answer is checked against the context's SDL before the gateway uses
 * it: the anti-corruption layer of a GraphQL upstream. A drifted field (retyped, renamed,
 * dropped) becomes GW_ERR_UPSTREAM_INVALID_PAYLOAD naming the context, never garbage passed on.
 */
import {
  executeSync,
  getNamedType,
  isEnumType,
  isLeafType,
  isObjectType,
  type DocumentNode,
  type GraphQLFieldResolver,
  type GraphQLNamedType,
  type GraphQLSchema,
} from 'graphql';
import { buildFederationSchema } from '@mercuriusjs/federation';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';
import type { ContextName } from '../contexts/names.js';
import type { Upstream } from '../upstream/http.js';
import type { Scope } from '../upstream/scope.js';
import { invalidPayload, unexpectedStatus } from '../upstream/invalid.js';
import { fromGatewayError, type WireError } from './errors.js';
import type { SubgraphRequest, SubgraphResponse } from './executor.js';

/** A leaf value of exactly its declared type: graphql-js would coerce "12" into an Int; we do not. */
function checkLeaf(type: GraphQLNamedType, value: unknown): void {
  if (value === null) return;
  const ok = isEnumType(type)
    ? typeof value === 'string' && type.getValue(value) !== undefined
    : type.name === 'Int'
      ? Number.isInteger(value)
      : type.name === 'Float'
        ? typeof value === 'number'
        : type.name === 'Boolean'
          ? typeof value === 'boolean'
          : type.name === 'String' || type.name === 'ID'
            ? typeof value === 'string' || (type.name === 'ID' && Number.isInteger(value))
            : true;
  if (!ok) throw new Error(`expected ${type.name}, got ${JSON.stringify(value)?.slice(0, 40)}`);
}

/**
 * Every field reads its response key (alias or name) from the remote answer, strictly: a key the
 * query asked for must be there (a GraphQL response always has every requested field) and a leaf
 * must have its declared type.
 */
const readKey: GraphQLFieldResolver<unknown, unknown> = (source, _args, _ctx, info) => {
  if (source === null || typeof source !== 'object') return undefined;
  const key = String(info.path.key);
  if (!(key in source)) throw new Error(`missing field ${key}`);
  const value = (source as Record<string, unknown>)[key];
  const type = getNamedType(info.returnType);
  if (isLeafType(type)) {
    if (Array.isArray(value)) value.forEach((v) => checkLeaf(type, v));
    else checkLeaf(type, value);
  }
  return value;
};

export class RemoteSubgraph {
  private readonly checker: GraphQLSchema;
  /** per document: runs so far, then its compiled check (graphql-jit), as for local subgraphs */
  private readonly compiled = new WeakMap<DocumentNode, { runs: number; query?: CompiledQuery | null }>();

  constructor(
    readonly context: ContextName,
    sdl: string,
    private readonly upstream: Upstream,
    private readonly jitAfter = 0,
  ) {
    this.checker = buildFederationSchema(sdl);
    for (const type of Object.values(this.checker.getTypeMap())) {
      if (!isObjectType(type) || type.name.startsWith('__')) continue;
      for (const field of Object.values(type.getFields())) field.resolve = readKey;
    }
  }

  /** Rejects with a GatewayError for upstream trouble (so the fallback policy can apply). */
  async forward(request: SubgraphRequest, document: DocumentNode, scope: Scope): Promise<SubgraphResponse> {
    const r = await this.upstream.call('/graphql', {
      method: 'POST',
      body: request,
      headers: scope.propagate,
      deadline: scope.deadline,
      context: this.context,
      backend: 'new',
    });
    if (r.status !== 200) throw unexpectedStatus(this.context, 'new', r.status);
    return this.check(request, document, r.body, scope);
  }

  private async check(request: SubgraphRequest, document: DocumentNode, payload: unknown, scope: Scope): Promise<SubgraphResponse> {
    const body = payload as { data?: unknown; errors?: unknown } | undefined;
    const dataOk = body !== null && typeof body === 'object' && (body.data === undefined || body.data === null || typeof body.data === 'object');
    if (!dataOk || (body.errors !== undefined && !Array.isArray(body.errors))) {
      throw invalidPayload(scope, this.context, 'new', 'subgraph response', [{ path: '', message: 'not a GraphQL response ({data, errors})' }]);
    }
    // The service's own error messages stay in its logs; the client learns what failed, and where.
    const errors: WireError[] = [];
    if (Array.isArray(body.errors) && body.errors.length > 0) {
      const wire: WireError = { message: `${this.context} upstream (new) reported an error`, extensions: { code: 'GW_ERR_UPSTREAM_FAILED', context: this.context, backend: 'new' } };
      const path = (body.errors[0] as { path?: unknown }).path;
      if (Array.isArray(path) && path.every((p) => typeof p === 'string' || typeof p === 'number')) wire.path = path;
      errors.push(wire);
      scope.log.warn({ event: 'graphql.remote_errors', context: this.context, count: body.errors.length }, `${this.context} subgraph (new) answered with errors`);
    }
    if (body.data === undefined || body.data === null) return { data: null, errors };
    const compiled = this.compiledFor(document, request.operationName ?? undefined);
    const checked = compiled
      ? await compiled.query(body.data, undefined, request.variables ?? {})
      : executeSync({
          schema: this.checker,
          document,
          rootValue: body.data,
          variableValues: request.variables ?? undefined,
          operationName: request.operationName ?? undefined,
        });
    if (checked.errors?.length) {
      const err = invalidPayload(
        scope,
        this.context,
        'new',
        'subgraph response',
        checked.errors.map((e) => ({ path: `/data/${(e.path ?? []).join('/')}`, message: e.message })),
      );
      errors.push(fromGatewayError(err));
    }
    const out: SubgraphResponse = { data: (checked.data as Record<string, unknown> | null | undefined) ?? null };
    if (errors.length) out.errors = errors;
    return out;
  }

  private compiledFor(document: DocumentNode, operationName: string | undefined): CompiledQuery | undefined {
    if (this.jitAfter === 0) return undefined;
    let entry = this.compiled.get(document);
    if (!entry) this.compiled.set(document, (entry = { runs: 0 }));
    if (entry.query === undefined && ++entry.runs >= this.jitAfter) {
      const c = compileQuery(this.checker, document, operationName);
      entry.query = isCompiledQuery(c) ? c : null;
    }
    return entry.query ?? undefined;
  }
}
