/**
 * Routing decisions remembered across requests.
 *
 * A decision is a pure function of the flags in force and the request's flag context (docs/ARCHITECTURE.md#the-routing-decision),
 * but only while every route flag evaluates deterministically. Evaluating the three route flags
 * took 10–16 µs and 4.4 KB of allocation per composed product in profiles (every call spreads the
 * context, walks generators and hashes the stickiness id); the throughput gain, measured with
 * fresh processes (docs/perf/2026-11-27-pass04-least-a-composition-costs.md), is within the test machine's noise. A
 * decision is remembered per flag context, under these rules:
 *
 * - Whenever the flags in force change (a file reload, an admin write, an Unleash refresh that
 *   changed something), the remembered verdicts of every flag whose definition changed are
 *   stale: the next request of each context asks unleash-client again for that flag only, so a
 *   flip is seen by the very next request, as without the memo, and costs one evaluation per
 *   remembered context rather than three. The source becoming ready makes every verdict stale.
 * - It is used only while every route flag is deterministic for a given context, which
 *   `memoizable()` checks on each change. Not deterministic: random stickiness (or `default`
 *   stickiness for a request with neither userId nor sessionId, which unleash-client makes
 *   random), the `gradualRolloutRandom` strategy, date constraints (they compare with the
 *   current time), strategies unleash-client does not ship, flag dependencies, and flags with
 *   impression data (each evaluation emits an event). Otherwise unleash-client decides every
 *   request, as before.
 * - The key is the whole flag context, each value length-prefixed, so two different contexts
 *   never share a key.
 * - At most MAX_REMEMBERED contexts are kept. When the memo is full, the oldest is forgotten.
 *
 * Every decision in the memo came from unleash-client: a remembered decision and a fresh
 * evaluation are the same value (test/unit/decision-memo.test.ts checks this against the
 * decision tables).
 */
import type { Context } from 'unleash-client';
import { CONTEXTS, flagOf, type ContextName } from '../contexts/names.js';
import { backendOf, decide, type Backend, type RoutingDecision } from './decide.js';
import type { FlagProvider } from './flag-provider.js';

/**
 * Contexts remembered at most. A key is ~100 bytes for a typical request and at most ~700 (user
 * and session ids are capped at 256 characters): 1–7 MB. The decisions themselves are shared.
 */
export const MAX_REMEMBERED = 10_000;

/** One remembered hit in AUDIT_EVERY is evaluated again and compared. */
export const AUDIT_EVERY = 16;

export type Memoizable =
  | { readonly ok: true; /** some flag uses `default` stickiness: only requests with a userId or sessionId are remembered */ readonly needsStickyId: boolean }
  | { readonly ok: false; readonly reason: string };

type Definition = ReturnType<FlagProvider['definitions']>[number];

/** Strategies shipped with unleash-client whose verdict depends on the context alone. */
const DETERMINISTIC_STRATEGIES = new Set(['default', 'flexibleRollout', 'userWithId', 'remoteAddress', 'applicationHostname', 'gradualRolloutUserId', 'gradualRolloutSessionId']);
/** Constraint operators that compare context values only (the DATE_ operators read the clock). */
const DETERMINISTIC_OPERATORS = new Set([
  'IN', 'NOT_IN', 'STR_ENDS_WITH', 'STR_STARTS_WITH', 'STR_CONTAINS', 'NUM_EQ', 'NUM_GT', 'NUM_GTE', 'NUM_LT', 'NUM_LTE',
  'SEMVER_EQ', 'SEMVER_GT', 'SEMVER_LT', 'SEMVER_GTE', 'SEMVER_LTE', 'REGEX', 'IN_CIDR',
]);

/** Whether the route flags' verdicts depend on the flag context alone, and if not, why. */
export function memoizable(definitions: readonly Definition[], flags: readonly string[] = CONTEXTS.map(flagOf)): Memoizable {
  let needsStickyId = false;
  for (const name of flags) {
    const f = definitions.find((d) => d.name === name);
    if (!f || !f.enabled) continue; // undefined or off: always legacy
    if (f.dependencies?.length) return { ok: false, reason: `${name} depends on other flags` };
    if (f.impressionData) return { ok: false, reason: `${name} has impression data (an event per evaluation)` };
    for (const s of f.strategies ?? []) {
      if (!DETERMINISTIC_STRATEGIES.has(s.name)) return { ok: false, reason: `${name} uses the ${s.name} strategy` };
      if (s.name === 'flexibleRollout') {
        const stickiness = typeof s.parameters?.stickiness === 'string' && s.parameters.stickiness !== '' ? s.parameters.stickiness : 'default';
        if (stickiness === 'random') return { ok: false, reason: `${name} uses random stickiness` };
        if (stickiness === 'default') needsStickyId = true;
      }
      const constraints = [...(s.constraints ?? []), ...(s.segments ?? []).flatMap((seg) => seg?.constraints ?? [])];
      for (const c of constraints) {
        if (!DETERMINISTIC_OPERATORS.has(c.operator)) return { ok: false, reason: `${name} has a ${c.operator} constraint` };
      }
    }
  }
  return { ok: true, needsStickyId };
}

/** The memo key: every field of the context, each length-prefixed (no separator can collide). */
function keyOf(ctx: Context): string {
  let k = '';
  for (const name in ctx) {
    const v = ctx[name];
    if (name === 'properties') {
      const props = v as Record<string, unknown> | undefined;
      if (props) {
        for (const p in props) {
          const pv = props[p];
          if (pv === undefined) continue;
          const s = String(pv);
          k += `p${p.length}:${p}${s.length}:${s}`;
        }
      }
    } else if (v !== undefined) {
      const s = String(v);
      k += `c${name.length}:${name}${s.length}:${s}`;
    }
  }
  return k;
}

