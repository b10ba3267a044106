/**
 * `/graphql`: one typed graph over the bounded contexts (docs/graphql.md). mercurius with
 * @mercuriusjs/gateway composes, by Apollo Federation v1, one subgraph per context: catalog
 * (legacy, over the ACL), pricing, inventory, promotions, plus any extra subgraph a new service
 * exposes (GRAPHQL_SUBGRAPHS). Each subgraph request runs with the inbound request's routing
 * decision (REST's, channel `graphql`), so a context moves between legacy and new by flag,
 * without a schema change for clients.
 *
 * Encapsulated on purpose (not fastify-plugin): mercurius installs its own error handler and
 * content-type parser, which must apply to /graphql only.
 */
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import gatewayModule, { type MercuriusGatewayOptions } from '@mercuriusjs/gateway';
import type { MercuriusOptions } from 'mercurius';
import { getOperationAST, GraphQLError, parse } from 'graphql';
import { CONTEXTS } from '../../contexts/names.js';
import { GatewayError } from '../../errors.js';
import type { Gateway } from '../../gateway.js';
import { claimSite } from '../../graphql/binding.js';
import { LimitError } from '../../graphql/errors.js';
import { LocalSubgraph, type SubgraphRequest } from '../../graphql/executor.js';
import { RemoteSubgraph } from '../../graphql/remote.js';
import { ContextSubgraph } from '../../graphql/router.js';
import { carryInbound, InProcessDispatcher, sendInProcess, UpstreamDispatcher } from '../../graphql/dispatcher.js';
import { checkDocument, checkOperation, rootSites } from '../../graphql/limits.js';
import { formatErrors, responseContentType } from '../../graphql/http.js';
import { localSubgraphs } from '../../graphql/subgraphs/index.js';

export interface GraphqlRoutesOptions {
  gw: Gateway;
}

// CommonJS whose module.exports is the plugin, typed as an ES default export: under NodeNext
// the default import is module.exports at runtime, but the types see the module namespace.
const mercuriusGateway = gatewayModule as unknown as FastifyPluginAsync<MercuriusOptions & MercuriusGatewayOptions>;

/** distinct query texts remembered at once (the gateway's own plan cache holds 1,024 entries) */
const MAX_QUERY_TOKENS = 1024;

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

/** The operation the request runs (GET: query string; POST: body, one element of a batch). */
function operationNameOf(request: FastifyRequest, operationId: number | undefined): string | undefined {
  const body = request.body as unknown;
  const source = Array.isArray(body) ? (body[operationId ?? 0] as unknown) : body ?? request.query;
  const name = (source as { operationName?: unknown } | undefined)?.operationName;
  return typeof name === 'string' ? name : undefined;
}

/** Throws graphql-js' own error when a GET names an operation its document does not have. */
function unknownOperationOverGet(query: unknown, maxTokens: number): void {
  const { query: source, operationName: name } = (query ?? {}) as { query?: unknown; operationName?: unknown };
  if (typeof source !== 'string' || typeof name !== 'string' || name === '') return;
  if (source.includes(name)) {
    let document;
    try {
      document = parse(source, { maxTokens });
    } catch {
      return; // mercurius answers the syntax error
    }
    if (getOperationAST(document, name)) return;
  }
  const shown = name.length > 100 ? `${name.slice(0, 100)}…` : name;
  throw new GraphQLError(`Unknown operation named "${shown}".`);
}

