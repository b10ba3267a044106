/**
 * Where one subgraph request of one inbound request goes. Every subgraph request carries the
 * inbound request, so the routing decision is the one REST makes for it (computed once, shared
 * by all subgraphs of the request), and the contexts it touches show in `x-strangler-route`.
 *
 * A context configured `remote` sends the requests the flags route to `new` to the service's own
 * subgraph; requests routed to legacy, and every context configured `local`, run the gateway's
 * subgraph over the ports. When the service's subgraph fails and the context falls back on REST,
 * it falls back here too: served by legacy, and said so (`legacy(fallback)`).
 */
import type { FastifyRequest } from 'fastify';
import type { ContextName } from '../contexts/names.js';
import { GatewayError } from '../errors.js';
import type { Gateway } from '../gateway.js';
import { Scope } from '../upstream/scope.js';
import { bind, siteOf, type Bound } from './binding.js';
import { asGatewayError, fromGatewayError } from './errors.js';
import type { LocalSubgraph, SubgraphRequest, SubgraphResponse } from './executor.js';
import type { RemoteSubgraph } from './remote.js';
import { recordFallback, type FallbackListener } from '../composition/ports.js';

export interface SubgraphHandler {
  readonly name: string;
  readonly sdl: string;
  handle(request: SubgraphRequest, inbound: FastifyRequest): Promise<SubgraphResponse>;
}

export class ContextSubgraph implements SubgraphHandler {
  readonly name: string;
  readonly sdl: string;

  constructor(
    private readonly gw: Gateway,
    private readonly local: LocalSubgraph,
    /** the routed context this subgraph serves; undefined for the catalog (always legacy) */
    private readonly context: ContextName | undefined,
    private readonly remote: RemoteSubgraph | undefined,
  ) {
    this.name = local.name;
    this.sdl = local.sdl;
  }

  async handle(request: SubgraphRequest, inbound: FastifyRequest): Promise<SubgraphResponse> {
    return whole(await this.route(request, inbound));
  }

  private async route(request: SubgraphRequest, inbound: FastifyRequest): Promise<SubgraphResponse> {
    const document = this.local.prepare(request);
    if (!('kind' in document)) return document;
    const bindInbound = (site: string) => bind(this.gw, inbound, site);
    if (this.remote && this.context) {
      const site = siteOf(inbound) ?? siteOfRepresentations(request);
      if (site !== undefined) {
        let bound: Bound;
        try {
          bound = await bindInbound(site);
        } catch (err) {
          return { data: null, errors: [fromGatewayError(asGatewayError(err, inbound.log))] };
        }
        if (bound.scope.use(this.context) === 'new') {
          try {
            return await this.remote.forward(request, document, bound.scope);
          } catch (err) {
            const failure = asGatewayError(err, inbound.log);
            if (!(failure.status >= 500 && failure.backend === 'new' && this.gw.config.fallbackContexts.has(this.context))) {
              return { data: null, errors: [fromGatewayError(failure)] };
            }
            const legacy = legacyScope(bound.scope, this.context, failure, this.gw.onFallback);
            return this.local.execute(request, document, async (s) => ({ site: (await bindInbound(s)).site, scope: legacy }), inbound.log, site);
          }
        }
      }
    }
    return this.local.execute(request, document, bindInbound, inbound.log, siteOf(inbound));
  }
}

/**
 * An entity request that failed fails whole. Its errors' paths are the subgraph's
 * (`_entities/7/price`), meaningless to the client; with `data: null` the gateway raises them on
 * each field that waited on the request, at the client's own path (`products/7/price`). Nothing
 * is lost: the gateway asks each entity request for one context's fields, and a context loads
 * them for all entities at once, so they fail together.
 */
function whole(response: SubgraphResponse): SubgraphResponse {
  if (response.errors?.length && response.data && '_entities' in response.data) return { data: null, errors: response.errors };
  return response;
}

/** The request's scope with one context served by legacy: the REST fallback policy, on GraphQL. */
function legacyScope(scope: Scope, context: ContextName, failure: GatewayError, onFallback: FallbackListener): Scope {
  recordFallback(scope, context, failure, onFallback);
  return new Scope({ ...scope.decision, [context]: 'legacy' }, scope.propagate, scope.log, scope.deadline, scope.readOnly);
}

/** Entity requests name their site in each representation (the SDL `@requires` it). */
function siteOfRepresentations(request: SubgraphRequest): string | undefined {
  const reps = request.variables?.representations;
  const first = Array.isArray(reps) ? (reps[0] as { site?: unknown } | undefined) : undefined;
  return typeof first?.site === 'string' ? first.site : undefined;
}