export interface DecisionLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** A remembered decision and, per context, the generation of its flag it was evaluated under. */
interface Entry {
  decision: RoutingDecision;
  readonly generations: number[];
}

export class RoutingDecisions {
  private readonly remembered = new Map<string, Entry>();
  private rule: Memoizable = { ok: false, reason: 'flags not loaded yet' };
  /** per context (CONTEXTS order): bumped when that flag's definition changes */
  private readonly generations = CONTEXTS.map(() => 0);
  private definitionsSeen: (string | undefined)[] = CONTEXTS.map(() => undefined);
  private readonly unsubscribe: () => void;

  constructor(
    private readonly flags: FlagProvider,
    private readonly log?: DecisionLogger,
    private readonly max = MAX_REMEMBERED,
  ) {
    this.unsubscribe = flags.onChange((what) => this.reset(what === 'ready'));
    this.reset(true);
  }

  /** contexts the kill override forces to legacy whatever their flag (src/rollout/override.ts) */
  private forced: ReadonlySet<ContextName> = new Set();

  /** Forces these contexts to legacy, before any flag, until called again without them. */
  forceLegacy(contexts: ReadonlySet<ContextName>): void {
    this.forced = contexts;
  }

  /** The routing decision for a flag context (the kill override applied over the flags). */
  decide(ctx: Context): RoutingDecision {
    const d = this.decideFlags(ctx);
    if (this.forced.size === 0) return d;
    const next: Record<string, Backend> = {};
    for (const c of CONTEXTS) next[c] = this.forced.has(c) ? 'legacy' : d[c]!;
    return intern(Object.freeze(next) as RoutingDecision);
  }

  /** The routing decision of the flags: remembered when the rules above allow it. */
  private decideFlags(ctx: Context): RoutingDecision {
    const rule = this.rule;
    if (!rule.ok || (rule.needsStickyId && !ctx.userId && !ctx.sessionId)) return decide(this.flags.isEnabled, ctx);
    const key = keyOf(ctx);
    const entry = this.remembered.get(key);
    if (entry === undefined) {
      const d = intern(decide(this.flags.isEnabled, ctx));
      if (this.remembered.size >= this.max) this.remembered.delete(this.remembered.keys().next().value as string);
      this.remembered.set(key, { decision: d, generations: this.generations.slice() });
      return d;
    }
    // A flag changed since: only its verdict is asked again (a flip of one context costs one
    // evaluation per context remembered, not three).
    const g = entry.generations;
    let stale = false;
    for (let i = 0; i < g.length; i++) if (g[i] !== this.generations[i]) stale = true;
    if (!stale) {
      // Every AUDIT_EVERY-th hit is evaluated anyway and compared: a check of the memo, and it
      // keeps unleash-client's evaluation warm for the moment a flip makes every verdict stale.
      if (++this.hits % AUDIT_EVERY === 0) this.audit(ctx, entry);
      return entry.decision;
    }
    const next: Record<string, Backend> = {};
    CONTEXTS.forEach((c, i) => {
      if (g[i] === this.generations[i]) next[c] = entry.decision[c]!;
      else {
        next[c] = backendOf(this.flags.isEnabled, c, ctx);
        g[i] = this.generations[i]!;
      }
    });
    entry.decision = intern(Object.freeze(next) as RoutingDecision);
    return entry.decision;
  }

  private hits = 0;

  private audit(ctx: Context, entry: Entry): void {
    const fresh = decide(this.flags.isEnabled, ctx);
    for (const c of CONTEXTS) {
      if (fresh[c] !== entry.decision[c]) {
        this.log?.warn({ event: 'routing.memo_mismatch', context: c, remembered: entry.decision[c], evaluated: fresh[c] }, 'a remembered routing decision differed from unleash-client; forgetting all');
        this.remembered.clear();
        return;
      }
    }
  }

  /** Whether decisions are being remembered, and if not, why (for logs and tests). */
  get memo(): Memoizable {
    return this.rule;
  }

  get size(): number {
    return this.remembered.size;
  }

  /**
   * The flags in force changed: the flags whose definition differs get a new generation, so their
   * remembered verdicts are asked again. `all`: the source became ready (it answered with the
   * fallback before), every verdict is asked again.
   */
  private reset(all: boolean): void {
    const definitions = this.flags.definitions();
    CONTEXTS.forEach((c, i) => {
      const seen = JSON.stringify(definitions.find((d) => d.name === flagOf(c)) ?? null);
      if (all || seen !== this.definitionsSeen[i]) {
        this.definitionsSeen[i] = seen;
        this.generations[i]!++;
      }
    });
    const before = this.rule;
    this.rule = memoizable(definitions);
    if (!this.rule.ok) this.remembered.clear();
    if (this.rule.ok !== before.ok || (!this.rule.ok && !before.ok && this.rule.reason !== before.reason)) {
      this.log?.info(
        { event: 'routing.memo', remembered: this.rule.ok, ...(this.rule.ok ? {} : { reason: this.rule.reason }) },
        this.rule.ok ? 'routing decisions are remembered per flag context until the flags change' : `routing decisions are evaluated per request: ${this.rule.reason}`,
      );
    }
  }

  close(): void {
    this.unsubscribe();
    this.remembered.clear();
  }
}

/** One frozen object per distinct decision (there are 2^3), so remembered entries share them. */
const interned = new Map<string, RoutingDecision>();
function intern(d: RoutingDecision): RoutingDecision {
  let k = '';
  for (const c of CONTEXTS) k += d[c] === 'new' ? '1' : '0';
  let hit = interned.get(k);
  if (hit === undefined) {
    hit = d;
    interned.set(k, d);
  }
  return hit;
}
