/**
 * An unleash-client repository fed from flag files instead of an Unleash server, so the
 * embedded default evaluates flags with unleash-client's own strategies (flexibleRollout
 * stickiness, constraints, segments) rather than a re-implementation that could drift.
 *
 * Reload rules: files are polled (fs.watch misses editor rename-saves on some filesystems);
 * a change is applied within `pollMs`. A file that fails to parse or validate leaves the last
 * good state in force and is reported through `onReloadError`.
 */
import { EventEmitter } from 'node:events';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { UnleashEvents } from 'unleash-client';
import type { FlagSnapshot } from './flag-provider.js';
import { DeltaFlagFileSchema, FlagFileSchema, foldDelta, type FeatureDef, type FlagFile, type SegmentDef } from './flag-schema.js';

// Types of unleash-client's internal repository contract (lib/repository, not re-exported).
type FeatureInterface = ReturnType<import('unleash-client').Unleash['getFeatureToggleDefinitions']>[number];
type Segment = { id: number; constraints: NonNullable<FeatureInterface['strategies']>[number]['constraints'] };

const checkFile = TypeCompiler.Compile(FlagFileSchema);
const checkDelta = TypeCompiler.Compile(DeltaFlagFileSchema);

/**
 * A parsed flag file as the full state it stands for (a delta file folded), or the problems
 * that make it invalid.
 */
export function flagFileState(name: string, parsed: unknown): FlagFile | string[] {
  if (typeof parsed === 'object' && parsed !== null && 'events' in parsed) {
    if (checkDelta.Check(parsed)) return foldDelta(parsed);
    return [...checkDelta.Errors(parsed)].map((e) => `${name}${e.path}: ${e.message}`);
  }
  if (checkFile.Check(parsed)) return parsed;
  return [...checkFile.Errors(parsed)].map((e) => `${name}${e.path}: ${e.message}`);
}

export class FlagFileError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(problems.join('; '));
    this.name = 'FlagFileError';
  }
}

/**
 * Flag files that went away while their flags are defined nowhere else: treated like an invalid
 * file (the last good flags stay in force), reported at warn rather than error.
 */
export class FlagFilesDeletedError extends FlagFileError {
  constructor(problems: readonly string[]) {
    super(problems);
    this.name = 'FlagFilesDeletedError';
  }
}

async function jsonFiles(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((n) => n.endsWith('.json')).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new FlagFilesDeletedError([`${dir}: the flag directory was deleted`]);
    throw err;
  }
}

/**
 * Reads and validates every `*.json` in `dir`; throws FlagFileError listing every problem.
 * With `previous` (the flags in force), a file that was read before and is gone now is a problem
 * too, unless every flag it defined is now defined by another file (a rename or a merge): a
 * deleted file must not silently route its contexts to legacy. To drop flags, remove them from
 * their file (or leave the file with `"features": []`).
 */
export async function readFlagDir(dir: string, previous?: FlagSnapshot): Promise<FlagSnapshot> {
  const names = await jsonFiles(dir);
  const problems: string[] = [];
  const features: FeatureDef[] = [];
  const segments: SegmentDef[] = [];
  const owners = new Map<string, string>();
  for (const name of names) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(join(dir, name), 'utf8'));
    } catch (err) {
      problems.push(`${name}: ${(err as Error).message}`);
      continue;
    }
    const state = flagFileState(name, parsed);
    if (Array.isArray(state)) {
      problems.push(...state);
      continue;
    }
    for (const f of state.features) {
      const other = owners.get(f.name);
      if (other) problems.push(`${name}: feature "${f.name}" is already defined in ${other}`);
      owners.set(f.name, name);
      features.push(f);
      problems.push(...checkStrategies(name, f));
    }
    segments.push(...(state.segments ?? []));
  }
  if (problems.length) throw new FlagFileError(problems);
  if (previous) {
    const lost = new Map<string, string[]>();
    for (const [flag, file] of previous.owners) {
      if (owners.has(flag)) continue;
      if (names.includes(file)) continue; // removed from a file that is still there: an edit
      lost.set(file, [...(lost.get(file) ?? []), flag]);
    }
    if (lost.size) {
      throw new FlagFilesDeletedError(
        [...lost].map(([file, flags]) => `${file}: deleted, and its flags (${flags.join(', ')}) are defined in no other file; restore it, or remove the flags from it instead`),
      );
    }
  }
  return { features, segments, owners };
}

/** unleash-client silently treats a bad rollout as 0 %; at our boundary it is an error. */
function checkStrategies(file: string, f: FeatureDef): string[] {
  const out: string[] = [];
  f.strategies.forEach((s, i) => {
    if (s.name === 'flexibleRollout' || s.name === 'gradualRolloutUserId' || s.name === 'gradualRolloutSessionId') {
      const r = Number(s.parameters?.rollout ?? s.parameters?.percentage);
      if (!Number.isInteger(r) || r < 0 || r > 100) out.push(`${file}: ${f.name}.strategies[${i}].parameters.rollout must be an integer 0..100`);
    }
  });
  return out;
}

