/**
 * `--guardrail NAME=THRESHOLD[:MIN_SAMPLES]` and `--p99-floor MS` of `strangler rollout start`
 * (and of the load rehearsal): a rollout's own guardrail limits, sent as the start request's
 * `guardrails` (docs/rollouts.md). The gateway validates the values; this checks the grammar.
 */
import { GUARDRAILS, type GuardrailName } from '../rollout/names.js';
import type { GuardrailOverrides } from '../rollout/schemas.js';

const NUMBER = /^[0-9]+(\.[0-9]+)?$/;
const INTEGER = /^[0-9]+$/;

/** Throws an Error whose message says which flag is wrong and why. */
export function guardrailOverrides(flags: readonly string[], p99Floor: string | undefined): GuardrailOverrides | undefined {
  const out: GuardrailOverrides = {};
  for (const flag of flags) {
    const m = /^([A-Za-z0-9]+)=([^:]*)(?::(.*))?$/.exec(flag);
    if (!m) throw new Error(`--guardrail must be NAME=THRESHOLD[:MIN_SAMPLES], e.g. p99Ratio=2:1000 or p99Ratio=:1000 (got "${flag}")`);
    const [, name, threshold, minSamples] = m as unknown as [string, string, string, string | undefined];
    if (!(GUARDRAILS as readonly string[]).includes(name)) throw new Error(`--guardrail: no guardrail "${name}" (one of ${GUARDRAILS.join(', ')})`);
    if (threshold === '' && (minSamples === undefined || minSamples === '')) throw new Error(`--guardrail ${name}: give a threshold, a minimum of samples (:N) or both`);
    if (threshold !== '' && !NUMBER.test(threshold)) throw new Error(`--guardrail ${name}: the threshold must be a decimal, e.g. 0.02 (got "${threshold}")`);
    if (minSamples !== undefined && minSamples !== '' && !INTEGER.test(minSamples)) throw new Error(`--guardrail ${name}: the minimum of samples must be an integer (got "${minSamples}")`);
    const key = name as GuardrailName;
    if (out[key]) throw new Error(`--guardrail ${name} is given twice`);
    out[key] = {
      ...(threshold === '' ? {} : { threshold: Number(threshold) }),
      ...(minSamples === undefined || minSamples === '' ? {} : { minSamples: Number(minSamples) }),
    };
  }
  if (p99Floor !== undefined) {
    const m = /^([0-9]+)(ms)?$/.exec(p99Floor);
    if (!m) throw new Error(`--p99-floor must be milliseconds, e.g. 75 or 75ms (got "${p99Floor}")`);
    out.p99FloorMs = Number(m[1]);
  }
  return Object.keys(out).length === 0 ? undefined : out;
}
