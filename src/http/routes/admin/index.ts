/**
 * The admin API (docs/ARCHITECTURE.md#admin-surface): read and change per-context routing, kill a context, read
 * the audit trail. Everything under /admin needs `Authorization: Bearer <ADMIN_TOKEN>`; without
 * ADMIN_TOKEN the whole surface answers 403, never open. Changes are written where the flags
 * live (flag files or Unleash, see FlagProvider.setRoute) and recorded durably before the
 * answer. In the OpenAPI document at /docs under the tag `admin`, with bearer security.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest, FastifySchema, FastifySchemaCompiler } from 'fastify';
import type { FastifySchemaValidationError } from 'fastify/types/schema.js';
import type { Static, TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { CONTEXTS, flagOf, isContextName, type ContextName } from '../../../contexts/names.js';
import { GatewayError } from '../../../errors.js';
import type { Gateway } from '../../../gateway.js';
import type { FlagWrite, RouteChange } from '../../../routing/flag-provider.js';
import { routeStateOf } from '../../../routing/route-state.js';
import { ADMIN_ONLY, BODY_ERRORS, problemResponses } from '../../../openapi.js';
import { bearerChecker } from '../../../admin/auth.js';
import rolloutRoutes from './rollouts.js';
import {
  AuditQuerySchema,
  AuditResponseSchema,
  ChangeResponseSchema,
  ContextParamsSchema,
  KillBodySchema,
  RouteChangeBodySchema,
  RoutesResponseSchema,
  type AuditEntry,
  type ChangeResponse,
  type RouteView,
  type RoutesResponse,
} from '../../../admin/schemas.js';
import type { ShadowParity } from '../../../parity/shadow.js';
import { parityRoutes } from './parity.js';

export interface AdminOptions {
  gw: Gateway;
  /** recent traffic of a context, once the gateway measures it; absent: the field is left out */
  traffic?: (context: ContextName) => RouteView['traffic'];
  /** shadow comparison (src/parity/): GET /admin/parity[/:context]; absent: those routes are not served */
  parity?: ShadowParity;
}

const REALM = 'Bearer realm="strangler-admin"';

/**
 * Admin bodies are taken as typed: `"percent": "50"` is a mistake to report, not a number to
 * guess (the app's ajv coerces types, which suits query strings). Used by the routes whose
 * every part is a JSON body or a string path parameter.
 */
const strict: FastifySchemaCompiler<FastifySchema> = ({ schema }) => {
  const checker = TypeCompiler.Compile(schema as TSchema);
  const validate = (data: unknown): boolean => {
    if (checker.Check(data)) return true;
    validate.errors = [...checker.Errors(data)]
      .slice(0, 10)
      .map((e) => ({ keyword: 'type', instancePath: e.path, schemaPath: '', params: {}, message: e.message }));
    return false;
  };
  validate.errors = [] as FastifySchemaValidationError[];
  return validate;
};
const errors = problemResponses([400, 401, 403, 404, 409, 500, 502, 503]);
/** OpenAPI metadata shared by every documented admin operation */
const doc = { tags: ['admin'], security: ADMIN_ONLY };
type ContextParams = Static<typeof ContextParamsSchema>;

