/**
 * The rollout controller (docs/rollouts.md): moves a context's route flag through a plan of
 * percentages. Each step holds for at least `holdMs` AND until every gating guardrail has its
 * minimum samples, then advances; a guardrail over its threshold rolls the context back to 0 %
 * at once. Every percentage change goes through the flag source's write path (files or Unleash,
 * FlagProvider.setRoute) and the audit trail with actor `rollout-controller`, and every
 * transition is a bus event `rollout.*`.
 *
 * Operator commands (start, pause, resume, abort) run on whichever instance receives them; the
 * periodic judgement (`tick`) runs only on the lease holder. Both write the store with
 * compare-and-set, and operations on one context are serialised in process.
 */
import { randomUUID } from 'node:crypto';
import { CONTEXTS, flagOf, type ContextName } from '../contexts/names.js';
import { GatewayError } from '../errors.js';
import type { RouteAudit } from '../admin/route-audit.js';
import type { AuditEntry } from '../admin/schemas.js';
import type { EventBus, GatewayEventType } from '../events/bus.js';
import type { FlagProvider, FlagWrite } from '../routing/flag-provider.js';
import { routeStateOf } from '../routing/route-state.js';
import type { ParityCounts, ParityReader } from '../parity/types.js';
import { subtract, type ArmRecorder } from './figures.js';
import { describeBreach, describeLimits, judge, result, waiting, withOverrides, type GuardrailConfig } from './guardrails.js';
import type { GuardrailOverrides, HistoryType, RolloutState } from './schemas.js';
import type { Lease, RolloutStore, StoredRollout } from './store.js';
import type { Overrides } from './override.js';

export const CONTROLLER_ACTOR = 'rollout-controller';

export interface ControllerDeps {
  flags: FlagProvider;
  audit: RouteAudit;
  events: EventBus;
  /** read at every judgement: the shadow comparator may be wired or not */
  parity: () => ParityReader | undefined;
  recorder: ArmRecorder;
  store: RolloutStore;
  lease: Lease;
  /** the kill override: a rollback the flag source cannot take is applied through it */
  overrides?: Overrides;
  /** the gateway's limits (ROLLOUT_*): a rollout started without `guardrails` of its own is judged by these */
  guardrails: GuardrailConfig;
  log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
}

const ACTIVE = new Set(['running', 'paused']);

const diffParity = (a: ParityCounts, b: ParityCounts): ParityCounts => ({
  match: Math.max(0, a.match - b.match),
  mismatch: Math.max(0, a.mismatch - b.mismatch),
  noise: Math.max(0, a.noise - b.noise),
  error: Math.max(0, a.error - b.error),
  shed: Math.max(0, a.shed - b.shed),
});

export class RolloutController {
  private readonly locks = new Map<ContextName, Promise<unknown>>();
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;
  /** closed: this instance judges no more (it has released the lease) */
  private closed = false;

  constructor(private readonly deps: ControllerDeps) {}

  /** Judges running rollouts every `tickMs` (on the lease holder only). */
  run(tickMs: number): void {
    this.timer = setInterval(() => void this.tick(), tickMs);
    this.timer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await Promise.all([...this.locks.values()].map((p) => p.catch(() => undefined)));
    await this.deps.lease.release();
  }

  async get(context: ContextName): Promise<RolloutState | undefined> {
    return (await this.read(context))?.state;
  }

  async list(): Promise<RolloutState[]> {
    const all = await Promise.all(CONTEXTS.map((c) => this.read(c)));
    return all.filter((r): r is StoredRollout => r !== undefined).map((r) => r.state);
  }

  /**
   * The stored rollout. One stored before rollouts kept their own limits (an older gateway
   * sharing the Redis store) is judged by this gateway's.
   */
  private async read(context: ContextName): Promise<StoredRollout | undefined> {
    const r = await this.deps.store.get(context);
    if (r && !(r.state as Partial<RolloutState>).limits) r.state.limits = withOverrides(this.deps.guardrails, undefined);
    return r;
  }

