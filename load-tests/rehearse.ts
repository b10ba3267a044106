/**
 * `npm run load -- rehearse --context <ctx> --plan 1,10,50,100`: a rollout rehearsed under load.
 * The rollout goes through the gateway's own controller (`POST /admin/rollouts/<ctx>`, what
 * `strangler rollout start` calls) while autocannon drives open-loop OCC product reads from many
 * shoppers; once a second the rollout's state and the parity counts are read from the admin API,
 * and every response is counted for the arm that served the context (`x-strangler-route`). At the
 * end, on a failure and on ^C, whatever the rehearsal touched is put back as found and checked:
 * the context's flag, a kill override the controller may have set, the simulator fault.
 *
 * Embedded world (default): lib/stack.ts with SHADOW_<CTX>_PERCENT set. `--gateway URL`: an
 * existing gateway, driven only through its admin API.
 */
import { performance } from 'node:perf_hooks';
import { CONTEXTS, contextIdentities, type ContextName } from '../src/contexts/names.js';
import { shadowPercentEnv } from '../src/config/schema.js';
import type { RouteView, RoutesResponse } from '../src/admin/schemas.js';
import type { ParityDetailResponse } from '../src/parity/schemas.js';
import type { GuardrailOverrides, Override, RolloutState } from '../src/rollout/schemas.js';
import type { ParityCounts } from '../src/parity/types.js';
import type { CliOptions } from './lib/args.js';
import { runLoad, warmup, type Marker, type RunResult } from './lib/load.js';
import { onInterrupt } from './lib/procs.js';
import { chart, COLORS, esc, fmt, htmlTable, machine, REPORTS_DIR, STYLE, table, writeReport } from './lib/report.js';
import { adminCall, startStack, type Admin } from './lib/stack.js';
import { latencyStats, round } from './lib/stats.js';
import { productCode, SITE } from './scenarios.js';

const ACTOR = 'load-test rehearse';
/** distinct x-user-id values: the flag's stickiness spreads them over both arms */
const SHOPPERS = 20_000;
/** seconds of load before the rollout starts (legacy only: the baseline on the charts) */
const LEAD_S = 2;
/** seconds of load after the rollout has ended (what traffic does after a rollback) */
const TAIL_S = 3;
const TERMINAL = new Set(['completed', 'rolled_back', 'aborted']);
/** the longest a rehearsal runs when --duration does not say */
const MAX_BUDGET_S = 900;

export type Arm = 'legacy' | 'new' | 'fallback' | 'unrouted';
export const ARMS: readonly Arm[] = ['legacy', 'new', 'fallback', 'unrouted'];
const ARM_COLORS: Record<Arm, string> = { legacy: '#4b5563', new: '#2563eb', fallback: '#ea580c', unrouted: '#ca8a04' };

/** The arm that served `ctx` in a response, from its `x-strangler-route` (e.g. `pricing=legacy(fallback)`). */
export function armOf(ctx: string): (route: string) => Arm {
  const prefix = `${ctx}=`;
  return (route) => {
    for (const part of route.split(',')) {
      const p = part.trim();
      if (!p.startsWith(prefix)) continue;
      const v = p.slice(prefix.length);
      return v === 'new' ? 'new' : v === 'legacy(fallback)' ? 'fallback' : 'legacy';
    }
    return 'unrouted';
  };
}

interface Poll {
  /** wall clock (ms) */
  at: number;
  state: RolloutState | undefined;
  parity: ParityCounts | undefined;
}

interface ArmWindow {
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
}

export interface StepRow {
  index: number;
  percent: number;
  from: number;
  to: number;
  /** how the step ended: step (advanced), completed, rolled_back, aborted, paused, or running (still, at the end) */
  ended: string;
  arms: Partial<Record<Arm, ArmWindow>>;
  guardrails: RolloutState['guardrails'];
  /** guardrails still short of their minimum samples when the step ended (null: all had them) */
  shortOfSamples: string | null;
}

export interface RehearseSecond {
  t: number;
  percent: number | null;
  status: string | null;
  arms: Partial<Record<Arm, { requests: number; non2xx: number; p99: number }>>;
  errors: number;
  /** parity verdicts counted in this second (the difference of two reads of /admin/parity) */
  parity: ParityCounts | null;
}

export interface RestoreReport {
  actions: string[];
  verified: boolean;
  problems: string[];
  found: { route: string; override: boolean; fault: Record<string, unknown> | null };
  after: { route: string; override: boolean; fault: Record<string, unknown> | null };
}

