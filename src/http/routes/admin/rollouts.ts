/**
 * Rollouts and the kill override under /admin (docs/rollouts.md). Registered by the admin plugin
 * (./index.ts) inside its scope, so the bearer check and the not-found handling are its own;
 * it hands over its request helpers (strict body compiler, context and actor parsing).
 */
import type { FastifyInstance, FastifyRequest, FastifySchema, FastifySchemaCompiler } from 'fastify';
import type { Static } from '@sinclair/typebox';
import { randomUUID } from 'node:crypto';
import type { ContextName } from '../../../contexts/names.js';
import { flagOf } from '../../../contexts/names.js';
import { GatewayError } from '../../../errors.js';
import type { Gateway } from '../../../gateway.js';
import { routeStateOf } from '../../../routing/route-state.js';
import { ADMIN_ONLY, BODY_ERRORS, problemResponses } from '../../../openapi.js';
import { ContextParamsSchema } from '../../../admin/schemas.js';
import {
  OverrideBodySchema,
  OverrideClearedSchema,
  OverrideSchema,
  OverridesResponseSchema,
  RolloutActionBodySchema,
  RolloutActionParamsSchema,
  RolloutLimitsBodySchema,
  RolloutStartBodySchema,
  RolloutStateSchema,
  RolloutsResponseSchema,
  holdMs,
  type Override,
  type RolloutState,
} from '../../../rollout/schemas.js';

export interface RolloutRouteOptions {
  gw: Gateway;
  strict: FastifySchemaCompiler<FastifySchema>;
  contextOf(raw: string): ContextName;
  actorOf(request: FastifyRequest): string;
}

const errors = problemResponses([400, 401, 403, 404, 409, 500, 502, 503]);
const doc = { tags: ['admin'], security: ADMIN_ONLY };
type Params = Static<typeof ContextParamsSchema>;

