/**
 * Flag files use Unleash's client-features format (what `GET /api/client/features` returns and
 * what Unleash exports), so a file can be pasted into a real Unleash and back. The schema is
 * checked at boot and on every reload; it is deliberately close to unleash-client's own
 * FeatureInterface so nothing is lost in between.
 */
import { Type, type Static } from '@sinclair/typebox';

/**
 * Every operator unleash-client 6 evaluates (its `Operator` enum, lib/strategy/strategy.d.ts).
 * Any other operator is accepted, as Unleash accepts it: its constraint never matches (the
 * client specification's F7.invalid-operator); the file source warns about it at load.
 */
export const OPERATORS = [
  'IN', 'NOT_IN', 'STR_ENDS_WITH', 'STR_STARTS_WITH', 'STR_CONTAINS', 'NUM_EQ', 'NUM_GT', 'NUM_GTE', 'NUM_LT',
  'NUM_LTE', 'DATE_AFTER', 'DATE_BEFORE', 'SEMVER_EQ', 'SEMVER_GT', 'SEMVER_LT', 'SEMVER_GTE', 'SEMVER_LTE', 'REGEX', 'IN_CIDR',
] as const;
const Operator = Type.String({ minLength: 1 });

export const ConstraintSchema = Type.Object({
  contextName: Type.String({ minLength: 1 }),
  operator: Operator,
  values: Type.Optional(Type.Array(Type.String())),
  value: Type.Optional(Type.Union([Type.String(), Type.Number()])),
  inverted: Type.Optional(Type.Boolean()),
  caseInsensitive: Type.Optional(Type.Boolean()),
});

export const StrategySchema = Type.Object({
  name: Type.String({ minLength: 1 }),
  parameters: Type.Optional(Type.Record(Type.String(), Type.Union([Type.String(), Type.Number()]))),
  constraints: Type.Optional(Type.Array(ConstraintSchema)),
  segments: Type.Optional(Type.Array(Type.Integer())),
  /** strategy variants: an enabled strategy's variants win over the feature's */
  variants: Type.Optional(Type.Array(Type.Unknown())),
});

export const FeatureSchema = Type.Object({
  name: Type.String({ minLength: 1 }),
  description: Type.Optional(Type.Union([Type.String(), Type.Null()])),
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

export type FeatureDef = Static<typeof FeatureSchema>;
export type SegmentDef = Static<typeof SegmentSchema>;

/** `file: flag.strategies[i] operator X` for every constraint whose operator unleash-client does not know. */
export function unknownOperators(file: { features: readonly FeatureDef[]; segments?: readonly SegmentDef[] | undefined }): string[] {
  const known = new Set<string>(OPERATORS);
  const out: string[] = [];
  for (const f of file.features) {
    f.strategies.forEach((s, i) => {
      for (const c of s.constraints ?? []) if (!known.has(c.operator)) out.push(`${f.name}.strategies[${i}]: ${c.operator}`);
    });
  }
  for (const seg of file.segments ?? []) for (const c of seg.constraints) if (!known.has(c.operator)) out.push(`segment ${seg.id}: ${c.operator}`);
  return out;
}

/** A full state: what `GET /api/client/features` answers and Unleash exports. */
export const FlagFileSchema = Type.Object({
  version: Type.Integer({ minimum: 1 }),
  features: Type.Array(FeatureSchema),
  segments: Type.Optional(Type.Array(SegmentSchema)),
});
export type FlagFile = Static<typeof FlagFileSchema>;

/**
 * The delta API's shape (`GET /api/client/delta`): events applied in order, as unleash-client
 * applies them (lib/repository/index.js): a hydration replaces everything, the others update or
 * remove one feature or segment.
 */
export const DeltaEventSchema = Type.Union([
  Type.Object({ eventId: Type.Optional(Type.Integer()), type: Type.Literal('hydration'), features: Type.Array(FeatureSchema), segments: Type.Optional(Type.Array(SegmentSchema)) }),
  Type.Object({ eventId: Type.Optional(Type.Integer()), type: Type.Literal('feature-updated'), feature: FeatureSchema }),
  Type.Object({ eventId: Type.Optional(Type.Integer()), type: Type.Literal('feature-removed'), featureName: Type.String({ minLength: 1 }) }),
  Type.Object({ eventId: Type.Optional(Type.Integer()), type: Type.Literal('segment-updated'), segment: SegmentSchema }),
  Type.Object({ eventId: Type.Optional(Type.Integer()), type: Type.Literal('segment-removed'), segmentId: Type.Integer() }),
]);
export const DeltaFlagFileSchema = Type.Object({ events: Type.Array(DeltaEventSchema) });
export type DeltaFlagFile = Static<typeof DeltaFlagFileSchema>;

/** The state a delta file leaves, in the full shape. */
export function foldDelta(file: DeltaFlagFile): FlagFile {
  const features = new Map<string, FeatureDef>();
  const segments = new Map<number, SegmentDef>();
  for (const e of file.events) {
    switch (e.type) {
      case 'hydration':
        features.clear();
        segments.clear();
        for (const f of e.features) features.set(f.name, f);
        for (const s of e.segments ?? []) segments.set(s.id, s);
        break;
      case 'feature-updated':
        features.set(e.feature.name, e.feature);
        break;
      case 'feature-removed':
        features.delete(e.featureName);
        break;
      case 'segment-updated':
        segments.set(e.segment.id, e.segment);
        break;
      case 'segment-removed':
        segments.delete(e.segmentId);
        break;
    }
  }
  return { version: 1, features: [...features.values()], segments: [...segments.values()] };
}
