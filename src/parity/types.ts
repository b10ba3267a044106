/**
 * The seam between shadow comparison (src/parity/) and its readers (the rollout guardrails in
 * src/rollout/, the console, the admin API). Readers depend on this file only, so they work
 * with or without a shadow comparator wired (`Gateway.parity` absent: no parity guardrail).
 */
import type { ContextName } from '../contexts/names.js';

/** Cumulative comparison outcomes of one context since the process started (or, shared, since the counters were created). */
export interface ParityCounts {
  /** both arms answered the same canonical payload (after the context's ignore/tolerance rules) */
  readonly match: number;
  /** they differ in a field that is not noise */
  readonly mismatch: number;
  /** they differ only in fields the noise floor learned (the same arm asked twice disagrees) */
  readonly noise: number;
  /** the shadow call failed or could not be mapped: not a verdict */
  readonly error: number;
  /** sampled but not run (concurrency cap, per-second budget, load shedding) */
  readonly shed: number;
}

export interface ParityReader {
  /** this instance's counts of one context (zeros when it has never compared) */
  counts(context: ContextName): ParityCounts;
  /** counts summed over every instance when a shared store (Redis) is configured; else this instance's */
  sharedCounts(context: ContextName): Promise<ParityCounts>;
}

export const NO_PARITY: ParityCounts = Object.freeze({ match: 0, mismatch: 0, noise: 0, error: 0, shed: 0 });
