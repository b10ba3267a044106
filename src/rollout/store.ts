/**
 * Where rollouts live, and who runs them.
 *
 * - RolloutStore: the rollout of each context with a version; a write names the version it read
 *   and fails if another write came first (compare-and-set), so an operator's pause on one
 *   instance and the controller's step on another never overwrite each other. In Redis (a Lua
 *   compare-and-set) when REDIS_URL is set, so every instance answers the same state and a new
 *   leader takes over a running rollout; in process otherwise.
 * - Lease: the controller advances rollouts on one instance at a time: a Redis key set with
 *   SET NX PX and renewed by its holder; alone (always the holder) without Redis.
 */
import type { Redis } from 'ioredis';
import type { ContextName } from '../contexts/names.js';
import type { ParityCounts } from '../parity/types.js';
import type { ArmFigures, StepFigures } from './figures.js';
import type { RolloutState } from './schemas.js';

export interface StoredRollout {
  /** bumped by every write; 0 = none stored */
  version: number;
  state: RolloutState;
  /** cumulative figures when the step started (the step is now − this) */
  baseline: StepFigures;
  parityBaseline: ParityCounts | null;
  /** legacy figures of the last step where legacy had traffic: the baseline at 100 % */
  previousLegacy: ArmFigures | null;
}

export interface RolloutStore {
  get(context: ContextName): Promise<StoredRollout | undefined>;
  /** writes `next` (version = expected + 1) if the stored version is `expected` (0: none); false otherwise */
  put(context: ContextName, expected: number, next: Omit<StoredRollout, 'version'>): Promise<StoredRollout | undefined>;
}

export class MemoryRolloutStore implements RolloutStore {
  private readonly items = new Map<ContextName, StoredRollout>();
  async get(context: ContextName): Promise<StoredRollout | undefined> {
    const r = this.items.get(context);
    return r && structuredClone(r);
  }
  async put(context: ContextName, expected: number, next: Omit<StoredRollout, 'version'>): Promise<StoredRollout | undefined> {
    if ((this.items.get(context)?.version ?? 0) !== expected) return undefined;
    const stored = structuredClone({ ...next, version: expected + 1 });
    this.items.set(context, stored);
    return structuredClone(stored);
  }
}

const CAS = `
local cur = redis.call('GET', KEYS[1])
local v = 0
if cur then v = tonumber(cjson.decode(cur).version) end
if v ~= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
return 1`;

export class RedisRolloutStore implements RolloutStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}
  private key(context: ContextName): string {
    return `${this.prefix}state:${context}`;
  }
  async get(context: ContextName): Promise<StoredRollout | undefined> {
    const raw = await this.redis.get(this.key(context));
    return raw === null ? undefined : (JSON.parse(raw) as StoredRollout);
  }
  async put(context: ContextName, expected: number, next: Omit<StoredRollout, 'version'>): Promise<StoredRollout | undefined> {
    const stored: StoredRollout = { ...next, version: expected + 1 };
    const ok = await this.redis.eval(CAS, 1, this.key(context), String(expected), JSON.stringify(stored));
    return ok === 1 ? stored : undefined;
  }
}

export interface Lease {
  /** true while this instance holds the lease (acquires or renews it) */
  hold(): Promise<boolean>;
  release(): Promise<void>;
}

export const ALONE: Lease = { hold: async () => true, release: async () => undefined };

const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`;
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

export class RedisLease implements Lease {
  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    /** this instance's name in the lease */
    readonly holder: string,
    private readonly ttlMs: number,
  ) {}

  async hold(): Promise<boolean> {
    try {
      if ((await this.redis.eval(RENEW, 1, this.key, this.holder, String(this.ttlMs))) === 1) return true;
      return (await this.redis.set(this.key, this.holder, 'PX', this.ttlMs, 'NX')) === 'OK';
    } catch {
      return false; // Redis down: nobody can prove they lead, so nobody steps
    }
  }

  async release(): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.key, this.holder).catch(() => undefined);
  }
}