  /**
   * Starts a rollout at its first step. `guardrails` are this rollout's own thresholds, minimum
   * samples and p99 floor over the gateway's; they are kept with the rollout (`limits`), so
   * whichever instance holds the lease judges it by the same rules.
   */
  async start(context: ContextName, steps: readonly number[], holdMs: number, actor: string, reason: string | null, guardrails?: GuardrailOverrides): Promise<RolloutState> {
    for (let i = 1; i < steps.length; i++) {
      if (steps[i]! <= steps[i - 1]!) throw new GatewayError(400, 'GW_ERR_REQUEST_INVALID', `steps must increase strictly: ${steps.join(', ')}`);
    }
    return this.locked(context, async () => {
      const prev = await this.deps.store.get(context);
      if (prev && ACTIVE.has(prev.state.status)) {
        throw new GatewayError(409, 'GW_ERR_ADMIN_ROLLOUT_CONFLICT', `a rollout of ${context} is ${prev.state.status} (step ${prev.state.stepIndex + 1}/${prev.state.steps.length}, ${prev.state.percent} %): pause, resume or abort it first`);
      }
      const percent = steps[0]!;
      const limits = withOverrides(this.deps.guardrails, guardrails);
      await this.writeFlag(context, percent, `rollout started by ${actor}${reason ? `: ${reason}` : ''}`);
      const now = new Date().toISOString();
      const state: RolloutState = {
        context,
        status: 'running',
        steps: [...steps],
        stepIndex: 0,
        percent,
        holdMs,
        startedAt: now,
        stepStartedAt: now,
        actor,
        reason,
        limits,
        guardrails: waiting(limits),
        history: [{ at: now, type: 'started', percent, actor, reason }],
      };
      const stored = await this.deps.store.put(context, prev?.version ?? 0, { state, ...(await this.baselines(context, null)) });
      if (!stored) throw new GatewayError(409, 'GW_ERR_ADMIN_ROLLOUT_CONFLICT', `the rollout of ${context} changed meanwhile: try again`);
      this.emit('rollout.started', state, actor, { percent, reason, steps: state.steps, holdMs, limits });
      return state;
    });
  }

  pause(context: ContextName, actor: string, reason: string | null): Promise<RolloutState> {
    return this.operator(context, 'paused', ['running'], actor, reason, async (r) => {
      r.state.status = 'paused';
      return r;
    });
  }

  resume(context: ContextName, actor: string, reason: string | null): Promise<RolloutState> {
    return this.operator(context, 'resumed', ['paused'], actor, reason, async (r) => {
      r.state.status = 'running';
      // the step's figures start again: what happened while paused is not this step's judgement
      r.state.stepStartedAt = new Date().toISOString();
      return { ...r, ...(await this.baselines(context, r.previousLegacy)) };
    });
  }

  /**
   * New limits for a running or paused rollout, over its current ones (not the gateway's): a
   * guardrail found too strict or too lax is corrected without aborting (which sets 0 %) and
   * starting over. The current step keeps its figures; the next judgement uses the new limits.
   */
  changeLimits(context: ContextName, guardrails: GuardrailOverrides, actor: string, reason: string | null): Promise<RolloutState> {
    return this.operator(context, 'limits_changed', ['running', 'paused'], actor, reason, async (r) => {
      const before = r.state.limits;
      r.state.limits = withOverrides(before, guardrails);
      // the last judgement shown against the new limits until the next tick judges again
      r.state.guardrails = r.state.guardrails.map((g) => result(g.name, r.state.limits[g.name], g.value, g.samples));
      return r;
    });
  }

  abort(context: ContextName, actor: string, reason: string | null): Promise<RolloutState> {
    return this.operator(context, 'aborted', ['running', 'paused'], actor, reason, async (r) => {
      await this.writeFlag(context, 0, `rollout aborted by ${actor}${reason ? `: ${reason}` : ''}`);
      r.state.status = 'aborted';
      r.state.percent = 0;
      return r;
    });
  }