async function fingerprint(dir: string): Promise<string> {
  const names = await jsonFiles(dir);
  const parts = await Promise.all(
    names.map(async (n) => {
      const s = await stat(join(dir, n));
      return `${n}:${s.size}:${s.mtimeMs}`;
    }),
  );
  return parts.join('|');
}

function snapshotText(s: FlagSnapshot): string {
  return JSON.stringify([s.features, s.segments, [...s.owners]]);
}

export class FileRepository extends EventEmitter {
  private features = new Map<string, FeatureInterface>();
  private segments = new Map<number, Segment>();
  private timer: NodeJS.Timeout | undefined;
  private lastPrint = '';
  private polling = false;
  private queue: Promise<void> = Promise.resolve();
  /** the flags in force, as text: a reload that reads the same changes nothing */
  private applied = '';
  snapshot: FlagSnapshot;

  constructor(
    private readonly dir: string,
    initial: FlagSnapshot,
    private readonly pollMs: number,
    private readonly onReloadError: (err: Error) => void,
    /** a reload read every file without error (the flags in force may be unchanged) */
    private readonly onReloaded: () => void = () => undefined,
  ) {
    super();
    this.snapshot = initial;
    this.apply(initial);
  }

  async start(): Promise<void> {
    this.lastPrint = await fingerprint(this.dir);
    process.nextTick(() => this.emit(UnleashEvents.Ready));
    process.nextTick(() => this.emit(UnleashEvents.Changed, [...this.features.values()]));
    this.timer = setInterval(() => void this.poll(), this.pollMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /**
   * Re-reads the directory now (used after the gateway itself writes a flag file). Reloads run
   * one at a time, polls included, and listeners hear of a change only when the flags read
   * differ from the flags in force: an admin write used to be loaded twice, once by the writer
   * and once by the poll that saw the new mtime, and every listener (the routing decisions, the
   * log) heard of the one change twice. This reads every file whatever the mtimes say, so a
   * write within the mtime granularity of a coarse filesystem is not missed. Files that fail
   * to load are reported as a poll's are (the poll will not read the same files again).
   */
  reload(): Promise<void> {
    return this.serially(() => this.load(false)).catch((err: unknown) => {
      this.onReloadError(err as Error);
      throw err;
    });
  }

  private serially(job: () => Promise<void>): Promise<void> {
    const run = this.queue.then(job);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** `onlyIfTouched`: skip the read when no file's name, size or mtime changed (the poll). */
  private async load(onlyIfTouched: boolean): Promise<void> {
    // taken before reading: a write in between makes the next poll read again; a file that
    // fails to load is reported once, not on every poll
    const print = await fingerprint(this.dir);
    if (onlyIfTouched && print === this.lastPrint) return;
    this.lastPrint = print;
    const next = await readFlagDir(this.dir, this.snapshot);
    this.onReloaded();
    const text = snapshotText(next);
    if (text === this.applied) return;
    this.apply(next, text);
    this.emit(UnleashEvents.Changed, [...this.features.values()]);
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      await this.serially(() => this.load(true));
    } catch (err) {
      this.onReloadError(err as Error);
    } finally {
      this.polling = false;
    }
  }

  private apply(s: FlagSnapshot, text = snapshotText(s)): void {
    this.snapshot = s;
    this.applied = text;
    this.features = new Map(s.features.map((f) => [f.name, toClientFeature(f)]));
    this.segments = new Map(s.segments.map((seg) => [seg.id, { id: seg.id, constraints: seg.constraints.map(toClientConstraint) }]));
  }

  getToggle(name: string): FeatureInterface | undefined {
    return this.features.get(name);
  }

  getToggles(): FeatureInterface[] {
    return [...this.features.values()];
  }

  getSegment(id: number): Segment | undefined {
    return this.segments.get(id);
  }

  getTogglesWithSegmentData(): FeatureInterface[] {
    return this.getToggles().map((f) => ({
      ...f,
      strategies: f.strategies?.map((st) => {
        const { segments, ...rest } = st as Omit<typeof st, 'segments'> & { segments?: number[] };
        return { ...rest, segments: segments?.map((id) => this.segments.get(id)) };
      }),
    })) as FeatureInterface[];
  }
}

function toClientConstraint(c: FeatureDef['strategies'][number]['constraints'] extends (infer C)[] | undefined ? C : never) {
  return { ...c, values: c.values ?? [], inverted: c.inverted ?? false } as Segment['constraints'][number];
}

/** The feature as unleash-client takes it from Unleash: every field kept (strategy variants too). */
function toClientFeature(f: FeatureDef): FeatureInterface {
  return {
    ...f,
    strategies: f.strategies.map((s) => ({
      ...s,
      parameters: s.parameters ?? {},
      constraints: (s.constraints ?? []).map(toClientConstraint),
    })),
  } as FeatureInterface;
}