export default async function adminRoutes(app: FastifyInstance, opts: AdminOptions): Promise<void> {
  const { gw } = opts;
  const check = gw.config.adminToken ? bearerChecker(gw.config.adminToken) : undefined;
  const audit = gw.audit.trail;
  if (!check) app.log.warn({ event: 'admin.disabled' }, 'ADMIN_TOKEN is not set: the admin API under /admin is disabled (every call answers 403)');

  // onRequest runs before the body is parsed or validated: an unauthenticated caller learns
  // nothing about routes or payloads, and costs no parsing.
  app.addHook('onRequest', async (request, reply) => {
    reply.header('cache-control', 'no-store');
    if (!check) throw new GatewayError(403, 'GW_ERR_ADMIN_DISABLED', 'the admin API is disabled: the gateway was started without ADMIN_TOKEN');
    const verdict = check(request.headers.authorization);
    if (verdict === 'ok') return;
    request.log.warn({ event: 'admin.unauthorized', reason: verdict, remoteAddress: request.ip }, 'admin call rejected');
    // RFC 6750 §3: a challenge always; error="invalid_token" only when a token was sent.
    reply.header('www-authenticate', verdict === 'missing' ? REALM : `${REALM}, error="invalid_token"`);
    throw new GatewayError(
      401,
      'GW_ERR_ADMIN_UNAUTHORIZED',
      verdict === 'missing' ? 'missing bearer token: send Authorization: Bearer <ADMIN_TOKEN>' : 'invalid bearer token',
    );
  });

  app.get('/routes', { schema: { ...doc, operationId: 'getRoutes', summary: 'Routing per context: rollout, stickiness, constraints, breakers, traffic', response: { 200: RoutesResponseSchema, ...errors } } }, async (): Promise<RoutesResponse> => {
    const defs = new Map(gw.flags.definitions().map((f) => [f.name, f]));
    return {
      source: gw.flags.source,
      location: gw.flags.location,
      writable: gw.flags.writable,
      stale: gw.flags.lastError ?? null,
      routes: CONTEXTS.map((context) => {
        const flag = flagOf(context);
        const view: RouteView = { context, flag, source: gw.flags.source, ...routeStateOf(defs.get(flag)) };
        const breaker = breakers(gw, context);
        if (breaker) view.breaker = breaker;
        const traffic = opts.traffic?.(context);
        if (traffic) view.traffic = traffic;
        return view;
      }),
    };
  });

  app.put<{ Params: ContextParams; Body: Static<typeof RouteChangeBodySchema> }>(
    '/routes/:context',
    {
      schema: {
        ...doc,
        operationId: 'setRoute',
        summary: "Change a context's rollout (and stickiness, site); recorded in the audit trail",
        params: ContextParamsSchema,
        body: RouteChangeBodySchema,
        response: { 200: ChangeResponseSchema, ...errors, ...problemResponses(BODY_ERRORS) },
      },
      validatorCompiler: strict,
      preValidation: knownContext,
    },
    async (request) => {
      const { percent, stickiness, site, reason } = request.body;
      const change: RouteChange = { percent, stickiness, site };
      return applyChange(request, contextOf(request.params.context), 'route', change, reason);
    },
  );

  app.post<{ Params: ContextParams; Body: Static<typeof KillBodySchema> | undefined }>(
    '/routes/:context/kill',
    {
      schema: {
        ...doc,
        operationId: 'killRoute',
        summary: 'Send every request of a context to legacy, now (0 %, flag disabled)',
        params: ContextParamsSchema,
        body: KillBodySchema,
        response: { 200: ChangeResponseSchema, ...errors, ...problemResponses(BODY_ERRORS) },
      },
      validatorCompiler: strict,
      preValidation: [
        knownContext,
        // A kill must not fail on a missing body: `curl -X POST …/kill` is the emergency path.
        async (request) => {
          if (request.body === undefined || request.body === null) request.body = {};
        },
      ],
    },
    async (request) => applyChange(request, contextOf(request.params.context), 'kill', { percent: 0, kill: true }, request.body?.reason),
  );

  app.get<{ Querystring: Static<typeof AuditQuerySchema> }>(
    '/audit',
    { schema: { ...doc, operationId: 'getAudit', summary: 'Recent routing changes, newest first', querystring: AuditQuerySchema, response: { 200: AuditResponseSchema, ...errors } } },
    async (request) => {
      const { limit, context } = request.query;
      return audit.recent(limit, context ? (e) => e.context === context : undefined);
    },
  );

  if (opts.parity) parityRoutes(app, { parity: opts.parity, doc, errors, params: ContextParamsSchema, contextOf });
  // rollouts and the kill override (docs/rollouts.md), inside this scope: same bearer check
  await app.register(rolloutRoutes, { gw, strict, contextOf, actorOf });

  // Anything else under /admin is a 404, but only after the token check above, so probing
  // without a token cannot map the surface.
  const notFound = async (request: FastifyRequest) => {
    throw new GatewayError(404, 'GW_ERR_ROUTE_NOT_FOUND', `no admin route for ${request.method} ${request.url.split('?')[0]}`);
  };
  app.all('/', { schema: { hide: true } }, notFound);
  app.all('/*', { schema: { hide: true } }, notFound);

  async function applyChange(
    request: FastifyRequest,
    context: ContextName,
    action: AuditEntry['action'],
    change: RouteChange,
    reason: string | undefined,
  ): Promise<ChangeResponse> {
    const flag = flagOf(context);
    const requested: NonNullable<AuditEntry['requested']> = { percent: change.percent };
    if (change.stickiness) requested.stickiness = change.stickiness;
    if (change.site !== undefined) requested.site = change.site;
    // built once the write succeeded: from then on the change is in force
    let built: AuditEntry | undefined;
    const entryOf = (write: FlagWrite): AuditEntry =>
      (built = {
        id: randomUUID(),
        at: new Date().toISOString(),
        actor: actorOf(request),
        action,
        context,
        flag,
        source: 'admin',
        location: write.location,
        requested,
        before: write.before,
        after: write.after,
        reason: reason ?? null,
        requestId: String(request.id),
        remoteAddress: request.ip,
      });
    let write: FlagWrite;
    let entry: AuditEntry;
    try {
      ({ write, entry } = await gw.audit.adminChange(context, () => gw.flags.setRoute(flag, change), entryOf));
    } catch (err) {
      if (!built) throw err;
      // The flag change is already in force; say so, and put the record in the log instead.
      request.log.error({ event: 'admin.audit_failed', audit: built, err }, 'change applied but not recorded in the audit trail');
      throw new GatewayError(
        500,
        'GW_ERR_ADMIN_AUDIT_FAILED',
        `the change to ${flag} was applied but could not be recorded in ${audit.path}: ${(err as Error).message}`,
        { cause: err },
      );
    }
    request.log.info({ event: 'admin.route_changed', audit: entry }, `${context}: ${action} by ${entry.actor}`);
    return { change: entry, effectiveWithinMs: write.effectiveWithinMs };
  }
}

