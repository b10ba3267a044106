/**
 * The rollout and override contract of the admin API (docs/rollouts.md): TypeBox schemas, the
 * single source of the server's, the CLI's and the console's types.
 */
import { Type, type Static } from '@sinclair/typebox';
import { ContextSchema } from '../admin/schemas.js';
import { GUARDRAILS } from './names.js';

const Reason = Type.String({ minLength: 1, maxLength: 500, description: 'why, recorded in the audit trail and the rollout history' });

export const RolloutStatusSchema = Type.Union([Type.Literal('running'), Type.Literal('paused'), Type.Literal('completed'), Type.Literal('rolled_back'), Type.Literal('aborted')]);
export type RolloutStatus = Static<typeof RolloutStatusSchema>;

export const GuardrailNameSchema = Type.Union(GUARDRAILS.map((n) => Type.Literal(n)));

const Threshold = (description: string, max: number) => Type.Number({ minimum: 0, maximum: max, description });
const MinSamples = Type.Integer({ minimum: 1, maximum: 10_000_000, description: 'samples the guardrail needs in a step before it may pass or breach' });
const limit = (threshold: ReturnType<typeof Threshold>) => Type.Object({ threshold, minSamples: MinSamples }, { additionalProperties: false });
const LIMITS = {
  errorRateDelta: limit(Threshold("the new arm's 5xx rate minus legacy's, as a fraction (0.01: one point)", 1)),
  p99Ratio: limit(Threshold("the new arm's p99 over legacy's", 1000)),
  fallbackRate: limit(Threshold("share of the new arm's requests answered by legacy because it failed", 1)),
  parityMismatchRate: limit(Threshold('mismatches over shadow comparisons in the step', 1)),
  p99FloorMs: Type.Integer({ minimum: 0, maximum: 600_000, description: 'latencies below this count as this in the p99 ratio' }),
};

/** What one rollout's guardrails judge by: the gateway's ROLLOUT_* settings with the start request's `guardrails` over them. */
export const GuardrailLimitsSchema = Type.Object(LIMITS, { additionalProperties: false });
export type GuardrailLimits = Static<typeof GuardrailLimitsSchema>;

/** The start request's `guardrails`: any threshold, minimum or floor to judge this rollout by instead of the gateway's setting. */
export const GuardrailOverridesSchema = Type.Object(
  {
    errorRateDelta: Type.Optional(Type.Partial(LIMITS.errorRateDelta, { additionalProperties: false })),
    p99Ratio: Type.Optional(Type.Partial(LIMITS.p99Ratio, { additionalProperties: false })),
    fallbackRate: Type.Optional(Type.Partial(LIMITS.fallbackRate, { additionalProperties: false })),
    parityMismatchRate: Type.Optional(Type.Partial(LIMITS.parityMismatchRate, { additionalProperties: false })),
    p99FloorMs: Type.Optional(LIMITS.p99FloorMs),
  },
  { additionalProperties: false, description: "this rollout's own guardrail thresholds, minimum samples and p99 floor; what is left out is the gateway's (ROLLOUT_*)" },
);
export type GuardrailOverrides = Static<typeof GuardrailOverridesSchema>;

export const GuardrailStateSchema = Type.Object({
  name: GuardrailNameSchema,
  threshold: Type.Number(),
  value: Type.Union([Type.Number(), Type.Null()], { description: 'null: no figure yet (no samples, or parity not wired)' }),
  samples: Type.Integer({ minimum: 0 }),
  minSamples: Type.Integer({ minimum: 0 }),
  ok: Type.Union([Type.Boolean(), Type.Null()], { description: 'null: not enough samples yet' }),
});

export const HistoryTypeSchema = Type.Union(
  [
    Type.Literal('started'),
    Type.Literal('step'),
    Type.Literal('paused'),
    Type.Literal('resumed'),
    Type.Literal('aborted'),
    Type.Literal('rolled_back'),
    Type.Literal('completed'),
    Type.Literal('limits_changed'),
  ],
);
export type HistoryType = Static<typeof HistoryTypeSchema>;