  private async operator(
    context: ContextName,
    type: HistoryType,
    from: readonly RolloutState['status'][],
    actor: string,
    reason: string | null,
    apply: (r: StoredRollout) => Promise<Omit<StoredRollout, 'version'>>,
  ): Promise<RolloutState> {
    return this.locked(context, async () => {
      const r = await this.read(context);
      if (!r) throw new GatewayError(404, 'GW_ERR_ADMIN_ROLLOUT_NOT_FOUND', `no rollout of ${context}`);
      if (!from.includes(r.state.status)) {
        const verb = { paused: 'pause it', resumed: 'resume it', aborted: 'abort it', limits_changed: 'change its limits' }[type as 'paused' | 'resumed' | 'aborted' | 'limits_changed'];
        throw new GatewayError(409, 'GW_ERR_ADMIN_ROLLOUT_CONFLICT', `the rollout of ${context} is ${r.state.status}: cannot ${verb}`);
      }
      const version = r.version;
      const next = await apply(r);
      next.state.reason = reason;
      next.state.history.push({ at: new Date().toISOString(), type, percent: next.state.percent, actor, reason });
      const stored = await this.deps.store.put(context, version, next);
      if (!stored) throw new GatewayError(409, 'GW_ERR_ADMIN_ROLLOUT_CONFLICT', `the rollout of ${context} changed meanwhile: try again`);
      const what = type === 'limits_changed' ? `limits changed (${describeLimits(next.state.limits)})` : type;
      if (type !== 'aborted') await this.auditOnly(context, `rollout ${what} by ${actor}${reason ? `: ${reason}` : ''}`);
      this.emit(`rollout.${type}` as GatewayEventType, next.state, actor, { percent: next.state.percent, reason, ...(type === 'limits_changed' ? { limits: next.state.limits } : {}) });
      return next.state;
    });
  }

  /** One judgement of every running rollout, if this instance holds the lease. */
  async tick(): Promise<void> {
    if (this.ticking || this.closed) return;
    this.ticking = true;
    try {
      if (!(await this.deps.lease.hold())) return;
      for (const c of CONTEXTS) {
        try {
          await this.locked(c, () => this.judgeOne(c));
        } catch (err) {
          this.deps.log.error({ event: 'rollout.tick_failed', context: c, err }, `rollout of ${c}: judgement failed; retried at the next tick`);
        }
      }
    } finally {
      this.ticking = false;
    }
  }

  private async judgeOne(context: ContextName): Promise<void> {
    const r = await this.read(context);
    if (!r || r.state.status !== 'running') return;
    const now = await this.deps.recorder.read(context);
    const step = subtract(now, r.baseline);
    const reader = this.deps.parity();
    const parityNow = reader ? await reader.sharedCounts(context) : undefined;
    const parity = parityNow ? diffParity(parityNow, r.parityBaseline ?? parityNow) : undefined;
    const s = r.state;
    const j = judge({ step, previousLegacy: r.previousLegacy ?? undefined, parity }, s.limits);
    s.guardrails = j.guardrails;
    const at = new Date().toISOString();
    if (j.breach) {
      let why = `rolled back at ${s.percent} %: ${describeBreach(j.breach)}`;
      try {
        await this.writeFlag(context, 0, why);
      } catch (err) {
        // the flag source cannot take the rollback (Unleash down, files unwritable): the kill
        // override forces legacy without it, held until an operator clears it
        if (!this.deps.overrides) throw err;
        await this.deps.overrides.set(context, why, CONTROLLER_ACTOR);
        why = `${why}; the flag could not be written (${(err as Error).message}): kill override set instead`;
        this.deps.log.error({ event: 'rollout.rollback_override', context, err }, `${context}: rollback through the kill override`);
      }
      s.status = 'rolled_back';
      s.reason = why;
      s.percent = 0;
      s.history.push({ at, type: 'rolled_back', percent: 0, actor: CONTROLLER_ACTOR, reason: why });
      if (await this.save(context, r)) {
        this.deps.log.warn({ event: 'rollout.rolled_back', context, guardrail: j.breach }, `${context}: ${why}`);
        this.emit('rollout.rolled_back', s, CONTROLLER_ACTOR, { percent: 0, reason: why, guardrail: j.breach });
      }
      return;
    }
    const held = Date.now() - Date.parse(s.stepStartedAt) >= s.holdMs;
    if (!held || !j.ready) {
      await this.save(context, r);
      return;
    }
    // legacy figures of this step, kept for a later step where legacy has no traffic (100 %)
    const previousLegacy = j.legacyFrom === 'step' ? step.legacy : r.previousLegacy;
    if (s.stepIndex === s.steps.length - 1) {
      const why = `completed at ${s.percent} %`;
      s.status = 'completed';
      s.reason = why;
      s.history.push({ at, type: 'completed', percent: s.percent, actor: CONTROLLER_ACTOR, reason: why });
      if (await this.save(context, r)) {
        await this.auditOnly(context, `rollout ${why}`);
        this.emit('rollout.completed', s, CONTROLLER_ACTOR, { percent: s.percent, reason: why });
      }
      return;
    }
    const percent = s.steps[s.stepIndex + 1]!;
    const why = `step ${s.stepIndex + 2}/${s.steps.length}: guardrails held over ${s.percent} %`;
    await this.writeFlag(context, percent, why);
    s.stepIndex++;
    s.percent = percent;
    s.stepStartedAt = at;
    s.reason = why;
    s.guardrails = waiting(s.limits);
    s.history.push({ at, type: 'step', percent, actor: CONTROLLER_ACTOR, reason: why });
    if (await this.save(context, { ...r, ...(await this.baselines(context, previousLegacy)) })) {
      this.emit('rollout.step', s, CONTROLLER_ACTOR, { percent, reason: why });
    }
  }

