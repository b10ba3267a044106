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
import { changePublisher } from '../kit/changes.js';
import { ChangeReply, createService, withoutIds, MissingList, parseSkus, requireSite, ServiceError, SiteParams, SkusQuery, type ServiceOptions } from '../kit/service-kit.js';
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

const PromotionChange = Type.Object(
  { title: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })), description: Type.Optional(Type.String({ maxLength: 2000 })) },
  { additionalProperties: false, minProperties: 1 },
);
type PromotionChangeT = Static<typeof PromotionChange>;

/** Promotion texts changed through `PUT /__changes/...` (per service instance), over the seed's; by `site/code`. */
export class PromotionChanges {
  private readonly changes = new Map<string, PromotionChangeT>();
  set(site: string, code: string, change: PromotionChangeT): void {
    this.changes.set(`${site}/${code}`, { ...this.changes.get(`${site}/${code}`), ...change });
  }
  apply<P extends { code: string; title: string; description?: string }>(site: string, p: P): P {
    const c = this.changes.get(`${site}/${p.code}`);
    if (!c) return p;
    return { ...p, ...(c.title === undefined ? {} : { title: c.title }), ...(c.description === undefined || p.description === undefined ? {} : { description: c.description }) };
  }
}

export async function buildPromotionsService(opts: ServiceOptions = {}): Promise<FastifyInstance> {
  const app = createService('promotions-service', PREFIX, opts);
  const changed = new PromotionChanges();
  const changes = changePublisher(app, 'promotions', opts.amqpUrl);

  app.get<{ Params: Static<typeof SiteParams>; Querystring: Static<typeof ScopeQuery> }>(
    '/v1/sites/:site/promotions',
    { schema: { params: SiteParams, querystring: ScopeQuery, response: { 200: withoutIds(PromotionList) } } },
    async (request) => {
      const site = requireSite(PREFIX, request.params.site);
      const scope = request.query.scope;
      const all = promotionsFor(site.id).map((p) => changed.apply(site.id, p));
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
      return changed.apply(site.id, promo);
    },
  );

  // Changes a promotion's title or description and announces `promotion.changed` (CONTRACTS.md "Change endpoints").
  app.put<{ Params: Static<typeof CodeParams>; Body: PromotionChangeT }>(
    '/__changes/sites/:site/promotions/:code',
    { schema: { params: CodeParams, body: PromotionChange, response: { 200: withoutIds(ChangeReply) } } },
    async (request) => {
      const site = requireSite(PREFIX, request.params.site);
      const { code } = request.params;
      if (!promotionsFor(site.id).some((p) => p.code === code)) throw new ServiceError(404, `${PREFIX}_PROMOTION_NOT_FOUND`, `Promotion '${code}' not found on site '${site.id}'`);
      changed.set(site.id, code, request.body);
      return changes.publish('promotion.changed', { site: site.id, code });
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
        if (getProduct(site.id, sku)) items.push({ sku, promotions: productPromotions(site.id, sku).map((p) => changed.apply(site.id, p)) });
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

  await promotionsSubgraph(app, (site, p) => changed.apply(site, p));
  return app;
}