export const RolloutStateSchema = Type.Object({
  context: ContextSchema,
  status: RolloutStatusSchema,
  steps: Type.Array(Type.Integer({ minimum: 1, maximum: 100 })),
  stepIndex: Type.Integer({ minimum: 0 }),
  percent: Type.Integer({ minimum: 0, maximum: 100 }),
  holdMs: Type.Integer({ minimum: 0 }),
  startedAt: Type.String(),
  stepStartedAt: Type.String(),
  actor: Type.String(),
  reason: Type.Union([Type.String(), Type.Null()], { description: 'the latest reason: the operator\'s, or the breached guardrail and by how much' }),
  limits: GuardrailLimitsSchema,
  guardrails: Type.Array(GuardrailStateSchema, { description: "the current step's judgement (before the first: each guardrail waiting, with no samples)" }),
  history: Type.Array(
    Type.Object({ at: Type.String(), type: HistoryTypeSchema, percent: Type.Integer({ minimum: 0, maximum: 100 }), actor: Type.String(), reason: Type.Union([Type.String(), Type.Null()]) }),
  ),
});
export type RolloutState = Static<typeof RolloutStateSchema>;

export const RolloutsResponseSchema = Type.Object({ rollouts: Type.Array(RolloutStateSchema) });
export type RolloutsResponse = Static<typeof RolloutsResponseSchema>;

/** "5m", "30s", "200ms", or a number of milliseconds */
export const HOLD_PATTERN = '^[0-9]+(ms|s|m|h)$';
export const RolloutStartBodySchema = Type.Object(
  {
    steps: Type.Array(Type.Integer({ minimum: 1, maximum: 100 }), { minItems: 1, maxItems: 20, description: 'percentages, strictly increasing, e.g. [1, 5, 25, 50, 100]' }),
    hold: Type.Union([Type.String({ pattern: HOLD_PATTERN }), Type.Integer({ minimum: 0 })], { description: 'least time per step: "5m", "30s", "200ms", or milliseconds' }),
    reason: Type.Optional(Reason),
    guardrails: Type.Optional(GuardrailOverridesSchema),
  },
  { additionalProperties: false },
);
export type RolloutStartBody = Static<typeof RolloutStartBodySchema>;

export const RolloutLimitsBodySchema = Type.Object(
  { guardrails: GuardrailOverridesSchema, reason: Type.Optional(Reason) },
  { additionalProperties: false, description: "new limits for a running or paused rollout, over its current ones; the step's figures so far are judged by them" },
);
export type RolloutLimitsBody = Static<typeof RolloutLimitsBodySchema>;

export const RolloutActionBodySchema = Type.Object({ reason: Type.Optional(Reason) }, { additionalProperties: false });
export type RolloutActionBody = Static<typeof RolloutActionBodySchema>;

export const RolloutActionParamsSchema = Type.Object({
  context: Type.String({ maxLength: 64 }),
  action: Type.Union([Type.Literal('pause'), Type.Literal('resume'), Type.Literal('abort')]),
});

export const OverrideSchema = Type.Object({
  context: ContextSchema,
  override: Type.Literal('legacy'),
  reason: Type.String(),
  actor: Type.String(),
  at: Type.String(),
});
export type Override = Static<typeof OverrideSchema>;
export const OverrideBodySchema = Type.Object({ reason: Reason }, { additionalProperties: false });
export const OverridesResponseSchema = Type.Object({ overrides: Type.Array(OverrideSchema) });
export const OverrideClearedSchema = Type.Object({ context: ContextSchema, override: Type.Null(), cleared: Type.Boolean({ description: 'false: there was none' }) });

/** Milliseconds of a hold: "5m" → 300000. */
export function holdMs(hold: string | number): number {
  if (typeof hold === 'number') return hold;
  const m = /^([0-9]+)(ms|s|m|h)$/.exec(hold);
  if (!m) throw new Error(`not a duration: ${hold}`);
  const n = Number(m[1]);
  return n * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
}
