/**
 * The flag source behind every routing decision: unleash-client, fed either by flag files
 * (embedded default) or by a real Unleash server. Either way evaluation is unleash-client's own.
 * If the source fails, the last known flags stand; with none, isEnabled is false ⇒ legacy
 * (DESIGN §4.5).
 */
import { InMemStorageProvider, Unleash, UnleashEvents, type Context } from 'unleash-client';
import type { GatewayConfig } from '../config/load.js';
import { FileRepository, readFlagDir, type FlagSnapshot } from './file-repository.js';

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
  const repository = new FileRepository(dir, initial, FILE_POLL_MS, (err) => {
    lastError = err.message;
    log.error({ event: 'flags.reload_failed', dir, err: err.message }, 'flag files rejected; keeping the last good flags');
  });
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
    lastError = undefined;
    log.info({ event: 'flags.changed', source: 'file', flags: summarize(repository.snapshot) }, 'flags loaded');
  });
  await new Promise<void>((resolve) => unleash.once(UnleashEvents.Ready, () => resolve()));
  return {
    source: 'file',
    dir,
    isEnabled: (flag, ctx) => unleash.isEnabled(flag, ctx, false),
    definitions: () => unleash.getFeatureToggleDefinitions(),
    get lastError() {
      return lastError;
    },
    reload: () => repository.reload(),
    snapshot: () => repository.snapshot,
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
  // Wait for the first fetch, but not forever: with Unleash down at boot the gateway still
  // serves, all contexts on legacy, and picks flags up on the next successful refresh.
  const ready = await Promise.race([
    new Promise<boolean>((resolve) => unleash.once(UnleashEvents.Synchronized, () => resolve(true))),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 5000).unref()),
  ]);
  if (!ready) log.warn({ event: 'flags.not_synchronized', url: config.url }, 'no flags from Unleash yet: every context routes to legacy');
  return {
    source: 'unleash',
    isEnabled: (flag, ctx) => unleash.isEnabled(flag, ctx, false),
    definitions: () => unleash.getFeatureToggleDefinitions(),
    get lastError() {
      return lastError;
    },
    close: async () => unleash.destroy(),
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
