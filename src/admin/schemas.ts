/**
 * The admin API's contract (src/http/routes/admin): request and response schemas, and through Static the
 * types the CLI (src/cli) reads, so the server and its client cannot drift apart.
 */
import { Type, type Static } from '@sinclair/typebox';
import { SITE_PATTERN } from '../domain/model.js';
import { CONTEXT_NAME_PATTERN } from '../contexts/names.js';
import { RouteStateSchema, STICKINESS } from '../routing/route-schema.js';

/**
 * A context name on the wire: any well-formed name, not an enum of this build's list, so the CLI
 * reads a gateway that has registered more contexts than it knows; the gateway answers an
 * unknown one with 404 GW_ERR_ADMIN_CONTEXT_NOT_FOUND (src/http/routes/admin: the registry decides).
 */
export const ContextSchema = Type.String({ pattern: CONTEXT_NAME_PATTERN, description: 'a bounded context of the registry (GET /admin/routes lists them)' });
export const FlagSourceSchema = Type.Union([Type.Literal('file'), Type.Literal('unleash')]);
export const StickinessSchema = Type.Union(STICKINESS.map((s) => Type.Literal(s)));
export const BreakerStateSchema = Type.String({ description: 'circuit breaker state (src/upstream/breaker.ts): closed, open, half-open' });

export const RouteViewSchema = Type.Composite([
  Type.Object({ context: ContextSchema, flag: Type.String(), source: FlagSourceSchema }),
  RouteStateSchema,
  Type.Object({
    breaker: Type.Optional(
      Type.Object({ new: Type.Optional(BreakerStateSchema), legacy: Type.Optional(BreakerStateSchema) }, { description: 'circuit breakers of the upstreams this context routes to' }),
    ),
    traffic: Type.Optional(
      Type.Object(
        { reqPerSec: Type.Number({ minimum: 0 }), errorRate: Type.Number({ minimum: 0, maximum: 1 }), windowSeconds: Type.Integer({ minimum: 1 }) },
        { description: 'recent requests that touched the context (present once the gateway measures it)' },
      ),
    ),
  }),
]);
export type RouteView = Static<typeof RouteViewSchema>;

export const RoutesResponseSchema = Type.Object({
  source: FlagSourceSchema,
  location: Type.String({ description: 'flag directory, or the Unleash URL (project, environment)' }),
  writable: Type.Boolean({ description: 'false: flags live in Unleash and the gateway has no admin token for it, or in flag files while GATEWAY_INSTANCES > 1' }),
  stale: Type.Union([Type.String(), Type.Null()], { description: 'last flag-source error: routing runs on the last known flags' }),
  routes: Type.Array(RouteViewSchema),
});
export type RoutesResponse = Static<typeof RoutesResponseSchema>;

export const ContextParamsSchema = Type.Object({ context: Type.String({ maxLength: 64 }) });

const Reason = Type.String({ minLength: 1, maxLength: 500, description: 'why, recorded in the audit trail' });

export const RouteChangeBodySchema = Type.Object(
  {
    percent: Type.Integer({ minimum: 0, maximum: 100, description: 'share of users/sessions the new service answers' }),
    stickiness: Type.Optional(StickinessSchema),
    site: Type.Optional(
      Type.Union([Type.String({ pattern: SITE_PATTERN }), Type.Null()], {
        description: 'limit to one base site (a baseSiteId IN constraint); null: every site; absent: unchanged',
      }),
    ),
    reason: Type.Optional(Reason),
  },
  { additionalProperties: false },
);
export type RouteChangeBody = Static<typeof RouteChangeBodySchema>;

export const KillBodySchema = Type.Object({ reason: Type.Optional(Reason) }, { additionalProperties: false });
export type KillBody = Static<typeof KillBodySchema>;

export const AuditSourceSchema = Type.Union([Type.Literal('admin'), Type.Literal('file'), Type.Literal('unleash')], {
  description: 'who changed the route: the admin API, an edit of the flag files, or Unleash (its UI or API); entries written before observed changes were recorded name the flag source for admin changes too',
});

export const AuditEntrySchema = Type.Object({
  id: Type.String({ description: 'uuid of the change' }),
  at: Type.String({ description: 'ISO 8601 time the change was applied' }),
  actor: Type.String(),
  action: Type.Union([Type.Literal('route'), Type.Literal('kill'), Type.Literal('observed'), Type.Literal('rollout'), Type.Literal('override')], {
    description:
      'route, kill: through the admin API; observed: a change made where the flags live (a flag file edited, Unleash) that the gateway loaded; rollout: a rollout transition that did not change the flag (pause, resume, completion); override: the local kill override set or cleared (docs/rollouts.md)',
  }),
  context: ContextSchema,
  flag: Type.String(),
  source: AuditSourceSchema,
  location: Type.String({ description: 'the flag file, or the Unleash feature' }),
  requested: Type.Optional(
    Type.Object(
      {
        percent: Type.Integer(),
        stickiness: Type.Optional(StickinessSchema),
        site: Type.Optional(Type.Union([Type.String(), Type.Null()])),
      },
      { description: 'admin changes only: what was asked' },
    ),
  ),
  before: RouteStateSchema,
  after: RouteStateSchema,
  reason: Type.Union([Type.String(), Type.Null()]),
  requestId: Type.Optional(Type.String({ description: 'admin changes only' })),
  remoteAddress: Type.Optional(Type.String()),
  instance: Type.Optional(Type.String({ description: 'the gateway instance that recorded it (host:pid); absent in entries written before it was recorded' })),
});
export type AuditEntry = Static<typeof AuditEntrySchema>;

export const ChangeResponseSchema = Type.Object({
  change: AuditEntrySchema,
  effectiveWithinMs: Type.Integer({ minimum: 0, description: '0: routing already uses it; otherwise the upper bound until the gateway fetches it' }),
});
export type ChangeResponse = Static<typeof ChangeResponseSchema>;

export const AuditQuerySchema = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 1000, default: 50 }),
  context: Type.Optional(ContextSchema),
});

export const AuditResponseSchema = Type.Object({
  entries: Type.Array(AuditEntrySchema, { description: 'newest first' }),
  skipped: Type.Integer({ minimum: 0, description: 'unreadable lines (e.g. torn by a crash) left out' }),
});
export type AuditResponse = Static<typeof AuditResponseSchema>;
