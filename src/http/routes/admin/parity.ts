/**
 * Runtime parity under /admin (docs/parity.md): per context, the shadow share, the comparison
 * counts (this instance's and every instance's), the mismatching fields and the last samples.
 * Registered by the admin plugin (./index.ts), behind its bearer check.
 */
import type { FastifyInstance } from 'fastify';
import type { Static } from '@sinclair/typebox';
import { CONTEXTS } from '../../../contexts/names.js';
import type { ShadowParity } from '../../../parity/shadow.js';
import { ParityDetailResponseSchema, ParityListResponseSchema, type ParityDetailResponse, type ParityListResponse } from '../../../parity/schemas.js';
import type { ContextParamsSchema } from '../../../admin/schemas.js';
import type { ContextName } from '../../../contexts/names.js';

export interface ParityRouteOptions {
  parity: ShadowParity;
  doc: Record<string, unknown>;
  errors: Record<number, unknown>;
  params: typeof ContextParamsSchema;
  /** the registry's context of a path parameter, or a 404 GW_ERR_ADMIN_CONTEXT_NOT_FOUND */
  contextOf: (raw: string) => ContextName;
}

export function parityRoutes(app: FastifyInstance, opts: ParityRouteOptions): void {
  const { parity, doc, errors, contextOf } = opts;
  app.get(
    '/parity',
    { schema: { ...doc, operationId: 'getParity', summary: 'Shadow comparison counts per context', response: { 200: ParityListResponseSchema, ...errors } } },
    async (): Promise<ParityListResponse> => ({
      contexts: CONTEXTS.map((context) => ({ context, shadowPercent: parity.percent(context), counts: parity.counts(context) })),
    }),
  );
  app.get<{ Params: Static<typeof opts.params> }>(
    '/parity/:context',
    {
      schema: {
        ...doc,
        operationId: 'getContextParity',
        summary: 'Shadow comparison of one context: counts, shared counts, mismatching fields, noise, last samples',
        params: opts.params,
        response: { 200: ParityDetailResponseSchema, ...errors },
      },
    },
    async (request): Promise<ParityDetailResponse> => {
      const context = contextOf(request.params.context);
      return {
        context,
        shadowPercent: parity.percent(context),
        counts: parity.counts(context),
        sharedCounts: await parity.sharedCounts(context),
        fields: parity.fields(context),
        noise: parity.noise(context),
        rules: parity.rules(context),
        samples: parity.samples(context),
        comparedIn: parity.comparedIn(context),
      };
    },
  );
}
