/**
 * The Unleash source: unleash-client polling a real Unleash server, and the slice of Unleash's
 * Admin API the gateway writes route flags through (when it has an admin token).
 */
import { InMemStorageProvider, Unleash, UnleashEvents } from 'unleash-client';
import type { GatewayConfig } from '../../config/load.js';
import { GatewayError } from '../../errors.js';
import { changeListeners, type FeatureLike, type FlagLogger, type FlagProvider, type FlagWrite, type RouteChange, type StrategyLike } from '../flag-provider.js';
import { applyRouteChange, routeStateOf, serializer } from '../route-state.js';

/** Unleash's revision poll: how long it takes for a change to reach SDK fetches. */
const UNLEASH_PUBLISH_MS = 1000;

export async function createUnleashProvider(
  config: Extract<GatewayConfig['flags'], { source: 'unleash' }>,
  log: FlagLogger,
): Promise<FlagProvider> {
  let lastError: string | undefined;
  const unleash = new Unleash({
    appName: config.appName,
    url: config.url,
    refreshInterval: config.refreshMs,
    customHeaders: { Authorization: config.token },
    disableMetrics: true,
    storageProvider: new InMemStorageProvider(),
    skipInstanceCountWarning: true,
  });
  unleash.on(UnleashEvents.Error, (err: Error) => {
    lastError = err.message;
    log.warn({ event: 'flags.error', source: 'unleash', err: err.message }, 'Unleash unreachable or failing; routing stays on the last known flags');
  });
  unleash.on(UnleashEvents.Changed, () => {
    lastError = undefined;
    log.info({ event: 'flags.changed', source: 'unleash' }, 'flags updated from Unleash');
  });
  unleash.on(UnleashEvents.Unchanged, () => {
    lastError = undefined;
  });
  const changes = changeListeners(unleash);
  // Wait for the first fetch, but not forever: with Unleash down at boot the gateway still
  // serves, all contexts on legacy, and picks flags up on the next successful refresh.
  const ready = await Promise.race([
    new Promise<boolean>((resolve) => unleash.once(UnleashEvents.Synchronized, () => resolve(true))),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 5000).unref()),
  ]);
  if (!ready) log.warn({ event: 'flags.not_synchronized', url: config.url }, 'no flags from Unleash yet: every context routes to legacy');
  const admin = config.admin ? new UnleashAdmin(config.url, config.admin) : undefined;
  const serial = serializer();
  return {
    source: 'unleash',
    location: config.admin ? `${config.url} (project ${config.admin.project}, environment ${config.admin.environment})` : config.url,
    writable: admin !== undefined,
    locationOf: (flag) => admin?.featureUrl(flag) ?? config.url,
    // Unleash's event log knows who changed a flag; it needs the admin token
    ...(admin ? { actorOf: (flag: string) => admin.lastActor(flag) } : {}),
    onChange: changes,
    isEnabled: (flag, ctx) => unleash.isEnabled(flag, ctx, false),
    getVariant: (flag, ctx) => unleash.getVariant(flag, ctx),
    definitions: () => unleash.getFeatureToggleDefinitions(true),
    get lastError() {
      return lastError;
    },
    setRoute: async (flag, change) => {
      if (!admin) {
        throw new GatewayError(
          409,
          'GW_ERR_ADMIN_FLAGS_READ_ONLY',
          `flags live in Unleash at ${config.url} and UNLEASH_ADMIN_TOKEN is not set: change ${flag} in Unleash, or give the gateway an admin token`,
        );
      }
      // Unleash publishes a change to SDKs within about a second (its revision poll); the
      // gateway then picks it up on its next fetch.
      return serial(async () => ({ ...(await admin.setRoute(flag, change)), effectiveWithinMs: config.refreshMs + UNLEASH_PUBLISH_MS }));
    },
    close: async () => {
      unleash.destroy();
      // destroy() drops the repository's listeners, but a fetch already in flight still
      // reports its failure there; with Unleash down that was an unhandled 'error' event that
      // crashed a gateway on its way out (cf. Unleash/unleash-node-sdk#672). Swallow it.
      (unleash as unknown as { repository?: { on(event: string, fn: () => void): void } }).repository?.on(UnleashEvents.Error, () => {});
    },
  };
}

/** A strategy as Unleash's Admin API returns it (feature environments). */
interface UnleashStrategy extends StrategyLike {
  id?: string;
  title?: string | null;
  segments?: number[];
  variants?: unknown[];
  sortOrder?: number;
}

interface UnleashFeature {
  name: string;
  environments?: { name: string; enabled: boolean; strategies?: UnleashStrategy[] }[];
}

const UNLEASH_ADMIN_TIMEOUT_MS = 5000;

/**
 * The slice of Unleash's Admin API (v7) the gateway writes route flags through
 * (https://docs.getunleash.io/reference/api/unleash): feature, strategies, environment on/off.
 * Unleash admin tokens go in `Authorization` as is, without a scheme.
 */
class UnleashAdmin {
  private readonly base: string;
  private readonly apiUrl: string;

  constructor(
    apiUrl: string,
    private readonly opts: { readonly token: string; readonly project: string; readonly environment: string },
  ) {
    this.apiUrl = apiUrl.replace(/\/+$/, '');
    this.base = `${this.apiUrl}/admin/projects/${encodeURIComponent(opts.project)}/features`;
  }

  featureUrl(flag: string): string {
    return `${this.base}/${encodeURIComponent(flag)}`;
  }

