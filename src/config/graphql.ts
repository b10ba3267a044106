/**
 * The GraphQL surface's part of the configuration (`GatewayConfig.graphql`), read from the
 * environment by the one config loader (src/config/load.ts), validated at boot with every other
 * setting, every problem reported at once (docs/ARCHITECTURE.md#validation-at-boot), then frozen.
 *
 * `GRAPHQL_SUBGRAPHS` is how a subgraph moves or joins without a code change:
 *   - `<context>=local` (the default): the gateway's own subgraph for the context, over the
 *     ports, so each request reaches legacy (through the ACL) or the new service (its REST API)
 *     as the flags decide for that request;
 *   - `<context>=remote`: requests the flags route to the new service are sent to the service's
 *     own subgraph (`<CONTEXT>_URL/graphql`) through the context's upstream client; requests
 *     routed to legacy still go through the ACL;
 *   - `<name>=<http(s) URL>`: an extra subgraph a new service exposes, composed as is.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { CONTEXTS, isContextName, type ContextName } from '../contexts/names.js';

/** the monolith's catalog subgraph: served locally only (src/graphql/subgraphs/index.ts) */
const CATALOG_SUBGRAPH = 'catalog';

const GraphqlEnv = Type.Object({
  GRAPHQL_SUBGRAPHS: Type.String({ default: '', description: 'Comma-separated `name=local|remote|<url>` (see docs/graphql.md)' }),
  // 15: a full introspection query (codegen, IDEs) nests 15 deep; the product graph itself 4.
  GRAPHQL_MAX_DEPTH: Type.Integer({ minimum: 1, maximum: 64, default: 15, description: 'Deepest field nesting a query may have' }),
  GRAPHQL_MAX_ALIASES: Type.Integer({ minimum: 0, maximum: 1000, default: 30, description: 'Aliased fields a document may contain' }),
  GRAPHQL_MAX_COMPLEXITY: Type.Integer({ minimum: 1, default: 5000, description: 'Most fields one operation may resolve, lists counted by the size asked' }),
  GRAPHQL_MAX_BATCH: Type.Integer({ minimum: 1, maximum: 100, default: 10, description: 'Operations in one batched (JSON array) request; 1 disables batching' }),
  GRAPHQL_MAX_TOKENS: Type.Integer({ minimum: 100, default: 3000, description: 'Tokens a document may contain (bounds parsing and validation cost)' }),
  GRAPHQL_JIT: Type.Integer({ minimum: 0, default: 2, description: 'Executions of the same query before it is compiled with graphql-jit (0: never)' }),
  GRAPHQL_EXPOSE_SUBGRAPHS: Type.Union([Type.Literal('true'), Type.Literal('false')], {
    default: 'false',
    description: 'Serve the gateway-hosted context subgraphs at /__subgraphs/<name>/graphql to loopback clients (another gateway, a benchmark)',
  }),
});
type GraphqlEnv = Static<typeof GraphqlEnv>;
const checkEnv = TypeCompiler.Compile(GraphqlEnv);
const INTEGER_KEYS = new Set(['GRAPHQL_MAX_DEPTH', 'GRAPHQL_MAX_ALIASES', 'GRAPHQL_MAX_COMPLEXITY', 'GRAPHQL_MAX_BATCH', 'GRAPHQL_MAX_TOKENS', 'GRAPHQL_JIT']);

export type ContextMode = 'local' | 'remote';

export interface ExtraSubgraph {
  readonly name: string;
  readonly url: string;
}

export interface GraphqlLimits {
  readonly depth: number;
  readonly aliases: number;
  readonly complexity: number;
  readonly batch: number;
  readonly tokens: number;
  /** SKUs in one `products` field and entries in one cart: the canonical REST batch limit */
  readonly listSize: number;
}

export interface GraphqlConfig {
  readonly contexts: Readonly<Record<ContextName, ContextMode>>;
  readonly extraSubgraphs: readonly ExtraSubgraph[];
  readonly limits: GraphqlLimits;
  /** executions of a query before graphql-jit compiles it, in the gateway and its subgraphs (0: never) */
  readonly jitAfter: number;
  readonly exposeSubgraphs: boolean;
}

/** Same limit as the canonical REST batch (`/api/v1/.../products?skus=`). */
export const MAX_LIST_SIZE = 100;
const NAME = /^[a-z][a-z0-9_-]{0,39}$/;

/** The GRAPHQL_* settings, and what is wrong with them (empty: nothing). */
export function readGraphqlConfig(env: NodeJS.ProcessEnv): { config: GraphqlConfig; problems: string[] } {
  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(GraphqlEnv.properties)) {
    const v = env[key];
    if (v === undefined || v === '') continue;
    raw[key] = INTEGER_KEYS.has(key) && /^-?\d+$/.test(v) ? Number(v) : v;
  }
  const e = Value.Default(GraphqlEnv, raw) as GraphqlEnv;
  const problems = [...checkEnv.Errors(e)].map((x) => `${x.path.slice(1)}: ${x.message} (got ${JSON.stringify(x.value)})`);

  const contexts = {} as Record<ContextName, ContextMode>;
  for (const c of CONTEXTS) contexts[c] = 'local';
  const extraSubgraphs: ExtraSubgraph[] = [];
  const seen = new Set<string>();
  for (const entry of (typeof e.GRAPHQL_SUBGRAPHS === 'string' ? e.GRAPHQL_SUBGRAPHS : '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const eq = entry.indexOf('=');
    const name = eq < 0 ? entry : entry.slice(0, eq).trim();
    const target = eq < 0 ? '' : entry.slice(eq + 1).trim();
    const where = `GRAPHQL_SUBGRAPHS: "${entry}"`;
    if (!NAME.test(name)) problems.push(`${where}: a subgraph name is lowercase letters, digits, - or _`);
    else if (seen.has(name)) problems.push(`${where}: ${name} is configured twice`);
    seen.add(name);
    if (isContextName(name)) {
      if (target === 'local' || target === 'remote') contexts[name] = target;
      else problems.push(`${where}: a context subgraph is "local" or "remote" (its service's own subgraph at <${name.toUpperCase()}_URL>/graphql)`);
    } else if (name === CATALOG_SUBGRAPH) {
      if (target !== 'local') problems.push(`${where}: the ${name} is owned by legacy and only served locally`);
    } else if (/^https?:\/\/[^\s/]+(\/\S*)?$/.test(target)) {
      extraSubgraphs.push(Object.freeze({ name, url: target }));
    } else {
      problems.push(`${where}: an extra subgraph needs its http(s) URL, e.g. ${name}=http://127.0.0.1:9000/graphql`);
    }
  }
  const config: GraphqlConfig = Object.freeze({
    contexts: Object.freeze(contexts),
    extraSubgraphs: Object.freeze(extraSubgraphs),
    limits: Object.freeze({
      depth: e.GRAPHQL_MAX_DEPTH,
      aliases: e.GRAPHQL_MAX_ALIASES,
      complexity: e.GRAPHQL_MAX_COMPLEXITY,
      batch: e.GRAPHQL_MAX_BATCH,
      tokens: e.GRAPHQL_MAX_TOKENS,
      listSize: MAX_LIST_SIZE,
    }),
    jitAfter: e.GRAPHQL_JIT,
    exposeSubgraphs: e.GRAPHQL_EXPOSE_SUBGRAPHS === 'true',
  });
  return { config, problems };
}
