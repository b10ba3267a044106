/**
 * The file source (the embedded default): flag files in Unleash's client-features format, fed
 * to unleash-client through FileRepository so evaluation is unleash-client's own. Admin changes
 * rewrite the file that defines the flag, atomically, and reload it.
 */
import { randomUUID } from 'node:crypto';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { InMemStorageProvider, Unleash, UnleashEvents } from 'unleash-client';
import { GatewayError } from '../../errors.js';
import { FileRepository, FlagFileError, FlagFilesDeletedError, flagFileState, readFlagDir } from '../file-repository.js';
import { changeListeners, type FlagLogger, type FlagProvider, type FlagSnapshot, type FlagWrite, type RouteChange } from '../flag-provider.js';
import { FlagFileSchema, unknownOperators, type FeatureDef } from '../flag-schema.js';
import { applyRouteChange, routeStateOf, serializer } from '../route-state.js';

export const FILE_POLL_MS = 250;

/**
 * Who reads the flag files. Workers of one gateway (GATEWAY_WORKERS) share the directory: a
 * change written by one is picked up by the others on their next poll. Several instances
 * (GATEWAY_INSTANCES > 1: hosts, pods) each have their own directory, so a change through one
 * would silently diverge from the others: the files are then read-only to /admin.
 */
export interface FileSharing {
  readonly workers: number;
  readonly instances: number;
}

export async function createFileProvider(dir: string, log: FlagLogger, sharing: FileSharing = { workers: 1, instances: 1 }): Promise<FlagProvider> {
  // Boot-time: a broken flag file stops the gateway before it listens (readFlagDir throws).
  const initial = await readFlagDir(dir);
  warnUnknownOperators(initial, log);
  let lastError: string | undefined;
  const repository = new FileRepository(
    dir,
    initial,
    FILE_POLL_MS,
    (err) => {
      lastError = err.message;
      if (err instanceof FlagFilesDeletedError) log.warn({ event: 'flags.file_deleted', dir, err: err.message }, 'flag files deleted; keeping the last good flags (stale)');
      else log.error({ event: 'flags.reload_failed', dir, err: err.message }, 'flag files rejected; keeping the last good flags');
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
    warnUnknownOperators(repository.snapshot, log);
  });
  const changes = changeListeners(unleash);
  await new Promise<void>((resolve) => unleash.once(UnleashEvents.Ready, () => resolve()));
  const serial = serializer();
  return {
    source: 'file',
    dir,
    location: dir,
    writable: sharing.instances === 1,
    isEnabled: (flag, ctx) => unleash.isEnabled(flag, ctx, false),
    getVariant: (flag, ctx) => unleash.getVariant(flag, ctx),
    definitions: () => unleash.getFeatureToggleDefinitions(true),
    get lastError() {
      return lastError;
    },
    locationOf: (flag) => join(dir, repository.snapshot.owners.get(flag) ?? ''),
    reload: () => repository.reload(),
    snapshot: () => repository.snapshot,
    onChange: changes,
    setRoute: async (flag, change) => {
      if (sharing.instances > 1) {
        throw new GatewayError(
          409,
          'GW_ERR_ADMIN_FLAGS_READ_ONLY',
          `flag files are a single-host mode and GATEWAY_INSTANCES=${sharing.instances}: a change here would not reach the other instances. Change ${flag} in the flag files of every instance (or use Unleash: UNLEASH_URL)`,
        );
      }
      const write = await serial(() => writeFileRoute(dir, repository, flag, change));
      // This worker routes on it now; the other workers pick the file up on their next poll.
      return sharing.workers > 1 ? { ...write, effectiveWithinMs: FILE_POLL_MS } : write;
    },
    close: async () => unleash.destroy(),
  };
}

/** Unleash accepts any operator and never matches an unknown one; so do flag files, with a warning. */
function warnUnknownOperators(s: FlagSnapshot, log: FlagLogger): void {
  const unknown = unknownOperators(s);
  if (unknown.length) log.warn({ event: 'flags.unknown_operator', constraints: unknown }, 'constraints with an operator unleash-client does not know never match');
}

function summarize(s: FlagSnapshot): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of s.features) {
    const roll = f.strategies.map((st) => (st.parameters?.rollout !== undefined ? `${st.name}:${st.parameters.rollout}%` : st.name));
    out[f.name] = f.enabled ? roll.join(',') || 'on' : 'off';
  }
  return out;
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
    current = await readFlagDir(dir, repository.snapshot);
  } catch (err) {
    const why = err instanceof FlagFileError ? err.problems.join('; ') : (err as Error).message;
    throw new GatewayError(409, 'GW_ERR_ADMIN_FLAG_WRITE_FAILED', `the flag files in ${dir} are invalid, nothing was changed; fix them first: ${why}`, { cause: err });
  }
  const fileName = current.owners.get(flag) ?? DEFAULT_FLAG_FILE;
  const path = join(dir, fileName);
  let raw: RawFlagFile;
  try {
    // readFlagDir has just validated this file, so it parses to a FlagFile, or to a delta file
    // that is rewritten as the full state it stands for (same flags, same meaning).
    const parsed = JSON.parse(await readFile(path, 'utf8')) as unknown;
    raw = (typeof parsed === 'object' && parsed !== null && 'events' in parsed ? flagFileState(fileName, parsed) : parsed) as RawFlagFile;
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

