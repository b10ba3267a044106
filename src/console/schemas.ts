/**
 * The operator console's own API (src/console/plugin.ts): login, session and the live snapshot
 * it streams. The single source of these types for the server and the browser app (console/),
 * which imports them type-only.
 */
import { Type, type Static } from '@sinclair/typebox';

export const LoginBodySchema = Type.Object(
  {
    token: Type.String({ minLength: 1, maxLength: 1024, description: "the gateway's ADMIN_TOKEN" }),
    name: Type.String({ minLength: 1, maxLength: 64, pattern: '^[^\\u0000-\\u001f\\u007f]*\\S[^\\u0000-\\u001f\\u007f]*$', description: 'the operator, recorded as the actor of every change' }),
  },
  { additionalProperties: false },
);
export type LoginBody = Static<typeof LoginBodySchema>;

export const SessionSchema = Type.Object({
  actor: Type.String(),
  expiresAt: Type.String({ description: 'ISO 8601: the session and its cookie end then' }),
  csrfToken: Type.String({ description: 'send as x-csrf-token on every write' }),
});
export type Session = Static<typeof SessionSchema>;

const Ms = Type.Union([Type.Number({ minimum: 0 }), Type.Null()]);
export const ArmViewSchema = Type.Object({
  requests: Type.Integer({ minimum: 0 }),
  reqPerSec: Type.Number({ minimum: 0 }),
  errorRate: Type.Number({ minimum: 0, maximum: 1 }),
  p50Ms: Ms,
  p99Ms: Ms,
});

export const ParityCountsSchema = Type.Object({
  match: Type.Integer(),
  mismatch: Type.Integer(),
  noise: Type.Integer(),
  error: Type.Integer(),
  shed: Type.Integer(),
});

export const ContextSnapshotSchema = Type.Object({
  context: Type.String(),
  flag: Type.String(),
  /** the route flag as in force: enabled, rollout percent (null: not a plain rollout), stickiness */
  route: Type.Object({
    defined: Type.Boolean(),
    enabled: Type.Boolean(),
    rollout: Type.Union([Type.Integer(), Type.Null()]),
    stickiness: Type.Union([Type.String(), Type.Null()]),
    constrained: Type.Boolean({ description: 'the rollout is limited by constraints (e.g. one site)' }),
  }),
  windowSeconds: Type.Integer(),
  arms: Type.Object({ legacy: ArmViewSchema, new: ArmViewSchema, legacy_fallback: ArmViewSchema }),
  /** share of the window's requests per arm (0..1), all 0 without traffic */
  share: Type.Object({ legacy: Type.Number(), new: Type.Number(), legacy_fallback: Type.Number() }),
  breakers: Type.Object({ legacy: Type.String(), new: Type.String() }),
  /** this instance's shadow comparison counts; null when no comparator is wired */
  parity: Type.Union([ParityCountsSchema, Type.Null()]),
});
export type ContextSnapshot = Static<typeof ContextSnapshotSchema>;

export const SnapshotSchema = Type.Object({
  at: Type.String(),
  flags: Type.Object({
    source: Type.Union([Type.Literal('file'), Type.Literal('unleash')]),
    location: Type.String(),
    /** false: the gateway cannot change flags (Unleash without an admin token, files on several instances) */
    writable: Type.Boolean(),
    /** the flag source's last error: routing runs on the last known flags (Unleash down, flag files invalid) */
    stale: Type.Union([Type.String(), Type.Null()]),
  }),
  contexts: Type.Array(ContextSnapshotSchema),
});
export type Snapshot = Static<typeof SnapshotSchema>;

/** A gateway event (src/events/bus.ts) as the stream relays it. */
export interface StreamEvent {
  id: string;
  type: string;
  at: string;
  source: string;
  context?: string;
  actor?: string;
  data: Record<string, unknown>;
}
