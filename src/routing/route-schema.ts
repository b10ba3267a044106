/**
 * What a route flag does, as the admin API, the audit trail and the CLI show it: the schemas
 * and the stickiness values. No runtime dependency beyond TypeBox, so that the `strangler` CLI
 * (src/cli, bundled by scripts/build-cli.mjs) imports the admin contract without unleash-client.
 * src/routing/flag-provider.ts re-exports it.
 */
import { Type, type Static } from '@sinclair/typebox';

export const STICKINESS = ['default', 'userId', 'sessionId'] as const;
export type Stickiness = (typeof STICKINESS)[number];

/** A constraint as an operator reads it (the Unleash shape, operator kept as a plain string). */
export const RouteConstraintSchema = Type.Object({
  contextName: Type.String(),
  operator: Type.String(),
  values: Type.Optional(Type.Array(Type.String())),
  value: Type.Optional(Type.String()),
  inverted: Type.Optional(Type.Boolean()),
  caseInsensitive: Type.Optional(Type.Boolean()),
});

/** What a route flag does, read from its definition (file, Unleash admin view or client cache). */
export const RouteStateSchema = Type.Object({
  defined: Type.Boolean({ description: 'false: no such flag, so every request goes to legacy' }),
  enabled: Type.Boolean(),
  rollout: Type.Union([Type.Integer({ minimum: 0, maximum: 100 }), Type.Null()], {
    description: 'percentage of the flexibleRollout strategy; 100 for an enabled flag without strategies; null when only custom strategies decide',
  }),
  stickiness: Type.Union([Type.String(), Type.Null()]),
  constraints: Type.Array(RouteConstraintSchema),
  strategies: Type.Integer({ minimum: 0, description: 'active strategies of the flag (more than 1: others may also enable it)' }),
});
export type RouteState = Static<typeof RouteStateSchema>;
