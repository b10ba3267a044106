/**
 * A subgraph executed in the gateway's own process: its federation schema (built by
 * @mercuriusjs/federation from the context's SDL, so `_entities` and `_service` behave as in any
 * federation v1 subgraph) with resolvers that are glue over the ports. Parsed and validated
 * documents are cached by query text, and compiled with graphql-jit once seen `jitAfter` times:
 * the gateway sends the same few generated queries over and over.
 */
import { execute, GraphQLError, parse, validate, type DocumentNode, type GraphQLFieldResolver, type GraphQLObjectType, type GraphQLSchema } from 'graphql';
import { buildFederationSchema } from '@mercuriusjs/federation';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';
import type { Gateway } from '../gateway.js';
import type { ScopeLogger } from '../upstream/scope.js';
import type { Bound } from './binding.js';
import { SkuBatch } from './batch.js';
import { asGatewayError, dedupeByCause, fromGatewayError, type WireError } from './errors.js';

/** What a subgraph's resolvers get: the gateway's services and the request's routing binding. */
export interface SubgraphContext {
  readonly gw: Gateway;
  /** the site the request addresses (its root fields' `site`), if it named one */
  readonly requestSite: string | undefined;
  /** the request's scope and site for `site` (routing decision computed once per request) */
  bind(site: string): Promise<Bound>;
  /** one batch per entity field per execution */
  batch<V>(field: string, load: (site: string, skus: readonly string[]) => Promise<ReadonlyMap<string, V>>): SkuBatch<V>;
}

export type Resolver = GraphQLFieldResolver<unknown, SubgraphContext, Record<string, unknown>>;
export type ReferenceResolver = (reference: Record<string, unknown>, args: unknown, context: SubgraphContext) => unknown;

export interface SubgraphResolvers {
  /** fields by type, e.g. `{ Query: { product }, Price: { formatted } }` */
  fields: Readonly<Record<string, Readonly<Record<string, Resolver>>>>;
  /** federation `__resolveReference` by entity type (default: the representation itself) */
  references?: Readonly<Record<string, ReferenceResolver>>;
}

/** A GraphQL-over-HTTP request body (one operation). */
export interface SubgraphRequest {
  query: string;
  variables?: Record<string, unknown> | null;
  operationName?: string | null;
}

export interface SubgraphResponse {
  data?: Record<string, unknown> | null;
  errors?: WireError[];
}

const MAX_CACHED_DOCUMENTS = 500;

interface Prepared {
  document: DocumentNode;
  runs: number;
  /** compiled once the document has run `jitAfter` times (graphql-jit); null if it cannot be */
  compiled?: CompiledQuery | null;
}

export class LocalSubgraph {
  readonly schema: GraphQLSchema;
  private readonly documents = new Map<string, Prepared | readonly GraphQLError[]>();
  private readonly prepared = new WeakMap<DocumentNode, Prepared>();

  constructor(
    readonly name: string,
    readonly sdl: string,
    resolvers: SubgraphResolvers,
    private readonly gw: Gateway,
    /** executions of a document before it is compiled (0: never) */
    private readonly jitAfter = 0,
  ) {
    this.schema = buildFederationSchema(sdl);
    for (const [typeName, fields] of Object.entries(resolvers.fields)) {
      const type = this.schema.getType(typeName) as GraphQLObjectType | undefined;
      if (!type) throw new Error(`subgraph ${name}: no type ${typeName} to resolve`);
      const defined = type.getFields();
      for (const [fieldName, resolve] of Object.entries(fields)) {
        const field = defined[fieldName];
        if (!field) throw new Error(`subgraph ${name}: no field ${typeName}.${fieldName} to resolve`);
        field.resolve = resolve as GraphQLFieldResolver<unknown, unknown>;
      }
    }
    for (const [typeName, resolveReference] of Object.entries(resolvers.references ?? {})) {
      const type = this.schema.getType(typeName) as (GraphQLObjectType & { resolveReference?: ReferenceResolver }) | undefined;
      if (!type) throw new Error(`subgraph ${name}: no entity ${typeName}`);
      // @mercuriusjs/federation's `_entities` calls `resolveReference` on the entity type.
      type.resolveReference = resolveReference;
    }
  }

  /** Executes one request; never throws: failures are GraphQL errors in our error model. */
  async execute(
    request: SubgraphRequest,
    document: DocumentNode,
    bind: (site: string) => Promise<Bound>,
    log: ScopeLogger,
    requestSite?: string,
  ): Promise<SubgraphResponse> {
    const batches = new Map<string, SkuBatch<unknown>>();
    const contextValue: SubgraphContext = {
      gw: this.gw,
      requestSite,
      bind,
      batch<V>(field: string, load: (site: string, skus: readonly string[]) => Promise<ReadonlyMap<string, V>>): SkuBatch<V> {
        let b = batches.get(field) as SkuBatch<V> | undefined;
        if (!b) batches.set(field, (b = new SkuBatch(load) as SkuBatch<V>) as SkuBatch<unknown>);
        return b;
      },
    };
    try {
      const compiled = this.compiledFor(document, request.operationName ?? undefined);
      const result = compiled
        ? await compiled.query(undefined, contextValue, request.variables ?? {})
        : await execute({
            schema: this.schema,
            document,
            variableValues: request.variables ?? undefined,
            operationName: request.operationName ?? undefined,
            contextValue,
          });
      const out: SubgraphResponse = { data: (result.data as Record<string, unknown> | null | undefined) ?? null };
      if (result.errors?.length) out.errors = dedupeByCause(result.errors, log);
      return out;
    } catch (err) {
      return { data: null, errors: [fromGatewayError(asGatewayError(err, log))] };
    }
  }

  /** The request's document, parsed and validated against this subgraph (cached), or its errors. */
  prepare(request: SubgraphRequest): DocumentNode | SubgraphResponse {
    const doc = this.document(request.query);
    if ('document' in doc) return doc.document;
    return { errors: doc.map((e) => ({ message: e.message, extensions: { code: 'GW_ERR_REQUEST_INVALID' } })) };
  }

  private compiledFor(document: DocumentNode, operationName: string | undefined): CompiledQuery | undefined {
    const p = this.prepared.get(document);
    if (!p || this.jitAfter === 0) return undefined;
    if (p.compiled === undefined && ++p.runs >= this.jitAfter) {
      const c = compileQuery(this.schema, document, operationName);
      p.compiled = isCompiledQuery(c) ? c : null;
    }
    return p.compiled ?? undefined;
  }

  private document(query: unknown): Prepared | readonly GraphQLError[] {
    if (typeof query !== 'string') return [new GraphQLError('the request has no query string')];
    let doc = this.documents.get(query);
    if (doc) return doc;
    try {
      const parsed = parse(query);
      const errors = validate(this.schema, parsed);
      if (errors.length) doc = errors;
      else {
        doc = { document: parsed, runs: 0 };
        this.prepared.set(parsed, doc);
      }
    } catch (err) {
      doc = [err as GraphQLError];
    }
    // The gateway generates a handful of distinct queries; the cap only guards against a
    // loopback client that sends endless different ones.
    if (this.documents.size >= MAX_CACHED_DOCUMENTS) this.documents.clear();
    this.documents.set(query, doc);
    return doc;
  }
}
