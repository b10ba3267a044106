/**
 * One shadow comparison: the other arm asked, both answers diffed under the context's rules, and
 * the noise floor, the Diffy way (on a difference the legacy arm, the reference, is asked again; a
 * field that differs between two answers of the same arm is noise, remembered per pattern). The
 * reference is legacy, not the served arm: asked twice, a faulty new arm would show its fault as
 * noise about as often as it shows it at all.
 *
 * Where it runs is the shadow runner's choice (./shadow.ts): on the gateway's loop, or in the
 * shadow process (./shadow-worker.ts). It returns an outcome and keeps no counts: those are the
 * gateway's (./shadow.ts), whichever process compared.
 */
import type { ContextName } from '../contexts/names.js';
import { GatewayError } from '../errors.js';
import type { ShadowPolicy } from './policy.js';
import { Scope, type ScopeLogger } from '../upstream/scope.js';
import { CompiledRules, diff, toCanonical, type Canonical, type Difference } from './compare.js';

export type Arm = 'legacy' | 'new';

/** What one comparison came to; `learned` lists the noise patterns it added (the gateway mirrors them). */
export type Outcome =
  | { readonly result: 'match' | 'noise'; readonly learned: readonly string[] }
  | { readonly result: 'mismatch'; readonly legacy: Canonical; readonly modern: Canonical; readonly differences: readonly Difference[]; readonly learned: readonly string[] }
  /** a shadow call failed (or its answer could not be mapped): not a verdict */
  | { readonly result: 'error'; readonly arm: Arm; readonly reason: string; readonly learned: readonly string[] }
  /** not compared: the shadow process was down, or reached the job past its deadline */
  | { readonly result: 'shed'; readonly reason: string; readonly learned: readonly string[] };

/**
 * The scope of one shadow call, wherever it runs: no memo shared with the request (two answers,
 * not one read twice), its own deadline, the request's routing and propagated headers, and
 * `x-strangler-shadow: 1` for the backend's logs. Read-only: a shadow is a read.
 */
export function shadowScope(decision: Scope['decision'], propagate: Readonly<Record<string, string>>, log: ScopeLogger, budgetMs: number): Scope {
  return new Scope(decision, { ...propagate, 'x-strangler-shadow': '1' }, log, Date.now() + budgetMs, true);
}

/** Calls the port method being compared on one raw arm (no fallback), with a scope of its own. */
export type CallArm = (arm: Arm) => Promise<unknown>;

/** Noise patterns kept per context: bounded, a model's fields are few. */
export const MAX_NOISE_PATTERNS = 200;

/** An error as an outcome carries it: the stable code and detail of a gateway error, never a stack or a body. */
export function failureReason(err: unknown): string {
  if (err instanceof GatewayError) return `${err.code}: ${err.detail}`.slice(0, 300);
  return (err instanceof Error ? err.message : String(err)).slice(0, 300);
}

export class Comparator {
  private readonly rules = new Map<ContextName, CompiledRules>();
  private readonly noise = new Map<ContextName, Set<string>>();

  constructor(contexts: readonly { name: ContextName; policy: ShadowPolicy | undefined }[]) {
    for (const c of contexts) {
      this.rules.set(c.name, new CompiledRules(c.policy));
      this.noise.set(c.name, new Set());
    }
  }

  /**
   * `served` answered `answer` (canonical: ./compare.ts toCanonical); the other arm is asked, and,
   * on a difference not known as noise, legacy again.
   */
  async compare(context: ContextName, method: string, served: Arm, answer: Canonical, call: CallArm): Promise<Outcome> {
    const rules = this.rules.get(context);
    const noise = this.noise.get(context);
    if (!rules || !noise) return { result: 'error', arm: served, reason: `context ${context} has no comparison rules here`, learned: [] };
    const other: Arm = served === 'legacy' ? 'new' : 'legacy';
    let shadow: Canonical;
    try {
      shadow = toCanonical(await call(other));
    } catch (err) {
      return { result: 'error', arm: other, reason: failureReason(err), learned: [] };
    }
    const legacy = served === 'legacy' ? answer : shadow;
    const modern = served === 'legacy' ? shadow : answer;
    const differences = diff(legacy, modern, rules, method);
    if (differences.length === 0) return { result: 'match', learned: [] };
    let real = differences.filter((d) => !noise.has(d.pattern));
    const learned: string[] = [];
    if (real.length > 0) {
      let again: Canonical;
      try {
        again = toCanonical(await call('legacy'));
      } catch (err) {
        return { result: 'error', arm: 'legacy', reason: failureReason(err), learned: [] };
      }
      for (const d of diff(legacy, again, rules, method)) {
        if (noise.has(d.pattern) || noise.size >= MAX_NOISE_PATTERNS) continue;
        noise.add(d.pattern);
        learned.push(d.pattern);
      }
      real = real.filter((d) => !noise.has(d.pattern));
    }
    if (real.length === 0) return { result: 'noise', learned };
    return { result: 'mismatch', legacy, modern, differences: real, learned };
  }
}

/** A comparison handed to a runner outside the gateway's loop: plain data only (it crosses a process boundary). */
export interface ShadowJob {
  readonly context: ContextName;
  /** the port method compared, and its arguments after the scope */
  readonly method: string;
  readonly args: readonly unknown[];
  readonly served: Arm;
  readonly answer: Canonical;
  /** the request's routing decision and propagated headers (x-request-id, traceparent) */
  readonly decision: Scope['decision'];
  readonly propagate: Readonly<Record<string, string>>;
  /** ms since epoch: a job not started by then is shed (its answer would be stale news) */
  readonly deadline: number;
}

/** Runs comparisons somewhere else than the gateway's event loop (./shadow-process.ts). */
export interface ShadowRunner {
  /** whether this runner can compare `context` (the shadow process knows the contexts of this repository) */
  handles(context: ContextName): boolean;
  /** the outcome, or undefined when the job cannot cross to the runner (an argument that is a function): compare inline */
  run(job: ShadowJob): Promise<Outcome> | undefined;
  /** the runner's process id (undefined while it restarts) and OS niceness */
  describe(): { pid: number | undefined; nice: number };
  close(): Promise<void>;
}