  /**
   * Who made the latest change of `flag` in this project and environment (or to the feature
   * itself), from Unleash's event search (GET /api/admin/search/events); undefined when Unleash
   * cannot tell.
   */
  async lastActor(flag: string): Promise<string | undefined> {
    const q = new URLSearchParams({ feature: `IS:${flag}`, project: `IS:${this.opts.project}`, limit: '10', offset: '0' });
    const res = (await this.call('GET', `${this.apiUrl}/admin/search/events?${q}`)) as { events?: { createdBy?: unknown; environment?: unknown }[] };
    const e = res.events?.find((ev) => ev.environment === undefined || ev.environment === null || ev.environment === this.opts.environment);
    return typeof e?.createdBy === 'string' && e.createdBy ? e.createdBy.slice(0, 128) : undefined;
  }

  private envUrl(flag: string): string {
    return `${this.featureUrl(flag)}/environments/${encodeURIComponent(this.opts.environment)}`;
  }

  async setRoute(flag: string, change: RouteChange): Promise<Omit<FlagWrite, 'effectiveWithinMs'>> {
    let env = await this.environmentOf(flag);
    const before = routeStateOf(env);
    if (!env) {
      // The route flag does not exist yet: create it, so the first `route` works on a fresh Unleash.
      await this.call('POST', this.base, { name: flag, type: 'release', description: 'strangler route flag: enabled for a request => the new service answers' });
      env = await this.environmentOf(flag);
      if (!env) throw this.rejected(`feature ${flag} was created but Unleash does not return it`);
    }
    const strategies = env.strategies ?? [];
    const next = applyRouteChange(flag, { enabled: env.enabled, strategies }, change);
    // Kill: switch the environment off first, the one call that alone stops new-service routing.
    if (!next.enabled && env.enabled) await this.call('POST', `${this.envUrl(flag)}/off`);
    for (const i of next.changed) {
      const s = next.strategies[i] as UnleashStrategy;
      const body = strategyBody(s);
      if (s.id) await this.call('PUT', `${this.envUrl(flag)}/strategies/${encodeURIComponent(s.id)}`, body);
      else await this.call('POST', `${this.envUrl(flag)}/strategies`, body);
    }
    if (next.enabled && !env.enabled) await this.call('POST', `${this.envUrl(flag)}/on`);
    const now = await this.environmentOf(flag);
    return { before, after: routeStateOf(now), location: this.featureUrl(flag) };
  }

  private async environmentOf(flag: string): Promise<(FeatureLike & { strategies?: UnleashStrategy[] }) | undefined> {
    const res = await this.call('GET', this.featureUrl(flag), undefined, true);
    if (res === undefined) return undefined;
    const feature = res as UnleashFeature;
    const env = feature.environments?.find((e) => e.name === this.opts.environment);
    if (!env) throw this.rejected(`feature ${flag} has no environment "${this.opts.environment}" in project ${this.opts.project} (set UNLEASH_ENVIRONMENT)`);
    return env;
  }

  /** JSON in and out; `notFoundOk`: a 404 answers undefined instead of failing. */
  private async call(method: 'GET' | 'POST' | 'PUT', url: string, body?: unknown, notFoundOk = false): Promise<unknown> {
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: { authorization: this.opts.token, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(UNLEASH_ADMIN_TIMEOUT_MS),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
      throw new GatewayError(503, 'GW_ERR_ADMIN_FLAG_SOURCE_UNAVAILABLE', `Unleash is unreachable (${cause}) at ${method} ${url}; the change may not have been applied, check status and retry`, {
        retryAfterSeconds: 1,
        cause: err,
      });
    }
    const text = await res.text();
    if (res.status === 404 && notFoundOk) return undefined;
    if (res.status === 401 || res.status === 403) throw this.rejected(`Unleash refused the gateway's admin token (UNLEASH_ADMIN_TOKEN) with ${res.status} on ${method} ${url}`);
    if (res.status >= 500) {
      throw new GatewayError(503, 'GW_ERR_ADMIN_FLAG_SOURCE_UNAVAILABLE', `Unleash answered ${res.status} to ${method} ${url}; the change may not have been applied, check status and retry`, { retryAfterSeconds: 1 });
    }
    // Unleash's own message names the problem (validation, limits); an operator needs it.
    if (res.status >= 400) throw this.rejected(`Unleash answered ${res.status} to ${method} ${url}: ${unleashMessage(text)}`);
    return text ? (JSON.parse(text) as unknown) : {};
  }

  private rejected(detail: string): GatewayError {
    return new GatewayError(502, 'GW_ERR_ADMIN_FLAG_SOURCE_REJECTED', detail);
  }
}

/** The body of Unleash's create/update strategy calls: the strategy minus server-owned fields. */
function strategyBody(s: UnleashStrategy): Record<string, unknown> {
  const body: Record<string, unknown> = { name: s.name, parameters: s.parameters ?? {}, constraints: s.constraints ?? [] };
  if (s.title !== undefined && s.title !== null) body.title = s.title;
  if (s.disabled !== undefined && s.disabled !== null) body.disabled = s.disabled;
  if (s.segments) body.segments = s.segments;
  if (s.variants) body.variants = s.variants;
  return body;
}

function unleashMessage(text: string): string {
  try {
    const m = (JSON.parse(text) as { message?: unknown }).message;
    if (typeof m === 'string') return m.slice(0, 300);
  } catch {}
  return 'no message';
}