export default async function rolloutRoutes(app: FastifyInstance, opts: RolloutRouteOptions): Promise<void> {
  const { gw, strict, contextOf, actorOf } = opts;
  const { controller, overrides } = gw.rollouts;
  const known = async (request: FastifyRequest<{ Params: Params }>) => {
    contextOf(request.params.context);
  };
  const emptyBody = async (request: FastifyRequest) => {
    if (request.body === undefined || request.body === null) request.body = {};
  };

  app.get('/rollouts', { schema: { ...doc, operationId: 'getRollouts', summary: 'The current or last rollout of every context', response: { 200: RolloutsResponseSchema, ...errors } } }, async () => ({
    rollouts: await controller.list(),
  }));

  app.get<{ Params: Params }>(
    '/rollouts/:context',
    { schema: { ...doc, operationId: 'getRollout', summary: "A context's current or last rollout", params: ContextParamsSchema, response: { 200: RolloutStateSchema, ...errors } }, preValidation: known },
    async (request): Promise<RolloutState> => {
      const context = contextOf(request.params.context);
      const r = await controller.get(context);
      if (!r) throw new GatewayError(404, 'GW_ERR_ADMIN_ROLLOUT_NOT_FOUND', `no rollout of ${context}`);
      return r;
    },
  );

  app.post<{ Params: Params; Body: Static<typeof RolloutStartBodySchema> }>(
    '/rollouts/:context',
    {
      schema: {
        ...doc,
        operationId: 'startRollout',
        summary: 'Start a rollout: steps of percentages, each held and judged by the guardrails; a breach rolls back to 0 %',
        params: ContextParamsSchema,
        body: RolloutStartBodySchema,
        response: { 201: RolloutStateSchema, ...errors, ...problemResponses(BODY_ERRORS) },
      },
      validatorCompiler: strict,
      preValidation: known,
    },
    async (request, reply) => {
      const { steps, hold, reason, guardrails } = request.body;
      const state = await controller.start(contextOf(request.params.context), steps, holdMs(hold), actorOf(request), reason ?? null, guardrails);
      return reply.code(201).send(state);
    },
  );

  app.put<{ Params: Params; Body: Static<typeof RolloutLimitsBodySchema> }>(
    '/rollouts/:context/limits',
    {
      schema: {
        ...doc,
        operationId: 'changeRolloutLimits',
        summary: "Change a running or paused rollout's guardrail thresholds, minimum samples or p99 floor, over its current ones",
        params: ContextParamsSchema,
        body: RolloutLimitsBodySchema,
        response: { 200: RolloutStateSchema, ...errors, ...problemResponses(BODY_ERRORS) },
      },
      validatorCompiler: strict,
      preValidation: known,
    },
    async (request) => controller.changeLimits(contextOf(request.params.context), request.body.guardrails, actorOf(request), request.body.reason ?? null),
  );

  app.post<{ Params: Static<typeof RolloutActionParamsSchema>; Body: Static<typeof RolloutActionBodySchema> | undefined }>(
    '/rollouts/:context/:action',
    {
      schema: {
        ...doc,
        operationId: 'rolloutAction',
        summary: "Pause (hold the current percent), resume (judge the step afresh) or abort (back to 0 %) a context's rollout",
        params: RolloutActionParamsSchema,
        body: RolloutActionBodySchema,
        response: { 200: RolloutStateSchema, ...errors, ...problemResponses(BODY_ERRORS) },
      },
      validatorCompiler: strict,
      preValidation: [known, emptyBody],
    },
    async (request) => {
      const context = contextOf(request.params.context);
      const actor = actorOf(request);
      const reason = request.body?.reason ?? null;
      const action = request.params.action;
      return action === 'pause' ? controller.pause(context, actor, reason) : action === 'resume' ? controller.resume(context, actor, reason) : controller.abort(context, actor, reason);
    },
  );

  app.get('/overrides', { schema: { ...doc, operationId: 'getOverrides', summary: 'Contexts forced to legacy by the kill override', response: { 200: OverridesResponseSchema, ...errors } } }, async () => ({
    overrides: overrides.list(),
  }));

  app.put<{ Params: Params; Body: Static<typeof OverrideBodySchema> }>(
    '/routes/:context/override',
    {
      schema: {
        ...doc,
        operationId: 'setOverride',
        summary: 'Force legacy for a context until cleared, whatever its flag: works when the flag source is down',
        params: ContextParamsSchema,
        body: OverrideBodySchema,
        response: { 200: OverrideSchema, ...errors, ...problemResponses(BODY_ERRORS) },
      },
      validatorCompiler: strict,
      preValidation: known,
    },
    async (request): Promise<Override> => {
      const context = contextOf(request.params.context);
      const actor = actorOf(request);
      const { override, shared } = await overrides.set(context, request.body.reason, actor);
      await auditOverride(request, context, actor, `override set: legacy${shared ? '' : ' (this instance only: Redis unreachable)'}: ${request.body.reason}`);
      gw.events.emit('kill.set', { override: 'legacy', reason: request.body.reason, shared }, { context, actor });
      return override;
    },
  );

  app.delete<{ Params: Params }>(
    '/routes/:context/override',
    {
      schema: { ...doc, operationId: 'clearOverride', summary: 'Clear the kill override: the flag decides again', params: ContextParamsSchema, response: { 200: OverrideClearedSchema, ...errors } },
      preValidation: known,
    },
    async (request) => {
      const context = contextOf(request.params.context);
      const actor = actorOf(request);
      const cleared = await overrides.clear(context);
      if (cleared) {
        await auditOverride(request, context, actor, 'override cleared');
        gw.events.emit('kill.cleared', { override: null, reason: null }, { context, actor });
      }
      return { context, override: null, cleared };
    },
  );

  async function auditOverride(request: FastifyRequest, context: ContextName, actor: string, reason: string): Promise<void> {
    const flag = flagOf(context);
    const now = routeStateOf(gw.flags.definitions().find((f) => f.name === flag));
    await gw.audit.record({
      id: randomUUID(),
      at: new Date().toISOString(),
      actor,
      action: 'override',
      context,
      flag,
      source: 'admin',
      location: 'gateway (kill override)',
      before: now,
      after: now,
      reason,
      requestId: String(request.id),
      remoteAddress: request.ip,
    });
  }
}
