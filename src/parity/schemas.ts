/**
 * The parity admin contract (GET /admin/parity, GET /admin/parity/:ctx): the server's response
 * schemas and, through Static, the types the CLI reads. Shapes fixed with the rollout controller
 * and the console (ParityCounts: ./types.ts).
 */
import { Type, type Static } from '@sinclair/typebox';
import { CONTEXT_NAME_PATTERN } from '../contexts/names.js';

const Count = Type.Integer({ minimum: 0 });
export const ParityCountsSchema = Type.Object(
  { match: Count, mismatch: Count, noise: Count, error: Count, shed: Count },
  { description: 'comparison outcomes (src/parity/types.ts ParityCounts)' },
);

const Context = Type.String({ pattern: CONTEXT_NAME_PATTERN });
const SharePercent = Type.Number({ minimum: 0, maximum: 100, description: 'share (%) of the context reads shadowed' });

export const ParityListResponseSchema = Type.Object({
  contexts: Type.Array(Type.Object({ context: Context, shadowPercent: SharePercent, counts: ParityCountsSchema })),
});
export type ParityListResponse = Static<typeof ParityListResponseSchema>;

export const ParitySampleSchema = Type.Object({
  at: Type.String({ description: 'ISO 8601 time of the comparison' }),
  requestId: Type.String(),
  traceId: Type.Union([Type.String(), Type.Null()]),
  servedBy: Type.Union([Type.Literal('legacy'), Type.Literal('modern')]),
  legacy: Type.Unknown({ description: 'canonical payload of the legacy arm, redacted' }),
  modern: Type.Unknown({ description: 'canonical payload of the new arm, redacted' }),
  differences: Type.Array(Type.Object({ path: Type.String(), legacy: Type.Unknown(), modern: Type.Unknown() })),
});

export const ParityDetailResponseSchema = Type.Object({
  context: Context,
  shadowPercent: SharePercent,
  counts: ParityCountsSchema,
  sharedCounts: ParityCountsSchema,
  fields: Type.Array(Type.Object({ path: Type.String(), mismatches: Count }), { description: 'mismatching field patterns, most first; bounded (PARITY_TOP_FIELDS, then "other")' }),
  noise: Type.Optional(Type.Array(Type.String(), { description: 'field patterns learned as noise (the same arm asked twice disagrees)' })),
  rules: Type.Optional(
    Type.Object(
      {
        ignore: Type.Array(Type.String(), { description: 'field patterns never compared' }),
        unordered: Type.Array(Type.String(), { description: 'lists compared without regard to order' }),
        tolerance: Type.Record(Type.String(), Type.Number(), { description: 'numbers equal within this absolute tolerance, per pattern' }),
      },
      { description: "the rules this context is compared by: its own policy's, with SHADOW_<CTX>_IGNORE, _UNORDERED and _TOLERANCE added" },
    ),
  ),
  samples: Type.Array(ParitySampleSchema, { description: 'the last mismatch samples, newest first (PARITY_SAMPLES)' }),
  comparedIn: Type.Optional(
    Type.Object(
      {
        mode: Type.Union([Type.Literal('process'), Type.Literal('inline'), Type.Literal('none')], { description: 'none: the context is not shadowed' }),
        pid: Type.Optional(Type.Integer({ description: 'the shadow process (mode process), absent while it restarts' })),
        nice: Type.Optional(Type.Integer({ description: 'its OS niceness' })),
      },
      { description: "where this context's shadow calls and comparisons run (SHADOW_ISOLATION)" },
    ),
  ),
});
export type ParityDetailResponse = Static<typeof ParityDetailResponseSchema>;
