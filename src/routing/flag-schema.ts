/**
 * Flag files use Unleash's client-features format (what `GET /api/client/features` returns and
 * what Unleash exports), so a file can be pasted into a real Unleash and back. The schema is
 * checked at boot and on every reload; it is deliberately close to unleash-client's own
 * FeatureInterface so nothing is lost in between.
 */
import { Type, type Static } from '@sinclair/typebox';

const Operator = Type.Union(
  [
    'IN', 'NOT_IN', 'STR_ENDS_WITH', 'STR_STARTS_WITH', 'STR_CONTAINS', 'NUM_EQ', 'NUM_GT', 'NUM_GTE', 'NUM_LT',
    'NUM_LTE', 'DATE_AFTER', 'DATE_BEFORE', 'SEMVER_EQ', 'SEMVER_GT', 'SEMVER_LT',
  ].map((o) => Type.Literal(o)),
);

export const ConstraintSchema = Type.Object({
  contextName: Type.String({ minLength: 1 }),
  operator: Operator,
  values: Type.Optional(Type.Array(Type.String())),
  value: Type.Optional(Type.String()),
  inverted: Type.Optional(Type.Boolean()),
  caseInsensitive: Type.Optional(Type.Boolean()),
});

export const StrategySchema = Type.Object({
  name: Type.String({ minLength: 1 }),
  parameters: Type.Optional(Type.Record(Type.String(), Type.Union([Type.String(), Type.Number()]))),
  constraints: Type.Optional(Type.Array(ConstraintSchema)),
  segments: Type.Optional(Type.Array(Type.Integer())),
});

export const FeatureSchema = Type.Object({
  name: Type.String({ minLength: 1 }),
  description: Type.Optional(Type.String()),
  type: Type.Optional(Type.String()),
  project: Type.Optional(Type.String()),
  enabled: Type.Boolean(),
  stale: Type.Optional(Type.Boolean()),
  impressionData: Type.Optional(Type.Boolean()),
  strategies: Type.Array(StrategySchema),
  variants: Type.Optional(Type.Array(Type.Unknown())),
  dependencies: Type.Optional(Type.Array(Type.Object({ feature: Type.String(), enabled: Type.Optional(Type.Boolean()), variants: Type.Optional(Type.Array(Type.String())) }))),
});

export const SegmentSchema = Type.Object({
  id: Type.Integer(),
  name: Type.Optional(Type.String()),
  constraints: Type.Array(ConstraintSchema),
});

export const FlagFileSchema = Type.Object({
  version: Type.Integer({ minimum: 1 }),
  features: Type.Array(FeatureSchema),
  segments: Type.Optional(Type.Array(SegmentSchema)),
});
export type FlagFile = Static<typeof FlagFileSchema>;
export type FeatureDef = Static<typeof FeatureSchema>;
export type SegmentDef = Static<typeof SegmentSchema>;
