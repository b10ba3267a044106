/**
 * The services a route plugin may use, assembled once by the composition root (app.ts) and
 * handed to route plugins as options. Routes stay glue: decision → port → reply.
 */
import type { GatewayConfig, UpstreamName } from './config/load.js';
import type { RouteAudit } from './admin/route-audit.js';
import type { FlagProvider } from './routing/flag-provider.js';
import type { RoutingDecisions } from './routing/decision-memo.js';
import type { Upstream } from './upstream/http.js';
import type { ExtraSubgraphClient, LegacyRelay } from './upstream/clients.js';
import type { SiteRegistry } from './occ/legacy-sites.js';
import type { LegacyCatalog } from './occ/legacy-catalog.js';
import type { LegacyCarts } from './occ/legacy-carts.js';
import type { FallbackListener, Ports } from './composition/ports.js';
import type { IdempotencyStore } from './upstream/idempotency-store.js';
import type { Stickiness } from './routing/stickiness.js';
import type { EventBus } from './events/bus.js';
import type { EventsStatus } from './events/amqp.js';
import type { RenderedProducts } from './cache/rendered.js';
import type { ParityReader } from './parity/types.js';
import type { Rollouts } from './rollout/index.js';

export interface Gateway {
  readonly config: GatewayConfig;
  readonly upstreams: Readonly<Record<UpstreamName, Upstream>>;
  /** clients of the extra GraphQL subgraphs new services expose (GRAPHQL_SUBGRAPHS `<name>=<url>`) */
  readonly extraSubgraphs: readonly ExtraSubgraphClient[];
  /** the legacy passthrough's own pool and observer */
  readonly relay: LegacyRelay;
  readonly flags: FlagProvider;
  /** the audit trail: admin changes and every route change observed in the flags */
  readonly audit: RouteAudit;
  /** the routing decision of a flag context (src/routing/decision-memo.ts) */
  readonly decisions: RoutingDecisions;
  readonly sites: SiteRegistry;
  readonly catalog: LegacyCatalog;
  /** the carts the monolith keeps (not migrated), read over OCC */
  readonly carts: LegacyCarts;
  readonly ports: Ports;
  /** told of every read a new service failed and legacy answered (metrics); see recordFallback */
  readonly onFallback: FallbackListener;
  readonly idempotencyStore: IdempotencyStore;
  /** sticky identity: resolver, cart/login bindings, stickiness metrics (src/routing/stickiness.ts) */
  readonly stickiness: Stickiness;
  /** gateway events out (route changes, rollouts, parity alarms), domain events in (src/events/bus.ts) */
  readonly events: EventBus;
  /** the AMQP link carrying `events` to and from the broker (src/events/amqp.ts); absent without AMQP_URL */
  readonly broker?: { status(): EventsStatus };
  /** rendered OCC product answers (src/cache/rendered.ts); absent: the data cache is off */
  readonly rendered?: RenderedProducts;
  /** shadow comparison outcomes per context (src/parity/types.ts); absent when no comparator is wired */
  readonly parity?: ParityReader;
  /** the rollout controller, its per-arm figures and the kill override (src/rollout/) */
  readonly rollouts: Rollouts;
}