/** An unknown context is a 404 whatever the body: checked before the body is validated. */
async function knownContext(request: FastifyRequest<{ Params: ContextParams }>): Promise<void> {
  contextOf(request.params.context);
}

function contextOf(raw: string): ContextName {
  if (isContextName(raw)) return raw;
  throw new GatewayError(404, 'GW_ERR_ADMIN_CONTEXT_NOT_FOUND', `unknown context "${raw}" (known: ${CONTEXTS.join(', ')})`);
}

/** `x-actor` as sent by the CLI (--actor, default the OS user); printable, at most 128 chars. */
function actorOf(request: FastifyRequest): string {
  const raw = request.headers['x-actor'];
  const v = (Array.isArray(raw) ? raw[0] : raw) ?? '';
  // eslint-disable-next-line no-control-regex
  const clean = v.replace(/[\u0000-\u001f\u007f]/g, '').trim().slice(0, 128);
  return clean || 'unknown';
}

/**
 * Breaker states of the two arms of a context, read defensively: the resilience layer exposes
 * `breakerState` on an Upstream, and this view must not break while that surface evolves.
 */
function breakers(gw: Gateway, context: ContextName): RouteView['breaker'] {
  const stateOf = (u: unknown): string | undefined => {
    const s = (u as { breakerState?: unknown } | undefined)?.breakerState;
    return typeof s === 'string' ? s : undefined;
  };
  const out: NonNullable<RouteView['breaker']> = {};
  const n = stateOf(gw.upstreams[context]);
  const l = stateOf(gw.upstreams.legacy);
  if (n) out.new = n;
  if (l) out.legacy = l;
  return n || l ? out : undefined;
}