export default async function graphqlRoutes(app: FastifyInstance, opts: GraphqlRoutesOptions): Promise<void> {
  const { gw } = opts;
  // GRAPHQL_* are read by the config loader, the extra subgraphs' clients built by the composition root
  const config = gw.config.graphql;
  const { limits } = config;

  const subgraphs = localSubgraphs().map(({ name, sdl, resolvers, context }) => {
    const local = new LocalSubgraph(name, sdl, resolvers, gw, config.jitAfter);
    const remote = context && config.contexts[context] === 'remote' ? new RemoteSubgraph(context, sdl, gw.upstreams[context]!, config.jitAfter) : undefined;
    return new ContextSubgraph(gw, local, context, remote);
  });
  const extras = gw.extraSubgraphs;

  // Before mercurius registers its routes, so they apply to them.
  // The graph documents itself (introspection); the OpenAPI document at /docs is the REST API's.
  app.addHook('onRoute', (route) => {
    route.schema = { ...route.schema, hide: true };
  });
  app.addHook('preValidation', async (request) => {
    // GraphQL over HTTP allows `"extensions": null`; mercurius' body schema wants an object.
    const ops: unknown[] = Array.isArray(request.body) ? request.body : [request.body];
    for (const op of ops) {
      if (op !== null && typeof op === 'object' && (op as { extensions?: unknown }).extensions === null) delete (op as { extensions?: unknown }).extensions;
    }
  });
  app.addHook('preHandler', async (request) => {
    // mercurius reads `operation` off the operation a GET names before checking that it exists
    // (a TypeError, so a 500): refuse it here as graphql-js refuses it over POST.
    if (request.method === 'GET') unknownOperationOverGet(request.query, limits.tokens);
    if (Array.isArray(request.body) && request.body.length > limits.batch) {
      throw new LimitError('batch', `too many operations in one batch: ${request.body.length}, the limit is ${limits.batch}`);
    }
  });
  app.addHook('onSend', async (request, reply, payload) => {
    if (request.routeOptions.url === '/graphql') reply.header('content-type', responseContentType(request.headers.accept));
    return payload;
  });

  await app.register(mercuriusGateway, {
    path: '/graphql',
    graphiql: false,
    // graphql-jit for queries seen `jitAfter` times (mercurius compiles after validation)
    jit: config.jitAfter,
    allowBatchedQueries: limits.batch > 1,
    graphql: { parseOptions: { maxTokens: limits.tokens } },
    errorFormatter: formatErrors,
    gateway: {
      services: [
        ...subgraphs.map((s) => ({
          name: s.name,
          // never dialled: the dispatcher executes the subgraph in process
          url: `http://${s.name}.subgraph.invalid/graphql`,
          schema: s.sdl,
          mandatory: true,
          agent: new InProcessDispatcher(s).asAgent(),
          rewriteHeaders: carryInbound,
        })),
        ...extras.map((e) => ({
          name: e.name,
          url: e.url,
          mandatory: false,
          agent: new UpstreamDispatcher(e.name, e.upstream).asAgent(),
          rewriteHeaders: carryInbound,
        })),
      ],
    },
  });

  // the hosted subgraphs' answers reach the gateway as objects, not as JSON text to parse again
  const missed = sendInProcess(app.graphqlGateway.serviceMap, subgraphs);
  if (missed.length) app.log.warn({ event: 'graphql.in_process_send', missed }, `@mercuriusjs/gateway's service entries changed shape: ${missed.join(', ')} answer through the dispatcher (JSON round trip)`);

  app.graphql.addHook('preValidation', async (_schema, document) => {
    checkDocument(document, limits);
  });
  // @mercuriusjs/gateway caches each field's subgraph query under `${__currentQuery}_<path>`,
  // looked up once per entity field per element (60 times for 20 products with 3 contexts):
  // each time the whole query text is concatenated into a new string and hashed. A short token
  // per query text makes those keys short; tokens are never reused, so a cleared map cannot
  // make two queries share a cached plan.
  const queryTokens = new Map<string, string>();
  let nextToken = 0;
  app.graphql.addHook('preExecution', async (_schema, _document, context) => {
    const query = context.__currentQuery;
    if (typeof query !== 'string') return;
    let token = queryTokens.get(query);
    if (token === undefined) {
      if (queryTokens.size >= MAX_QUERY_TOKENS) queryTokens.clear();
      queryTokens.set(query, (token = `q${nextToken++}`));
    }
    context.__currentQuery = token;
  });
  app.graphql.addHook('preExecution', async (_schema, document, context, variables) => {
    const request = context.reply.request;
    const operation = getOperationAST(document, operationNameOf(request, context.operationId));
    if (!operation) return;
    checkOperation(operation, document, variables, limits);
    // One site per request: the routing decision is per request (see src/graphql/binding.ts).
    for (const site of rootSites(operation, document, variables)) claimSite(request, site);
  });
  app.graphql.addHook('onResolution', async (execution, context) => {
    const request = context.reply.request;
    const scope = request.gwScope;
    const route: Record<string, string> = {};
    for (const c of CONTEXTS) {
      if (scope?.touched.has(c)) route[c] = scope.fallbacks.has(c) ? 'legacy(fallback)' : scope.decision[c]!;
    }
    // Not on GET: a per-request id in the body would make every answer unique and defeat its ETag
    // (src/http-validators.ts); the id is in the `x-request-id` header either way.
    const id = request.method === 'GET' ? {} : { requestId: String(request.id) };
    execution.extensions = { ...execution.extensions, ...id, ...(Object.keys(route).length ? { route } : {}) };
  });

  if (config.exposeSubgraphs) {
    const byName = new Map(subgraphs.map((s) => [s.name, s]));
    app.post<{ Params: { name: string } }>('/__subgraphs/:name/graphql', async (request) => {
      const subgraph = byName.get(request.params.name);
      // Only for a gateway or benchmark on this host: the graph's limits apply at /graphql.
      if (!subgraph || !LOOPBACK.has(request.ip)) throw new GatewayError(404, 'GW_ERR_ROUTE_NOT_FOUND', `no route for POST ${request.url.split('?')[0]}`);
      const body = request.body as SubgraphRequest | undefined;
      if (!body || typeof body !== 'object' || Array.isArray(body)) throw new GatewayError(400, 'GW_ERR_REQUEST_INVALID', 'expected one GraphQL request');
      return subgraph.handle(body, request);
    });
  }
}
