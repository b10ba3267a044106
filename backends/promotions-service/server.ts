/**
 * promotions-service: promotion definitions, per-product potential promotions and cart
 * evaluation (the shared engine), in the canonical model. Endpoints per CONTRACTS.md.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import {
  EvaluationSchema as CartEvaluation,
  MoneySchema as Money,
  PromotionRefSchema as PromotionSummary,
  PromotionSchema as Promotion,
  ScopeSchema as PromotionScope,
  SkuSchema as Sku,
} from '../contract/model.js';
import { getProduct, productPromotions, promotionsFor } from '../kit/seed.js';
import { evaluateCart, UnknownProductError } from '../kit/promotion-engine.js';
import { createService, withoutIds, MissingList, parseSkus, requireSite, ServiceError, SiteParams, SkusQuery, type ServiceOptions } from '../kit/service-kit.js';
import { promotionsSubgraph } from './graphql.js';

const PREFIX = 'PROMOTIONS';

const ScopeQuery = Type.Object({ scope: Type.Optional(PromotionScope) });
const CodeParams = Type.Object({ site: SiteParams.properties.site, code: Type.String({ minLength: 1, maxLength: 128 }) });
const PromotionList = Type.Object({ promotions: Type.Array(Promotion) });
const ProductPromotionList = Type.Object({
  items: Type.Array(Type.Object({ sku: Type.String(), promotions: Type.Array(PromotionSummary) })),
  missing: MissingList,
});
const EvaluateBody = Type.Object({
  entries: Type.Array(
    Type.Object({
      sku: Sku,
      quantity: Type.Integer({ minimum: 1, maximum: 999 }),
      unitPrice: Type.Object({ amount: Type.Integer({ minimum: 0 }), currency: Money.properties.currency }),
    }),
    { minItems: 1, maxItems: 100 },
  ),
});

export async function buildPromotionsService(opts: ServiceOptions = {}): Promise<FastifyInstance> {
  const app = createService('promotions-service', PREFIX, opts);

  app.get<{ Params: Static<typeof SiteParams>; Querystring: Static<typeof ScopeQuery> }>(
    '/v1/sites/:site/promotions',
    { schema: { params: SiteParams, querystring: ScopeQuery, response: { 200: withoutIds(PromotionList) } } },
    async (request) => {
      const site = requireSite(PREFIX, request.params.site);
      const scope = request.query.scope;
      const all = promotionsFor(site.id);
      return { promotions: scope ? all.filter((p) => p.scope === scope) : all };
    },
  );

  app.get<{ Params: Static<typeof CodeParams> }>(
    '/v1/sites/:site/promotions/:code',
    { schema: { params: CodeParams, response: { 200: withoutIds(Promotion) } } },
    async (request) => {
      const site = requireSite(PREFIX, request.params.site);
      const promo = promotionsFor(site.id).find((p) => p.code === request.params.code);
      if (!promo) throw new ServiceError(404, `${PREFIX}_PROMOTION_NOT_FOUND`, `Promotion '${request.params.code}' not found on site '${site.id}'`);
      return promo;
    },
  );

  app.get<{ Params: Static<typeof SiteParams>; Querystring: Static<typeof SkusQuery> }>(
    '/v1/sites/:site/product-promotions',
    { schema: { params: SiteParams, querystring: SkusQuery, response: { 200: withoutIds(ProductPromotionList) } } },
    async (request) => {
      const site = requireSite(PREFIX, request.params.site);
      const items: Static<typeof ProductPromotionList>['items'] = [];
      const missing: string[] = [];
      for (const sku of parseSkus(request.query.skus)) {
        if (getProduct(site.id, sku)) items.push({ sku, promotions: productPromotions(site.id, sku) });
        else missing.push(sku);
      }
      return { items, missing };
    },
  );

  app.post<{ Params: Static<typeof SiteParams>; Body: Static<typeof EvaluateBody> }>(
    '/v1/sites/:site/carts/evaluate',
    { schema: { params: SiteParams, body: withoutIds(EvaluateBody), response: { 200: withoutIds(CartEvaluation) } } },
    async (request) => {
      const site = requireSite(PREFIX, request.params.site);
      const entries = request.body.entries.map((e, i) => {
        if (e.unitPrice.currency !== site.currency) {
          throw new ServiceError(400, `${PREFIX}_CURRENCY_MISMATCH`, `entries/${i}/unitPrice: currency ${e.unitPrice.currency} is not ${site.id}'s ${site.currency}`);
        }
        return { sku: e.sku, quantity: e.quantity, unitPrice: e.unitPrice.amount };
      });
      try {
        return evaluateCart(site.id, entries);
      } catch (err) {
        if (err instanceof UnknownProductError) throw new ServiceError(404, `${PREFIX}_SKU_NOT_FOUND`, err.message);
        throw err;
      }
    },
  );

  await promotionsSubgraph(app);
  return app;
}
