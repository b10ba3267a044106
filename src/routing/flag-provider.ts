/**
 * The flag source behind every routing decision, as the rest of the gateway sees it: the
 * provider interface and the types both sources (sources/file-source.ts,
 * sources/unleash-source.ts) share. Either way evaluation is unleash-client's own. If the source
 * fails, the last known flags stand; with none, isEnabled is false ⇒ legacy.
 */
import { UnleashEvents, type Context, type Unleash } from 'unleash-client';
import type { FeatureDef, SegmentDef } from './flag-schema.js';
import type { RouteState, Stickiness } from './route-schema.js';
// in a module of their own, free of unleash-client, so the CLI bundle does not carry it
export { RouteConstraintSchema, RouteStateSchema, STICKINESS, type RouteState, type Stickiness } from './route-schema.js';

export interface FlagLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** The flag files as last read: what the file source evaluates. */
export interface FlagSnapshot {
  readonly features: readonly FeatureDef[];
  readonly segments: readonly SegmentDef[];
  /** file name → the features it defines, so writers know where a flag lives */
  readonly owners: ReadonlyMap<string, string>;
}


export interface ConstraintLike {
  contextName: string;
  operator: string;
  values?: readonly string[] | undefined;
  value?: unknown;
  inverted?: boolean | undefined;
  caseInsensitive?: boolean | undefined;
}

/** The fields of a strategy the gateway reads; callers' objects keep every other field. */
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

// The schemas below are the single source of the admin API's and the audit trail's types.


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

export interface FlagProvider {
  readonly source: 'file' | 'unleash';
  isEnabled(flag: string, ctx: Context): boolean;
  /** the flag's variant for `ctx`, as unleash-client answers it (routing itself reads isEnabled only) */
  getVariant(flag: string, ctx: Context): ReturnType<Unleash['getVariant']>;
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
  /** false when flags live in Unleash and the gateway has no Admin API token, or in files read by several instances */
  readonly writable: boolean;
  /** where one flag lives: the file that defines it, or its Unleash feature */
  locationOf?(flag: string): string;
  /** who made the latest change of a flag, when the source can tell (Unleash's event log) */
  actorOf?(flag: string): Promise<string | undefined>;
  /**
   * Calls `listener` whenever the flags in force may have changed: `changed` for new definitions,
   * `ready` when the source starts answering from its flags rather than the fallback;
   * synchronously, before any later evaluation sees them. Returns an unsubscribe.
   */
  onChange(listener: (what: 'changed' | 'ready') => void): () => void;
  /**
   * Changes one route flag where the flags live: the flag file, rewritten atomically and
   * reloaded, or Unleash's Admin API, so Unleash stays the source of truth.
   * Rejects with a GatewayError (GW_ERR_ADMIN_*) that says what happened.
   */
  setRoute(flag: string, change: RouteChange): Promise<FlagWrite>;
  close(): Promise<void>;
}

/**
 * `FlagProvider.onChange` over an unleash-client instance. Unleash emits `changed` right after
 * replacing its definitions, and `ready`/`synchronized` when evaluation stops falling back.
 */
export function changeListeners(unleash: Unleash): (listener: (what: 'changed' | 'ready') => void) => () => void {
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