  /** Compare-and-set; when another write came first, the flag is put back to what that write says. */
  private async save(context: ContextName, r: StoredRollout): Promise<boolean> {
    const { version, ...next } = r;
    if (await this.deps.store.put(context, version, next)) return true;
    const now = await this.deps.store.get(context);
    if (now && now.state.percent !== r.state.percent) await this.writeFlag(context, now.state.percent, `reconciled with the rollout's ${now.state.status} state`);
    return false;
  }

  private async baselines(context: ContextName, previousLegacy: StoredRollout['previousLegacy']): Promise<Omit<StoredRollout, 'version' | 'state'>> {
    const reader = this.deps.parity();
    return {
      baseline: await this.deps.recorder.read(context),
      parityBaseline: reader ? await reader.sharedCounts(context) : null,
      previousLegacy,
    };
  }

  /** Sets the context's percent where the flags live, recorded in the audit trail as the controller's. */
  private async writeFlag(context: ContextName, percent: number, reason: string): Promise<void> {
    const flag = flagOf(context);
    await this.deps.audit.adminChange(
      context,
      () => this.deps.flags.setRoute(flag, { percent }),
      (write: FlagWrite): AuditEntry => ({
        id: randomUUID(),
        at: new Date().toISOString(),
        actor: CONTROLLER_ACTOR,
        action: 'route',
        context,
        flag,
        source: 'admin',
        location: write.location,
        requested: { percent },
        before: write.before,
        after: write.after,
        reason,
      }),
    );
    this.deps.log.info({ event: 'rollout.flag_written', context, percent, reason }, `${context}: ${percent} % (${reason})`);
  }

  /** A rollout transition that does not change the flag (pause, resume, completion), in the audit trail. */
  private async auditOnly(context: ContextName, reason: string): Promise<void> {
    const flag = flagOf(context);
    const now = routeStateOf(this.deps.flags.definitions().find((f) => f.name === flag));
    await this.deps.audit.record({
      id: randomUUID(),
      at: new Date().toISOString(),
      actor: CONTROLLER_ACTOR,
      action: 'rollout',
      context,
      flag,
      source: 'admin',
      location: this.deps.flags.locationOf?.(flag) ?? this.deps.flags.location,
      before: now,
      after: now,
      reason,
    });
  }

  private emit(type: GatewayEventType, s: RolloutState, actor: string, data: Record<string, unknown>): void {
    this.deps.events.emit(type, data, { context: s.context as ContextName, actor });
  }

  /** Runs `fn` after every earlier operation on the context (in this process) has finished. */
  private locked<T>(context: ContextName, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(context) ?? Promise.resolve();
    const run = prev.catch(() => undefined).then(fn);
    this.locks.set(context, run);
    return run;
  }
}
