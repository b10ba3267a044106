/**
 * Human-readable output of `strangler rollout` and `strangler override` (docs/rollouts.md).
 */
import type { Override, RolloutState } from '../rollout/schemas.js';
import { table } from './format.js';

const dur = (ms: number) => (ms % 3_600_000 === 0 && ms > 0 ? `${ms / 3_600_000}h` : ms % 60_000 === 0 && ms > 0 ? `${ms / 60_000}m` : ms % 1000 === 0 && ms > 0 ? `${ms / 1000}s` : `${ms}ms`);

function guardrailValue(g: RolloutState['guardrails'][number]): string {
  if (g.value === null) return g.name === 'parityMismatchRate' && g.samples === 0 ? 'not wired/no comparisons' : '-';
  return g.name === 'p99Ratio' ? `${g.value.toFixed(2)}x` : `${(g.value * 100).toFixed(2)} %`;
}

export function formatRollout(s: RolloutState): string {
  const plan = s.steps.map((p, i) => (i === s.stepIndex ? `[${p}]` : String(p))).join(' → ');
  const lines = [
    `${s.context}: ${s.status} at ${s.percent} % (step ${s.stepIndex + 1}/${s.steps.length}: ${plan}, hold ${dur(s.holdMs)})`,
    `started ${s.startedAt} by ${s.actor}; this step since ${s.stepStartedAt}`,
  ];
  if (s.reason) lines.push(`reason: ${s.reason}`);
  if (s.guardrails.length > 0) {
    lines.push(
      '',
      table(
        ['GUARDRAIL', 'VALUE', 'THRESHOLD', 'SAMPLES', 'VERDICT'],
        s.guardrails.map((g) => [
          g.name,
          guardrailValue(g),
          g.name === 'p99Ratio' ? `${g.threshold}x (floor ${s.limits.p99FloorMs} ms)` : `${(g.threshold * 100).toFixed(2)} %`,
          `${g.samples}/${g.minSamples}`,
          g.ok === null ? 'waiting' : g.ok ? 'ok' : 'BREACH',
        ]),
      ),
    );
  }
  lines.push('', table(['AT', 'EVENT', 'PERCENT', 'ACTOR', 'REASON'], s.history.map((h) => [h.at, h.type, `${h.percent} %`, h.actor, h.reason ?? '-'])));
  return lines.join('\n');
}

export function formatRollouts(list: readonly RolloutState[]): string {
  if (list.length === 0) return 'no rollouts';
  return table(
    ['CONTEXT', 'STATUS', 'PERCENT', 'STEP', 'REASON'],
    list.map((s) => [s.context, s.status, `${s.percent} %`, `${s.stepIndex + 1}/${s.steps.length}`, s.reason ?? '-']),
  );
}

export function formatOverrides(list: readonly Override[]): string {
  if (list.length === 0) return 'no kill overrides: every context follows its flag';
  return table(['CONTEXT', 'FORCED', 'SINCE', 'ACTOR', 'REASON'], list.map((o) => [o.context, o.override, o.at, o.actor, o.reason]));
}
