/**
 * Upstream clients beyond one per context, built by the composition root (src/app.ts) like the
 * context clients: each observed (metrics, client spans) and, where the gateway makes the call
 * itself, guarded by a breaker, retries and a timeout. Route modules receive them through the
 * Gateway; none builds its own.
 */
import { Pool } from 'undici';
import type { GatewayConfig } from '../config/load.js';
import type { Telemetry, UpstreamTelemetry } from '../observability/telemetry.js';
import { Upstream } from './http.js';
import { contextIdentities, type UpstreamName } from '../contexts/names.js';

/** A subgraph a new service exposes (GRAPHQL_SUBGRAPHS `<name>=<url>`), composed as is. */
export interface ExtraSubgraphClient {
  readonly name: string;
  readonly url: string;
  /** its client: metrics and spans under `upstream="<name>"`, breaker, retries, timeout */
  readonly upstream: Upstream;
}

export function extraSubgraphClients(config: GatewayConfig, telemetry: Telemetry): ExtraSubgraphClient[] {
  return config.graphql.extraSubgraphs.map((s) => ({
    name: s.name,
    url: s.url,
    upstream: new Upstream({
      name: s.name,
      baseUrl: s.url,
      observer: telemetry.upstream(s.name, s.url),
      timeoutMs: config.upstreamTimeoutMs,
      connections: config.upstreamConnections,
      breaker: config.breaker,
      retry: config.retry,
    }),
  }));
}

/**
 * What the legacy passthrough relays through: its own connection pool to the monolith, so
 * storefront traffic the gateway merely relays never starves the gateway's own legacy calls
 * (product composition, carts) of connections, nor the other way round; and the legacy
 * upstream's observer, so relayed calls are counted and traced like the gateway's own (under
 * context "passthrough"). Its breaker is the legacy client's (fed by the gateway's own legacy
 * calls), which the passthrough checks before relaying.
 */
export interface LegacyRelay {
  readonly pool: Pool;
  readonly observer: UpstreamTelemetry;
  readonly timeoutMs: number;
  close(): Promise<void>;
}

export function legacyRelay(config: GatewayConfig, legacy: Upstream, telemetry: Telemetry): LegacyRelay {
  const timeoutMs = config.upstreamTimeoutMs;
  const pool = new Pool(legacy.origin, {
    connections: config.upstreamConnections,
    pipelining: 1,
    keepAliveTimeout: 30_000,
    connectTimeout: Math.min(timeoutMs, 5_000),
  });
  return { pool, observer: telemetry.upstream('legacy', legacy.origin), timeoutMs, close: () => pool.close() };
}

/**
 * One client per upstream: legacy and every context of the registry, each with metrics, spans and a
 * breaker. The gateway's (src/app.ts) and the shadow process's own (src/parity/shadow-worker.ts).
 */
export function contextUpstreams(config: GatewayConfig, urls: Readonly<Partial<Record<UpstreamName, string>>>, telemetry: Telemetry): Record<UpstreamName, Upstream> {
  const mk = (name: UpstreamName, path = '') => {
    const base = urls[name] ?? config.upstreams[name];
    if (base === undefined) throw new Error(`no URL for upstream ${name}: set it in the environment or pass it in upstreamUrls`);
    const baseUrl = `${base}${path}`;
    return new Upstream({
      name,
      baseUrl,
      observer: telemetry.upstream(name, baseUrl),
      timeoutMs: config.timeouts[name] ?? config.upstreamTimeoutMs,
      connections: config.upstreamConnections,
      breaker: config.breaker,
      retry: config.retry,
    });
  };
  // The OCC client speaks to the monolith's /occ/v2 root; the passthrough keeps full paths.
  const upstreams = { legacy: mk('legacy', '/occ/v2') } as Record<UpstreamName, Upstream>;
  for (const { name } of contextIdentities()) upstreams[name] = mk(name);
  return upstreams;
}
