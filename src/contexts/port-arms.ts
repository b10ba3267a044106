/**
 * The two arms of a context's port, as the composition root builds them
 * (src/composition/ports.ts). Kept apart from the descriptor (./descriptor.ts), which also
 * carries GraphQL types: the Gateway type reaches this file through the ports, and must not
 * reach the GraphQL resolvers that take a Gateway (an import cycle, `npm run lint`).
 */
import type { ContextName, UpstreamName } from './names.js';
import type { Upstream } from '../upstream/http.js';
import type { LegacyCatalog } from '../occ/legacy-catalog.js';

/** What a port's factory gets from the composition root. */
export interface ArmDeps {
  /** this context's own upstream client (the new service), with metrics, spans and breaker */
  readonly upstream: Upstream;
  /** the monolith's OCC client (`<LEGACY_URL>/occ/v2`) */
  readonly legacy: Upstream;
  /** the monolith's catalog reads, shared by every context (one product read per request) */
  readonly catalog: LegacyCatalog;
  /** every upstream client, for a context whose arm reads another's service */
  readonly upstreams: Readonly<Record<UpstreamName, Upstream>>;
}

/**
 * The two arms of a context's port, as factories: the composition root builds each once and picks
 * one per request by the routing decision. Every method takes the request's Scope first and is a
 * read (the new arm's failures fall back to the legacy arm: src/composition/ports.ts withFallback).
 */
export interface PortArms<P extends object> {
  readonly legacy: (deps: ArmDeps) => P;
  readonly new: (deps: ArmDeps) => P;
}

/** A context with a port of type P: what the ports are built from and looked up by. */
export interface ContextWithPort<P extends object = object> {
  readonly name: ContextName;
  readonly port: PortArms<P>;
}
