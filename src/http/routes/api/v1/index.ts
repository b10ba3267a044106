/**
 * The canonical REST API (docs/ARCHITECTURE.md#surfaces-and-endpoints). Request and response schemas are the domain schemas, so
 * validation, serialization and the OpenAPI document at /docs come from one source.
 */
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { CartEvaluation, CartInput, ProductView, SITE_PATTERN, SKU_PATTERN } from '../../../../domain/model.js';
import { BODY_ERRORS, IDEMPOTENCY_ERRORS, PUBLIC, UPSTREAM_ERRORS, problemResponses } from '../../../../openapi.js';
import { GatewayError } from '../../../../errors.js';
import type { Gateway } from '../../../../gateway.js';
import { scopeOf } from '../../../../request-scope.js';
import { loadProducts, productView } from '../../../../composition/products.js';
import { evaluateCart } from '../../../../composition/carts.js';

export const MAX_BATCH = 100;
const SiteParams = Type.Object({ site: Type.String({ pattern: SITE_PATTERN }) });
const ProductParams = Type.Object({ site: Type.String({ pattern: SITE_PATTERN }), sku: Type.String({ pattern: SKU_PATTERN }) });
const BatchQuery = Type.Object({
  skus: Type.String({ minLength: 1, maxLength: 100 * 65, description: `Comma-separated SKUs, at most ${MAX_BATCH}` }),
});
const BatchResponse = Type.Object({
  products: Type.Array(ProductView),
  missing: Type.Array(Type.String(), { description: 'well-formed SKUs the catalog does not know' }),
});
const errors = problemResponses(UPSTREAM_ERRORS);
const skuRe = new RegExp(SKU_PATTERN);

function parseSkus(raw: string): string[] {
  const skus = [...new Set(raw.split(',').map((s) => s.trim()).filter(Boolean))];
  const bad = skus.filter((s) => !skuRe.test(s));
  if (skus.length === 0) throw new GatewayError(400, 'GW_ERR_REQUEST_INVALID', 'skus must list at least one SKU');
  if (bad.length) throw new GatewayError(400, 'GW_ERR_REQUEST_INVALID', `malformed SKU(s): ${bad.slice(0, 5).join(', ')}`);
  if (skus.length > MAX_BATCH) throw new GatewayError(400, 'GW_ERR_REQUEST_INVALID', `at most ${MAX_BATCH} SKUs per request (got ${skus.length})`);
  return skus;
}

export default async function apiV1Routes(app: FastifyInstance, opts: { gw: Gateway }): Promise<void> {
  const { gw } = opts;

  app.get<{ Params: Static<typeof ProductParams> }>(
    '/sites/:site/products/:sku',
    { schema: { operationId: 'getProduct', summary: 'One product view', tags: ['products'], security: PUBLIC, params: ProductParams, response: { 200: ProductView, ...errors } } },
    async (request) => {
      const { site, sku } = request.params;
      const info = await gw.sites.get(site);
      const scope = scopeOf(gw, request, { site, currency: info.currency, channel: 'api' });
      const view = productView(await loadProducts(gw, scope, info, [sku]), sku);
      if (!view) throw new GatewayError(404, 'GW_ERR_PRODUCT_NOT_FOUND', `product ${sku} not found in site ${site}`);
      return view;
    },
  );

  app.get<{ Params: Static<typeof SiteParams>; Querystring: Static<typeof BatchQuery> }>(
    '/sites/:site/products',
    {
      schema: {
        operationId: 'getProducts',
        security: PUBLIC,
        summary: `Many product views (≤ ${MAX_BATCH}); one upstream call per context per backend`,
        tags: ['products'],
        params: SiteParams,
        querystring: BatchQuery,
        response: { 200: BatchResponse, ...errors },
      },
    },
    async (request) => {
      const { site } = request.params;
      const skus = parseSkus(request.query.skus);
      const info = await gw.sites.get(site);
      const scope = scopeOf(gw, request, { site, currency: info.currency, channel: 'api' });
      const parts = await loadProducts(gw, scope, info, skus);
      const products = [];
      const missing = [];
      for (const sku of skus) {
        const v = productView(parts, sku);
        if (v) products.push(v);
        else missing.push(sku);
      }
      return { products, missing };
    },
  );

  app.post<{ Params: Static<typeof SiteParams>; Body: Static<typeof CartInput> }>(
    '/sites/:site/carts/evaluate',
    {
      config: { idempotent: 'stateless' },
      schema: {
        operationId: 'evaluateCart',
        summary: 'Price a cart and apply promotions (stateless)',
        tags: ['carts'],
        security: PUBLIC,
        params: SiteParams,
        body: CartInput,
        response: { 200: CartEvaluation, ...problemResponses(UPSTREAM_ERRORS, BODY_ERRORS, IDEMPOTENCY_ERRORS) },
      },
    },
    async (request) => {
      const { site } = request.params;
      const info = await gw.sites.get(site);
      const scope = scopeOf(gw, request, { site, currency: info.currency, channel: 'api' });
      return evaluateCart(gw, scope, info, request.body.entries);
    },
  );
}
