/**
 * The flag source behind every routing decision: unleash-client, fed either by flag files
 * (embedded default) or by a real Unleash server. Either way evaluation is unleash-client's own.
 * If the source fails, the last known flags stand; with none, isEnabled is false ⇒ legacy
 * (DESIGN §4.5).
 */
import { randomUUID } from 'node:crypto';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { InMemStorageProvider, Unleash, UnleashEvents, type Context } from 'unleash-client';
import type { GatewayConfig } from '../config/load.js';
import { GatewayError } from '../errors.js';
import { FileRepository, FlagFileError, readFlagDir, type FlagSnapshot } from './file-repository.js';
import { FlagFileSchema, type FeatureDef } from './flag-schema.js';

export interface FlagLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface FlagProvider {
  readonly source: 'file' | 'unleash';
  isEnabled(flag: string, ctx: Context): boolean;
  /** the flag definitions currently in force */
  definitions(): ReturnType<Unleash['getFeatureToggleDefinitions']>;
  /** last error from the source, if its most recent refresh failed */
  readonly lastError: string | undefined;
  /** file source only: re-read the files now */
  reload?(): Promise<void>;
  readonly dir?: string;
  snapshot?(): FlagSnapshot;
  /** where admin changes are written: the flag directory, or Unleash (project, environment) */
  readonly location: string;
  /** false when flags live in Unleash and the gateway has no Admin API token */
  readonly writable: boolean;
  /**
   * Calls `listener` whenever the flags in force may have changed: `changed` for new definitions,
   * `ready` when the source starts answering from its flags rather than the fallback;
   * synchronously, before any later evaluation sees them. Returns an unsubscribe.
   */
  onChange(listener: (what: 'changed' | 'ready') => void): () => void;
  /**
   * Changes one route flag where the flags live (DESIGN §2 "flags"): the flag file, rewritten
   * atomically and reloaded, or Unleash's Admin API, so Unleash stays the source of truth.
   * Rejects with a GatewayError (GW_ERR_ADMIN_*) that says what happened.
   */
  setRoute(flag: string, change: RouteChange): Promise<FlagWrite>;
  close(): Promise<void>;
}

export const FILE_POLL_MS = 250;

export async function createFlagProvider(config: GatewayConfig['flags'], log: FlagLogger): Promise<FlagProvider> {
  return config.source === 'file' ? createFileProvider(config.dir, log) : createUnleashProvider(config, log);
}

async function createFileProvider(dir: string, log: FlagLogger): Promise<FlagProvider> {
  // Boot-time: a broken flag file stops the gateway before it listens (readFlagDir throws).
  const initial = await readFlagDir(dir);
  let lastError: string | undefined;
  const repository = new FileRepository(
    dir,
    initial,
    FILE_POLL_MS,
    (err) => {
      lastError = err.message;
      log.error({ event: 'flags.reload_failed', dir, err: err.message }, 'flag files rejected; keeping the last good flags');
    },
    // files that load again clear the error (a change is always such a load), even when they
    // now say what was in force already
    () => (lastError = undefined),
  );
  const unleash = new Unleash({
    appName: 'strangler-gateway',
    url: 'http://flag-files.invalid/api',
    refreshInterval: 0,
    disableMetrics: true,
    storageProvider: new InMemStorageProvider(),
    repository: repository as unknown as ConstructorParameters<typeof Unleash>[0]['repository'],
    skipInstanceCountWarning: true,
  });
  unleash.on(UnleashEvents.Error, (err: Error) => log.error({ event: 'flags.error', err: err.message }, 'unleash-client error'));
  unleash.on(UnleashEvents.Changed, () => {
    log.info({ event: 'flags.changed', source: 'file', flags: summarize(repository.snapshot) }, 'flags loaded');
  });
  const changes = changeListeners(unleash);
  await new Promise<void>((resolve) => unleash.once(UnleashEvents.Ready, () => resolve()));
  const serial = serializer();
  return {
    source: 'file',
    dir,
    location: dir,
    writable: true,
    isEnabled: (flag, ctx) => unleash.isEnabled(flag, ctx, false),
    definitions: () => unleash.getFeatureToggleDefinitions(true),
    get lastError() {
      return lastError;
    },
    reload: () => repository.reload(),
    snapshot: () => repository.snapshot,
    onChange: changes,
    setRoute: (flag, change) => serial(() => writeFileRoute(dir, repository, flag, change)),
    close: async () => unleash.destroy(),
  };
}

