/**
 * What a bounded context is to the gateway: one descriptor per context
 * (`src/contexts/<ctx>/index.ts`), listed once in `src/contexts/registry.ts`. Everything else
 * (config, routing, admin, composition, GraphQL, metrics, the embedded world, load tests, test
 * helpers) derives from that list. See docs/adding-a-context.md.
 */
import type { ContextIdentity, ContextName } from './names.js';
import type { PortArms } from './port-arms.js';
import type { SubgraphResolvers } from '../graphql/executor.js';
import type { CachePolicy } from '../cache/policy.js';
import type { ShadowPolicy } from '../parity/policy.js';

export type { ArmDeps, PortArms } from './port-arms.js';
export type { ShadowPolicy } from '../parity/policy.js';

/** The context's part of the composed graph: a federation v1 subgraph that extends `Product`. */
export interface GraphqlPart {
  /** federation v1 SDL; the same SDL the new service's own subgraph serves (GRAPHQL_SUBGRAPHS `<ctx>=remote`) */
  readonly sdl: string;
  /** resolvers over the port (`ctx.gw.ports.of(descriptor, scope)`): glue, no routing */
  readonly resolvers: SubgraphResolvers;
}

/**
 * Per-context policy that capabilities read, in the descriptor rather than in a new per-context
 * list.
 */
export interface ContextPolicy {
  /**
   * The data cache of the context's per-SKU reads (src/cache/, docs/caching.md): which port
   * methods, TTL, stale-if-error bound, the domain events that purge it. Absent: not cached.
   */
  readonly cache?: CachePolicy;
  /** shadow comparison: call the other arm too, compare, report, answer from the routed one (docs/parity.md) */
  readonly shadow?: ShadowPolicy;
}


export interface ContextDescriptor<P extends object = object> extends ContextIdentity {
  /** one line for docs, the CLI and the OpenAPI description */
  readonly description: string;
  readonly port: PortArms<P>;
  /** absent: the context has no field in /graphql */
  readonly graphql?: GraphqlPart;
  /**
   * Its metrics labels: `context="<name>"` on gateway_context_requests_total,
   * gateway_flag_decisions_total, gateway_fallbacks_total, and `upstream="<name>"` on the upstream
   * families. Derived from the name (one label value per context); listed for the reader.
   */
  readonly metrics: { readonly context: ContextName; readonly upstream: ContextName };
  readonly policy?: ContextPolicy;
}

/** A descriptor from an identity (src/contexts/names.ts) and the rest. */
export function describeContext<P extends object>(
  identity: ContextIdentity,
  rest: { description: string; port: PortArms<P>; graphql?: GraphqlPart; policy?: ContextPolicy },
): ContextDescriptor<P> {
  return Object.freeze({ ...identity, ...rest, metrics: Object.freeze({ context: identity.name, upstream: identity.name }) });
}