export interface RehearseReport {
  kind: 'rehearse';
  command: string;
  machine: ReturnType<typeof machine>;
  target: string;
  external: boolean;
  context: string;
  options: { plan: number[]; holdS: number; rate: number; connections: number; budgetS: number; shadowPercent: number | null; fault: Record<string, unknown> | null; minSamples: number | null; guardrails: GuardrailOverrides | null; gatewayEnv: Record<string, string> };
  verdict: { outcome: 'completed' | 'rolled_back' | 'not_finished'; text: string; guardrail: string | null; step: number | null; percent: number };
  steps: StepRow[];
  seconds: RehearseSecond[];
  markers: Marker[];
  parity: { start: ParityCounts | null; end: ParityCounts | null; counted: ParityCounts | null };
  rollout: RolloutState | undefined;
  result: Pick<RunResult, 'startedAt' | 'durationS' | 'requests' | 'rps' | 'latency' | 'non2xx' | 'errors' | 'statuses'>;
  gateway: { cpuMsPerRequest: number | null };
  restore: RestoreReport;
  notes: string[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ZERO: ParityCounts = { match: 0, mismatch: 0, noise: 0, error: 0, shed: 0 };
const diff = (a: ParityCounts, b: ParityCounts): ParityCounts => ({
  match: a.match - b.match,
  mismatch: a.mismatch - b.mismatch,
  noise: a.noise - b.noise,
  error: a.error - b.error,
  shed: a.shed - b.shed,
});

function describeRoute(v: RouteView | undefined): string {
  if (!v || !v.defined) return 'no flag';
  if (!v.enabled) return 'off';
  const extra = [v.stickiness ? `stickiness ${v.stickiness}` : '', v.constraints.length ? `${v.constraints.length} constraint(s)` : ''].filter(Boolean).join(', ');
  return `${v.rollout === null ? 'custom strategies' : `${v.rollout} %`}${extra ? ` (${extra})` : ''}`;
}

/** What decides routing: the same in both views means the context routes as it did. */
const routeKey = (v: RouteView | undefined) => JSON.stringify(v ? [v.defined, v.enabled, v.rollout, v.stickiness, v.constraints] : null);

/**
 * What the rehearsal found, and how it puts it back: the context's route flag (the rollout
 * writes it), a kill override the controller sets when the flag source refuses a rollback, and
 * the simulator's fault configuration. Idempotent: the normal end, a failure and ^C all call it.
 */
class Restore {
  private route: RouteView | undefined;
  private override = false;
  private faultBefore: Record<string, unknown> | null = null;
  private faultSet = false;
  private done: Promise<RestoreReport> | undefined;

  constructor(
    private readonly admin: Admin,
    private readonly ctx: ContextName,
    private readonly serviceUrl: string | undefined,
    private readonly log: (m: string) => void,
  ) {}

  private async routes(): Promise<RouteView | undefined> {
    const r = await adminCall(this.admin, 'GET', '/routes');
    if (r.status !== 200) throw new Error(`GET /admin/routes answered ${r.status}: ${JSON.stringify(r.json).slice(0, 300)}`);
    return (r.json as RoutesResponse).routes.find((v) => v.context === this.ctx);
  }

  private async hasOverride(): Promise<boolean> {
    const r = await adminCall(this.admin, 'GET', '/overrides');
    if (r.status !== 200) throw new Error(`GET /admin/overrides answered ${r.status}`);
    return (r.json as { overrides: Override[] }).overrides.some((o) => o.context === this.ctx);
  }

  private async faults(): Promise<Record<string, unknown>> {
    const res = await fetch(`${this.serviceUrl}/__faults`, { signal: AbortSignal.timeout(5000) });
    if (!res.ok) throw new Error(`GET ${this.serviceUrl}/__faults answered ${res.status}`);
    return (await res.json()) as Record<string, unknown>;
  }

  private async putFaults(body: object): Promise<void> {
    const res = await fetch(`${this.serviceUrl}/__faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(5000) });
    if (!res.ok) throw new Error(`PUT ${this.serviceUrl}/__faults answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
  }

  /** Reads the starting state; refuses to start over an operator's override. */
  async capture(): Promise<string> {
    this.route = await this.routes();
    this.override = await this.hasOverride();
    if (this.override) throw new Error(`${this.ctx} has a kill override: every request goes to legacy, a rehearsal would measure nothing (clear it first)`);
    return describeRoute(this.route);
  }

  async setFault(fault: Record<string, unknown>): Promise<void> {
    if (!this.serviceUrl) throw new Error(`--fault needs the ${this.ctx} service's URL (${contextIdentities().find((c) => c.name === this.ctx)?.upstream.urlEnv ?? '<CTX>_URL'})`);
    this.faultBefore = await this.faults();
    this.faultSet = true;
    await this.putFaults(fault);
  }

  restore(): Promise<RestoreReport> {
    this.done ??= this.putBack();
    return this.done;
  }

  private async putBack(): Promise<RestoreReport> {
    const actions: string[] = [];
    const problems: string[] = [];
    const reason = 'load test (load-tests/rehearse.ts): put back as found';
    const attempt = async (what: string, fn: () => Promise<string | undefined>) => {
      try {
        const done = await fn();
        if (done) actions.push(done);
      } catch (err) {
        problems.push(`${what}: ${(err as Error).message}`);
      }
    };
    await attempt('rollout', async () => {
      const r = await adminCall(this.admin, 'GET', `/rollouts/${this.ctx}`);
      const s = r.status === 200 ? (r.json as RolloutState) : undefined;
      if (!s || (s.status !== 'running' && s.status !== 'paused')) return undefined;
      const a = await adminCall(this.admin, 'POST', `/rollouts/${this.ctx}/abort`, { reason: 'load test (load-tests/rehearse.ts): rehearsal over' });
      if (a.status !== 200) throw new Error(`abort answered ${a.status}`);
      return `aborted the ${s.status} rollout (step ${s.stepIndex + 1}, ${s.percent} %)`;
    });
    await attempt('override', async () => {
      if (this.override || !(await this.hasOverride())) return undefined;
      const d = await adminCall(this.admin, 'DELETE', `/routes/${this.ctx}/override`);
      if (d.status !== 200) throw new Error(`DELETE override answered ${d.status}`);
      return 'cleared the kill override set during the run';
    });
    await attempt('flag', async () => {
      const now = await this.routes();
      const was = this.route;
      if (routeKey(now) === routeKey(was)) return undefined;
      const res =
        !was || !was.defined || !was.enabled
          ? await adminCall(this.admin, 'POST', `/routes/${this.ctx}/kill`, { reason })
          : was.rollout !== null
            ? await adminCall(this.admin, 'PUT', `/routes/${this.ctx}`, { percent: was.rollout, ...(was.stickiness ? { stickiness: was.stickiness } : {}), reason })
            : undefined;
      if (!res) throw new Error('it was decided by custom strategies only, which the admin API cannot set: put it back by hand');
      if (res.status >= 300) throw new Error(`admin API answered ${res.status}: ${JSON.stringify(res.json).slice(0, 300)}`);
      return `flag ${describeRoute(now)} → ${describeRoute(was)}`;
    });
    if (this.faultSet && this.faultBefore) {
      const before = this.faultBefore;
      await attempt('fault', async () => {
        await this.putFaults(before);
        return 'simulator fault removed (configuration as found)';
      });
    }
    // verify: read everything again
    let after: RestoreReport['after'] = { route: '?', override: false, fault: null };
    try {
      const route = await this.routes();
      const override = await this.hasOverride();
      const fault = this.faultSet ? await this.faults() : null;
      after = { route: describeRoute(route), override, fault };
      if (!this.route?.defined && route && !route.enabled) {
        // a context without a flag cannot get "no flag" back through the admin API: off routes the same
      } else if (routeKey(route) !== routeKey(this.route)) problems.push(`flag is ${describeRoute(route)}, was ${describeRoute(this.route)}`);
      if (override !== this.override) problems.push(`override ${override ? 'still set' : 'gone'}`);
      if (this.faultSet && JSON.stringify(fault) !== JSON.stringify(this.faultBefore)) problems.push(`simulator faults are ${JSON.stringify(fault)}, were ${JSON.stringify(this.faultBefore)}`);
    } catch (err) {
      problems.push(`verification: ${(err as Error).message}`);
    }
    const report: RestoreReport = {
      actions,
      verified: problems.length === 0,
      problems,
      found: { route: describeRoute(this.route), override: this.override, fault: this.faultSet ? this.faultBefore : null },
      after,
    };
    this.log(`restore: ${actions.length ? actions.join('; ') : 'nothing to put back'} → ${report.verified ? `verified (${this.ctx} ${after.route}, no override${this.faultSet ? ', faults as found' : ''})` : `NOT VERIFIED: ${problems.join('; ')}`}`);
    return report;
  }
}

/** Seconds a step needs before every guardrail has its samples, at `rate` req/s (all touching the context). */
function secondsForSamples(pct: number, rate: number, minSamples: number): number {
  // errorRateDelta and p99Ratio need both arms (the 100 % step takes legacy from the step before)
  const limiting = pct >= 100 ? 100 : Math.min(pct, 100 - pct);
  return minSamples / ((rate * limiting) / 100);
}

export async function runRehearse(opts: CliOptions, log: (m: string) => void): Promise<{ report: RehearseReport; files: { json: string; html: string } }> {
  const ctxName = opts.context;
  if (!ctxName || !(CONTEXTS as readonly string[]).includes(ctxName)) throw new Error(`--context must be one of ${CONTEXTS.join(', ')} (got ${ctxName ?? 'none'})`);
  const ctx = ctxName as ContextName;
  const rate = opts.rate ?? 100;
  const notes: string[] = [];
  log(`\n━━ rehearse: a rollout of ${ctx} (${opts.plan.join(', ')} %, hold ${opts.holdS} s) under ${rate} req/s of OCC product reads`);
  const stack = await startStack({
    gateway: true,
    rollouts: {},
    logLevel: opts.logLevel,
    nodeArgs: opts.gatewayNodeArgs,
    actor: ACTOR,
    gatewayUrl: opts.gateway,
    adminToken: opts.adminToken,
    gatewayEnv: { [shadowPercentEnv(ctx)]: String(opts.shadow), ...(opts.minSamples ? { ROLLOUT_MIN_SAMPLES: String(opts.minSamples) } : {}), ...opts.gatewayEnv },
    log,
  });
  if (stack.external && (opts.minSamples || opts.shadow !== 100 || Object.keys(opts.gatewayEnv).length)) notes.push('--shadow, --min-samples and --env apply to the embedded world only: the gateway given keeps its own settings');
  const target = stack.gatewayUrl!;
  let restore: Restore | undefined;
  let unregister = () => {};
  const wallMarks: { at: number; label: string; detail: string }[] = [];
  const polls: Poll[] = [];
  let run: RunResult | undefined;
  let restoreReport: RestoreReport | undefined;
  let budgetS = opts.durationS ?? LEAD_S + opts.plan.length * opts.holdS * 3 + 30;
  let shadowPercent: number | null = null;
  let minSamples: number | null = null;
  try {
    if (!stack.adminToken) throw new Error('rehearse needs the gateway\'s admin token (--admin-token or ADMIN_TOKEN)');
    const admin: Admin = { url: target, token: stack.adminToken, actor: ACTOR };
    restore = new Restore(admin, ctx, stack.serviceUrls[ctx], log);
    const r = restore;
    unregister = onInterrupt(async () => void (await r.restore()));
    log(`  found: ${ctx} ${await restore.capture()}`);
    const existing = await adminCall(admin, 'GET', `/rollouts/${ctx}`);
    if (existing.status === 200 && ['running', 'paused'].includes((existing.json as RolloutState).status)) {
      throw new Error(`a rollout of ${ctx} is already ${(existing.json as RolloutState).status}: not touching it`);
    }
    const parityOf = async (): Promise<ParityDetailResponse | undefined> => {
      const p = await adminCall(admin, 'GET', `/parity/${ctx}`);
      return p.status === 200 ? (p.json as ParityDetailResponse) : undefined;
    };
    const p0 = await parityOf();
    shadowPercent = p0?.shadowPercent ?? null;
    if (!p0) notes.push(`GET /admin/parity/${ctx} is not served: no shadow comparison, the parity guardrail does not gate`);
    else if (p0.shadowPercent === 0) notes.push(`${ctx} is not shadowed (shadowPercent 0): the parity guardrail does not gate`);
    if (opts.fault) {
      await restore.setFault(opts.fault);
      wallMarks.push({ at: Date.now(), label: 'fault set', detail: `PUT ${stack.serviceUrls[ctx]}/__faults ${JSON.stringify(opts.fault)}` });
      log(`  fault on the ${ctx} service: ${JSON.stringify(opts.fault)}`);
    }

    const request = (i: number) => ({ path: `/occ/v2/${SITE}/products/${productCode(i)}`, headers: { 'x-user-id': `rehearse-shopper-${(i * 7) % SHOPPERS}` } });
    if (opts.warmupS > 0) {
      log(`warming up ${opts.warmupS}s (not recorded)…`);
      await warmup({ url: target, connections: Math.min(opts.connections, 10), request }, opts.warmupS);
    }

    const stop = new AbortController();
    log(`loading ${target} at ${rate} req/s (open loop, ${opts.connections} connections); the rollout starts after ${LEAD_S} s`);
    let loadDone = false;
    const loading = runLoad({ url: target, connections: opts.connections, durationS: MAX_BUDGET_S + 60, request, rate, watch: stack.watch, armOf: armOf(ctx), stop: stop.signal }).finally(() => (loadDone = true));
    const t0 = performance.now();
    let endedAt: number | undefined;
    let estimated = false;
    let abortedByBudget = false;
    try {
      for (let k = 1; !loadDone; k++) {
        await sleep(Math.max(0, t0 + k * 1000 - performance.now()));
        if (k === LEAD_S) {
          const res = await adminCall(admin, 'POST', `/rollouts/${ctx}`, {
            steps: opts.plan,
            hold: Math.round(opts.holdS * 1000),
            reason: 'load-test rehearsal (npm run load -- rehearse)',
            ...(opts.guardrails ? { guardrails: opts.guardrails } : {}),
          });
          if (res.status !== 201) throw new Error(`POST /admin/rollouts/${ctx} answered ${res.status}: ${JSON.stringify(res.json).slice(0, 400)}`);
          log(`  @${k}s rollout started: ${opts.plan.join(' → ')} %`);
        }
        if (k < LEAD_S) continue;
        const [s, p] = await Promise.all([adminCall(admin, 'GET', `/rollouts/${ctx}`), parityOf()]);
        const state = s.status === 200 ? (s.json as RolloutState) : undefined;
        polls.push({ at: Date.now(), state, parity: p?.counts });
        if (state && !estimated && state.guardrails.length) {
          estimated = true;
          minSamples = Math.max(...state.guardrails.filter((g) => g.name !== 'parityMismatchRate').map((g) => g.minSamples));
          let total = LEAD_S + TAIL_S;
          for (const pct of opts.plan) {
            const need = secondsForSamples(pct, rate, minSamples);
            total += Math.max(opts.holdS, need) + 1;
            if (need > opts.holdS) {
              notes.push(`step ${pct} %: at ${rate} req/s the guardrails' ${minSamples} samples per arm take ≈ ${Math.ceil(need)} s, longer than the hold (${opts.holdS} s)`);
              log(`  • ${notes.at(-1)!}`);
            }
          }
          if (opts.durationS === undefined) budgetS = Math.min(MAX_BUDGET_S, Math.ceil(total * 1.5 + 10));
          else if (total > opts.durationS) notes.push(`the plan needs ≈ ${Math.ceil(total)} s at ${rate} req/s; --duration ${opts.durationS} may end it early`);
          log(`  guardrails need ${minSamples} samples per arm; the plan needs ≈ ${Math.ceil(total)} s; the rehearsal stops at ${budgetS} s`);
        }
        if (state && TERMINAL.has(state.status) && endedAt === undefined) {
          endedAt = performance.now();
          log(`  @${k}s rollout ${state.status}${state.reason ? `: ${state.reason}` : ''}`);
        }
        if (endedAt !== undefined && performance.now() - endedAt >= TAIL_S * 1000) break;
        if (endedAt === undefined && k >= budgetS && !abortedByBudget) {
          abortedByBudget = true;
          const a = await adminCall(admin, 'POST', `/rollouts/${ctx}/abort`, { reason: `load-test rehearsal: its ${budgetS} s are over` });
          wallMarks.push({ at: Date.now(), label: 'budget over', detail: `POST /admin/rollouts/${ctx}/abort → ${a.status}` });
          log(`  @${k}s the rehearsal's ${budgetS} s are over: rollout aborted (${a.status})`);
        }
        if (k > budgetS + TAIL_S + 5) break;
      }
    } finally {
      stop.abort();
      run = await loading;
    }
  } finally {
    try {
      if (restore) {
        restoreReport = await restore.restore();
        if (opts.fault) wallMarks.push({ at: Date.now(), label: 'fault removed', detail: 'PUT /__faults (as found)' });
      }
    } finally {
      unregister();
      await stack.close();
    }
  }

  // ---- analysis
  if (!run) throw new Error('the load never ran');
  const wall0 = run.wallStartMs;
  const tOf = (atMs: number) => round((atMs - wall0) / 1000, 2);
  const lastPoll = [...polls].reverse().find((p) => p.state);
  const final = lastPoll?.state;
  const markers: Marker[] = [];
  for (const h of final?.history ?? []) {
    const label = h.type === 'started' ? `rollout ${h.percent} %` : h.type === 'step' ? `step ${h.percent} %` : h.type === 'rolled_back' ? 'ROLLBACK → 0 %' : `${h.type}`;
    markers.push({ t: tOf(Date.parse(h.at)), label, detail: `${h.actor}${h.reason ? `: ${h.reason}` : ''}` });
  }
  // a fault set before the load started is drawn at 0 s (its detail says so)
  for (const m of wallMarks) markers.push({ t: Math.max(0, tOf(m.at)), label: m.label, detail: `${m.detail}${m.at < wall0 ? ' (before the load started)' : ''}` });
  markers.sort((a, b) => a.t - b.t);

  // exactly the responses that completed within the step (the controller counts a request in the step it finishes in)
  const armWindow = (from: number, to: number): Partial<Record<Arm, ArmWindow>> => {
    const out: Partial<Record<Arm, ArmWindow>> = {};
    const inside = run!.armResponses.filter((x) => x.t >= from && x.t < to);
    for (const arm of ARMS) {
      const mine = inside.filter((x) => x.arm === arm);
      if (!mine.length) continue;
      const st = latencyStats(mine.map((x) => x.ms));
      const non2xx = mine.filter((x) => x.status < 200 || x.status > 299).length;
      out[arm] = { requests: mine.length, rps: round(mine.length / Math.max(0.001, to - from), 1), p50: st.p50, p99: st.p99, non2xx };
    }
    return out;
  };

  const history = final?.history ?? [];
  const stepEntries = history.filter((h) => h.type === 'started' || h.type === 'step');
  const steps: StepRow[] = stepEntries.map((h, i) => {
    const from = tOf(Date.parse(h.at));
    const next = history[history.indexOf(h) + 1];
    const to = next ? tOf(Date.parse(next.at)) : run!.durationS;
    // the guardrails as last read during this step
    const inStep = polls.filter((p) => p.state && p.state.stepIndex === i && tOf(p.at) >= from && tOf(p.at) <= to + 1.5);
    const guardrails = (next && (next.type === 'rolled_back' || next.type === 'completed') ? final?.guardrails : undefined) ?? inStep.at(-1)?.state?.guardrails ?? [];
    const short = guardrails.filter((g) => g.ok === null && g.value !== null).map((g) => `${g.name} ${g.samples}/${g.minSamples}`);
    return { index: i + 1, percent: h.percent, from, to, ended: next?.type ?? final?.status ?? 'running', arms: armWindow(from, to), guardrails, shortOfSamples: short.length ? short.join(', ') : null };
  });
  for (const s of steps) {
    if (s.shortOfSamples && s.ended === 'rolled_back') notes.push(`step ${s.index} (${s.percent} %) was rolled back before these guardrails had their samples: ${s.shortOfSamples}`);
    else if (s.shortOfSamples && s.ended !== 'step' && s.ended !== 'completed') notes.push(`step ${s.index} (${s.percent} %) ended (${s.ended}) without enough samples: ${s.shortOfSamples}`);
    else if (s.to - s.from > opts.holdS + 3 && s.ended === 'step') notes.push(`step ${s.index} (${s.percent} %) held ${round(s.to - s.from, 1)} s (hold ${opts.holdS} s): it waited for its guardrails' samples`);
  }

  // what the last read before the end of second t said (null before the first read)
  const parityAt = (t: number): ParityCounts | undefined => [...polls].reverse().find((p) => p.parity && tOf(p.at) < t + 1)?.parity;
  const seconds: RehearseSecond[] = run.seconds.map((s) => {
    const poll = [...polls].reverse().find((p) => p.state && tOf(p.at) < s.t + 1);
    const now = parityAt(s.t);
    const before = parityAt(s.t - 1);
    return {
      t: s.t,
      percent: poll?.state?.percent ?? null,
      status: poll?.state?.status ?? null,
      arms: Object.fromEntries(Object.entries(s.arms ?? {}).map(([arm, a]) => [arm, { requests: a.requests, non2xx: a.non2xx, p99: a.latency.p99 }])),
      errors: s.errors,
      parity: now && before ? diff(now, before) : null,
    };
  });

  const pStart = polls.find((p) => p.parity)?.parity ?? null;
  const pEnd = [...polls].reverse().find((p) => p.parity)?.parity ?? null;
  const breached = final?.guardrails.find((g) => g.ok === false);
  const lastStep = steps.at(-1);
  const verdict: RehearseReport['verdict'] =
    final?.status === 'completed'
      ? { outcome: 'completed', text: `reached ${final.percent} % (completed) at ${lastStep ? fmt(markers.find((m) => m.label === 'completed')?.t ?? lastStep.to, 1) : '?'} s`, guardrail: null, step: final.stepIndex + 1, percent: final.percent }
      : final?.status === 'rolled_back'
        ? {
            outcome: 'rolled_back',
            // the controller's own words: "rolled back at 1 %: parityMismatchRate 2.65 % over the threshold 0.50 % (113 samples)"
            text: `rolled back at step ${final.stepIndex + 1} (${final.steps[final.stepIndex]} %) because ${(final.reason ?? breached?.name ?? 'a guardrail').replace(/^rolled back at \d+ %: /, '')}`,
            guardrail: breached?.name ?? /: (\w+) /.exec(final.reason ?? '')?.[1] ?? null,
            step: final.stepIndex + 1,
            percent: final.steps[final.stepIndex] ?? 0,
          }
        : {
            outcome: 'not_finished',
            text: `not finished in ${budgetS} s: ${final ? `${final.status} at step ${final.stepIndex + 1} (${final.steps[final.stepIndex]} %)${lastStep?.shortOfSamples ? `, short of samples: ${lastStep.shortOfSamples}` : ''}` : 'the rollout never reported a state'}`,
            guardrail: null,
            step: final ? final.stepIndex + 1 : null,
            percent: final?.steps[final.stepIndex] ?? 0,
          };
  const gwCpu = run.seconds.map((s) => s.procs.gateway?.cpuPct).filter((v): v is number => v !== undefined);
  const report: RehearseReport = {
    kind: 'rehearse',
    command: `npm run load -- ${process.argv.slice(2).join(' ')}`.trim(),
    machine: machine(),
    target,
    external: stack.external,
    context: ctx,
    options: { plan: opts.plan, holdS: opts.holdS, rate, connections: opts.connections, budgetS, shadowPercent, fault: opts.fault ?? null, minSamples, guardrails: opts.guardrails ?? null, gatewayEnv: stack.external ? {} : opts.gatewayEnv },
    verdict,
    steps,
    seconds,
    markers,
    parity: { start: pStart, end: pEnd, counted: pStart && pEnd ? diff(pEnd, pStart) : null },
    rollout: final,
    result: { startedAt: run.startedAt, durationS: run.durationS, requests: run.requests, rps: run.rps, latency: run.latency, non2xx: run.non2xx, errors: run.errors, statuses: run.statuses },
    gateway: { cpuMsPerRequest: gwCpu.length && run.rps > 0 ? round((gwCpu.reduce((a, b) => a + b, 0) / gwCpu.length) * 10 / run.rps, 3) : null },
    restore: restoreReport ?? { actions: [], verified: false, problems: ['never ran'], found: { route: '?', override: false, fault: null }, after: { route: '?', override: false, fault: null } },
    notes,
  };

  // ---- print
  log('');
  log(stepsTable(steps));
  for (const m of markers) log(`  @${m.t.toFixed(1)}s ${m.label}: ${m.detail}`);
  const c = report.parity.counted;
  if (c) log(`  parity (${ctx}, during the run): match ${c.match}, mismatch ${c.mismatch}, noise ${c.noise}, error ${c.error}, shed ${c.shed}`);
  log(`  all: ${run.requests} responses, ${fmt(run.rps, 0)} req/s, p99 ${fmt(run.latency.p99)} ms, non-2xx ${run.non2xx}, errors ${run.errors}${report.gateway.cpuMsPerRequest !== null ? `, gateway ${report.gateway.cpuMsPerRequest} CPU ms/request` : ''}`);
  for (const n of notes) log(`  • ${n}`);
  log(`verdict: ${verdict.text}`);
  log(`restore: ${report.restore.verified ? 'verified' : `NOT VERIFIED (${report.restore.problems.join('; ')})`}`);
  const files = writeReport(`rehearse-${ctx}`, report, rehearseHtml(report), opts.reportDir ?? REPORTS_DIR);
  log(`\nreport: ${files.json}\n        ${files.html}`);
  return { report, files };
}

function stepsTable(steps: readonly StepRow[]): string {
  const cell = (a: ArmWindow | undefined) => (a ? `${fmt(a.rps, 0)} / ${fmt(a.p99, 1)} / ${a.non2xx}` : '–');
  return table(
    ['step', '%', 'seconds', 'ended', 'legacy req/s / p99 / non-2xx', 'new req/s / p99 / non-2xx', 'fallback', 'guardrails (last read in the step)'],
    steps.map((s) => [
      s.index,
      s.percent,
      `${fmt(s.from, 1)}-${fmt(s.to, 1)}`,
      s.ended,
      cell(s.arms.legacy),
      cell(s.arms.new),
      s.arms.fallback?.requests ?? 0,
      s.guardrails.map((g) => `${g.name} ${g.ok === null ? '…' : g.ok ? 'ok' : 'BREACH'}`).join(', ') || '–',
    ]),
  );
}

function rehearseHtml(r: RehearseReport): string {
  const secs = r.seconds;
  const n = secs.length;
  const m = r.markers;
  const present = ARMS.filter((a) => secs.some((s) => s.arms[a]));
  const charts = [
    chart(
      [...present.map((a) => ({ name: a, color: ARM_COLORS[a], values: secs.map((s) => s.arms[a]?.requests ?? 0) })), { name: 'connection errors', color: '#dc2626', values: secs.map((s) => s.errors) }],
      { title: `Responses per second by the arm that served ${r.context}`, unit: 'req/s', seconds: n, markers: m, stacked: true },
    ),
    chart(
      present.map((a) => ({ name: `${a} p99`, color: ARM_COLORS[a], values: secs.map((s) => s.arms[a]?.p99 ?? null) })),
      { title: 'p99 latency per second, per arm', unit: 'ms', seconds: n, markers: m },
    ),
    chart(
      present.map((a) => ({ name: `${a} non-2xx`, color: ARM_COLORS[a], values: secs.map((s) => s.arms[a]?.non2xx ?? 0) })),
      { title: 'Non-2xx responses per second, per arm', unit: 'responses', seconds: n, markers: m, stacked: true },
    ),
    chart(
      [
        { name: 'flag % (rollout state)', color: COLORS[0]!, values: secs.map((s) => s.percent) },
        { name: 'new arm % of responses', color: COLORS[2]!, values: secs.map((s) => { const tot = ARMS.reduce((k, a) => k + (s.arms[a]?.requests ?? 0), 0); return tot ? round(((s.arms.new?.requests ?? 0) / tot) * 100, 1) : null; }), dashed: true },
      ],
      { title: 'Rollout: the flag\'s percentage and the share the new arm served', unit: '%', seconds: n, markers: m, yMax: 100 },
    ),
    chart(
      (['match', 'mismatch', 'noise', 'error', 'shed'] as const).map((k, i) => ({ name: k, color: ['#16a34a', '#dc2626', '#ca8a04', '#9333ea', '#9ca3af'][i]!, values: secs.map((s) => s.parity?.[k] ?? null) })),
      { title: `Parity verdicts per second (GET /admin/parity/${r.context})`, unit: 'verdicts', seconds: n, markers: m, stacked: true },
    ),
  ];
  const armCell = (a: ArmWindow | undefined) => (a ? `${a.requests} · ${fmt(a.rps, 0)}/s · p99 ${fmt(a.p99, 1)} · ${a.non2xx} non-2xx` : '–');
  const c = r.parity.counted ?? ZERO;
  const outcomeCls = r.verdict.outcome === 'completed' ? 'pass' : r.verdict.outcome === 'rolled_back' ? 'miss' : 'na';
  return `<!doctype html><html><head><meta charset="utf-8"><title>rehearse ${esc(r.context)} · load test</title><style>${STYLE}</style></head><body>
<h1>Rollout rehearsal: ${esc(r.context)} ${esc(r.options.plan.join(' → '))} %</h1>
<p class="sub">${esc(r.result.startedAt)} · target <code>${esc(r.target)}</code>${r.external ? ' (external)' : ' (embedded world)'} · ${r.options.rate} req/s open loop, ${r.options.connections} connections · hold ${r.options.holdS} s · budget ${r.options.budgetS} s · shadow ${r.options.shadowPercent ?? '–'} % · fault ${esc(r.options.fault ? JSON.stringify(r.options.fault) : 'none')}${Object.keys(r.options.gatewayEnv).length ? ` · gateway env ${esc(Object.entries(r.options.gatewayEnv).map(([k, v]) => `${k}=${v}`).join(' '))}` : ''}<br>
${esc(r.machine.cpus + ' × ' + r.machine.cpuModel)} · Node ${esc(r.machine.node)} · <code>${esc(r.command)}</code></p>
<h2>Verdict</h2><p class="${outcomeCls}">${esc(r.verdict.text)}</p>
<p>Restore: <span class="${r.restore.verified ? 'pass' : 'miss'}">${r.restore.verified ? 'verified' : 'NOT VERIFIED'}</span> · found ${esc(r.restore.found.route)}${r.restore.found.override ? ', override' : ''} · after ${esc(r.restore.after.route)}${r.restore.after.override ? ', override' : ''} · ${esc(r.restore.actions.join('; ') || 'nothing to put back')}${r.restore.problems.length ? ` · ${esc(r.restore.problems.join('; '))}` : ''}</p>
<h2>Steps</h2>
${htmlTable(['step', '%', 'seconds', 'ended', 'legacy', 'new', 'fallback', 'guardrails (last read in the step)'], r.steps.map((s) => [s.index, s.percent, `${fmt(s.from, 1)}–${fmt(s.to, 1)}`, s.ended, armCell(s.arms.legacy), armCell(s.arms.new), armCell(s.arms.fallback), s.guardrails.map((g) => `${g.name} ${g.value ?? '–'} / ${g.threshold} (${g.samples}/${g.minSamples}) ${g.ok === null ? '…' : g.ok ? 'ok' : 'BREACH'}`).join(' · ')]))}
<h2>Parity (${esc(r.context)}, counted during the run)</h2>
${htmlTable(['match', 'mismatch', 'noise', 'error', 'shed'], [[c.match, c.mismatch, c.noise, c.error, c.shed]])}
${m.length ? `<h2>Events</h2>${htmlTable(['t', 'event', 'detail'], m.map((x) => [`${x.t.toFixed(2)}s`, x.label, x.detail]))}` : ''}
<h2>Timeline</h2>
${charts.join('\n')}
<h2>Per second</h2>
${htmlTable(['t', 'flag %', 'status', ...present.map((a) => `${a} req / p99 / non-2xx`), 'errors', 'parity m/mm/noise/err/shed'], secs.map((s) => [s.t, s.percent ?? '–', s.status ?? '–', ...present.map((a) => { const x = s.arms[a]; return x ? `${x.requests} / ${fmt(x.p99, 1)} / ${x.non2xx}` : '–'; }), s.errors, s.parity ? `${s.parity.match}/${s.parity.mismatch}/${s.parity.noise}/${s.parity.error}/${s.parity.shed}` : '–']))}
${r.notes.length ? `<h2>Notes</h2><ul class="notes">${r.notes.map((x) => `<li>${esc(x)}</li>`).join('')}</ul>` : ''}
</body></html>`;
}