async function createUnleashProvider(
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
    onChange: changes,
    isEnabled: (flag, ctx) => unleash.isEnabled(flag, ctx, false),
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

/**
 * `FlagProvider.onChange` over an unleash-client instance. Unleash emits `changed` right after
 * replacing its definitions, and `ready`/`synchronized` when evaluation stops falling back.
 */
function changeListeners(unleash: Unleash): (listener: (what: 'changed' | 'ready') => void) => () => void {
  const listeners = new Set<(what: 'changed' | 'ready') => void>();
  const notify = (what: 'changed' | 'ready') => () => {
    for (const l of listeners) l(what);
  };
  unleash.on(UnleashEvents.Changed, notify('changed'));
  unleash.on(UnleashEvents.Ready, notify('ready'));
  unleash.on(UnleashEvents.Synchronized, notify('ready'));
  return (listener) => {
    listeners.add(listener);
    return () => listeners.delete(listener);
  };
}

function summarize(s: FlagSnapshot): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of s.features) {
    const roll = f.strategies.map((st) => (st.parameters?.rollout !== undefined ? `${st.name}:${st.parameters.rollout}%` : st.name));
    out[f.name] = f.enabled ? roll.join(',') || 'on' : 'off';
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Writing route flags (the admin API). The schemas below are the single source of the admin
// API's and the audit trail's types.

export const STICKINESS = ['default', 'userId', 'sessionId'] as const;
export type Stickiness = (typeof STICKINESS)[number];

/** A constraint as an operator reads it (the Unleash shape, operator kept as a plain string). */
export const RouteConstraintSchema = Type.Object({
  contextName: Type.String(),
  operator: Type.String(),
  values: Type.Optional(Type.Array(Type.String())),
  value: Type.Optional(Type.String()),
  inverted: Type.Optional(Type.Boolean()),
  caseInsensitive: Type.Optional(Type.Boolean()),
});

/** What a route flag does, read from its definition (file, Unleash admin view or client cache). */
export const RouteStateSchema = Type.Object({
  defined: Type.Boolean({ description: 'false: no such flag, so every request goes to legacy' }),
  enabled: Type.Boolean(),
  rollout: Type.Union([Type.Integer({ minimum: 0, maximum: 100 }), Type.Null()], {
    description: 'percentage of the flexibleRollout strategy; 100 for an enabled flag without strategies; null when only custom strategies decide',
  }),
  stickiness: Type.Union([Type.String(), Type.Null()]),
  constraints: Type.Array(RouteConstraintSchema),
  strategies: Type.Integer({ minimum: 0, description: 'active strategies of the flag (more than 1: others may also enable it)' }),
});
export type RouteState = Static<typeof RouteStateSchema>;

export interface RouteChange {
  /** share of requests (by stickiness) the new service answers, 0..100 */
  readonly percent: number;
  readonly stickiness?: Stickiness | undefined;
  /** a site: `baseSiteId IN [site]`; null: every site (site constraint dropped); undefined: unchanged */
  readonly site?: string | null | undefined;
  /** kill switch: disable the flag too, so no strategy of it can still route to the new service */
  readonly kill?: boolean | undefined;
}

export interface FlagWrite {
  readonly before: RouteState;
  readonly after: RouteState;
  /** the file written, or the Unleash feature URL */
  readonly location: string;
  /** upper bound until the gateway routes on the change (0: it already does) */
  readonly effectiveWithinMs: number;
}

/** Unleash's revision poll: how long it takes for a change to reach SDK fetches. */
const UNLEASH_PUBLISH_MS = 1000;
const ROLLOUT_STRATEGIES = new Set(['flexibleRollout', 'gradualRolloutUserId', 'gradualRolloutSessionId', 'gradualRolloutRandom']);

interface ConstraintLike {
  contextName: string;
  operator: string;
  values?: readonly string[] | undefined;
  value?: unknown;
  inverted?: boolean | undefined;
  caseInsensitive?: boolean | undefined;
}

/** The fields of a strategy this module reads; callers' objects keep every other field. */
export interface StrategyLike {
  name: string;
  parameters?: Record<string, unknown> | undefined;
  constraints?: readonly ConstraintLike[] | undefined;
  disabled?: boolean | null | undefined;
}

export interface FeatureLike {
  enabled: boolean;
  strategies?: readonly StrategyLike[] | undefined;
}

export function routeStateOf(feature: FeatureLike | undefined): RouteState {
  if (!feature) return { defined: false, enabled: false, rollout: 0, stickiness: null, constraints: [], strategies: 0 };
  const active = (feature.strategies ?? []).filter((s) => !s.disabled);
  const primary = active.find((s) => s.name === 'flexibleRollout');
  let rollout: number | null = null;
  if (primary) rollout = clampPercent(primary.parameters?.rollout);
  // Unleash semantics: an enabled flag without strategies, or with an unconstrained
  // "default" strategy, is on for everyone.
  else if (active.length === 0 || active.some((s) => s.name === 'default' && !(s.constraints ?? []).length)) rollout = 100;
  return {
    defined: true,
    enabled: feature.enabled,
    rollout,
    stickiness: primary ? String(primary.parameters?.stickiness ?? 'default') : null,
    constraints: (primary?.constraints ?? []).map(toRouteConstraint),
    strategies: active.length,
  };
}

function clampPercent(v: unknown): number | null {
  const n = Number(v);
  return Number.isInteger(n) && n >= 0 && n <= 100 ? n : null;
}

function toRouteConstraint(c: ConstraintLike): RouteState['constraints'][number] {
  const out: RouteState['constraints'][number] = { contextName: c.contextName, operator: String(c.operator) };
  if (c.values) out.values = [...c.values];
  if (c.value !== undefined && c.value !== null) out.value = c.value instanceof Date ? c.value.toISOString() : String(c.value);
  if (c.inverted) out.inverted = true;
  if (c.caseInsensitive) out.caseInsensitive = true;
  return out;
}

/**
 * Applies a route change to a flag's strategies, pure. The first active flexibleRollout is the
 * route's rollout; without one, one is appended (existing indexes stay valid for callers that
 * update strategies by position). Every field the change does not name is kept, including
 * unknown ones. Returns the indexes of the strategies that changed.
 */
export function applyRouteChange<S extends StrategyLike>(
  flag: string,
  feature: { enabled: boolean; strategies: readonly S[] },
  change: RouteChange,
): { enabled: boolean; strategies: (S | StrategyLike)[]; changed: number[] } {
  const strategies: (S | StrategyLike)[] = feature.strategies.map((s) => ({ ...s }));
  const changed = new Set<number>();
  let primary = strategies.findIndex((s) => s.name === 'flexibleRollout' && !s.disabled);
  if (primary < 0) {
    strategies.push({ name: 'flexibleRollout', parameters: { rollout: '0', stickiness: 'default', groupId: flag }, constraints: [] });
    primary = strategies.length - 1;
  }
  const p = strategies[primary]!;
  const parameters: Record<string, unknown> = { ...p.parameters, rollout: String(change.percent) };
  if (change.stickiness) parameters.stickiness = change.stickiness;
  if (parameters.stickiness === undefined) parameters.stickiness = 'default';
  if (parameters.groupId === undefined) parameters.groupId = flag;
  let constraints = [...(p.constraints ?? [])];
  if (change.site !== undefined) {
    constraints = constraints.filter((c) => c.contextName !== 'baseSiteId');
    if (change.site !== null) constraints.push({ contextName: 'baseSiteId', operator: 'IN', values: [change.site] });
  }
  strategies[primary] = { ...p, parameters, constraints };
  changed.add(primary);
  if (change.kill) {
    // Every rollout-type strategy to 0 %, so re-enabling the flag later does not silently
    // restore a rollout someone killed.
    strategies.forEach((s, i) => {
      if (i === primary || s.disabled || !ROLLOUT_STRATEGIES.has(s.name)) return;
      const params: Record<string, unknown> = { ...s.parameters };
      if ('rollout' in params || s.name === 'flexibleRollout') params.rollout = '0';
      if ('percentage' in params) params.percentage = '0';
      strategies[i] = { ...s, parameters: params };
      changed.add(i);
    });
  }
  const enabled = change.kill ? false : change.percent > 0 ? true : feature.enabled;
  return { enabled, strategies, changed: [...changed].sort((a, b) => a - b) };
}

/** Runs tasks one at a time, so two admin writes never interleave their read-modify-write. */
function serializer(): <T>(task: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(task: () => Promise<T>) => {
    const run = tail.then(task, task);
    tail = run.catch(() => undefined);
    return run;
  };
}

const checkFlagFile = TypeCompiler.Compile(FlagFileSchema);
const DEFAULT_FLAG_FILE = 'routes.json';

type RawFlagFile = { version: number; features: (FeatureDef & Record<string, unknown>)[] } & Record<string, unknown>;

/**
 * File source: rewrite the file that defines the flag (every other flag and field kept), then
 * reload. Written to a temp file in the same directory, fsynced, renamed over the original:
 * a crash or the poller never sees half a file. Temp names do not end in .json, so the poller
 * ignores them.
 */
async function writeFileRoute(dir: string, repository: FileRepository, flag: string, change: RouteChange): Promise<FlagWrite> {
  let current: FlagSnapshot;
  try {
    current = await readFlagDir(dir);
  } catch (err) {
    const why = err instanceof FlagFileError ? err.problems.join('; ') : (err as Error).message;
    throw new GatewayError(409, 'GW_ERR_ADMIN_FLAG_WRITE_FAILED', `the flag files in ${dir} are invalid, nothing was changed; fix them first: ${why}`, { cause: err });
  }
  const fileName = current.owners.get(flag) ?? DEFAULT_FLAG_FILE;
  const path = join(dir, fileName);
  let raw: RawFlagFile;
  try {
    // readFlagDir has just validated this file, so it parses to a FlagFile.
    raw = JSON.parse(await readFile(path, 'utf8')) as RawFlagFile;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw writeFailed(path, err);
    raw = { version: 1, features: [] };
  }
  const index = raw.features.findIndex((f) => f.name === flag);
  const feature = index >= 0 ? raw.features[index]! : { name: flag, description: `route flag written by the admin API`, enabled: false, strategies: [] };
  const before = routeStateOf(index >= 0 ? feature : undefined);
  const next = applyRouteChange(flag, feature, change);
  const updated = { ...feature, enabled: next.enabled, strategies: next.strategies } as FeatureDef & Record<string, unknown>;
  if (index >= 0) raw.features[index] = updated;
  else raw.features.push(updated);
  if (!checkFlagFile.Check(raw)) {
    const problems = [...checkFlagFile.Errors(raw)].map((e) => `${e.path}: ${e.message}`).join('; ');
    throw new GatewayError(500, 'GW_ERR_ADMIN_FLAG_WRITE_FAILED', `refusing to write an invalid flag file ${path}: ${problems}`);
  }
  const tmp = join(dir, `.${fileName}.${process.pid}.${randomUUID()}.tmp`);
  try {
    const fh = await open(tmp, 'wx', 0o644);
    try {
      await fh.writeFile(`${JSON.stringify(raw, null, 2)}\n`, 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
    await syncDir(dir);
  } catch (err) {
    await rm(tmp, { force: true });
    throw writeFailed(path, err);
  }
  try {
    await repository.reload();
  } catch (err) {
    throw new GatewayError(500, 'GW_ERR_ADMIN_FLAG_WRITE_FAILED', `${path} was written but could not be reloaded: ${(err as Error).message}`, { cause: err });
  }
  const after = routeStateOf(repository.snapshot.features.find((f) => f.name === flag));
  return { before, after, location: path, effectiveWithinMs: 0 };
}

/** fsync the directory so the rename itself survives a power loss (POSIX; a no-op elsewhere). */
async function syncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {}
}

function writeFailed(path: string, err: unknown): GatewayError {
  return new GatewayError(500, 'GW_ERR_ADMIN_FLAG_WRITE_FAILED', `could not write ${path}: ${(err as Error).message}`, { cause: err });
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

  constructor(
    apiUrl: string,
    private readonly opts: { readonly token: string; readonly project: string; readonly environment: string },
  ) {
    this.base = `${apiUrl.replace(/\/+$/, '')}/admin/projects/${encodeURIComponent(opts.project)}/features`;
  }

  private featureUrl(flag: string): string {
    return `${this.base}/${encodeURIComponent(flag)}`;
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
