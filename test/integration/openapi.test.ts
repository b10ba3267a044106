/**
 * The OpenAPI document at /docs/json against the gateway that serves it: structurally valid
 * OpenAPI 3.1 (@seriousme/openapi-schema-validator, offline), linted for what a client
 * generator needs (operationId, summary, security, problem+json errors, 415 where a body is
 * taken), and every documented operation called for real against the embedded world, success
 * and typical errors, each answer checked against the document: status declared, content type
 * declared, body valid against the declared schema (ajv, JSON Schema 2020-12 as OpenAPI 3.1 uses).
 */
import t from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { Validator } from '@seriousme/openapi-schema-validator';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { startWorld } from '../helpers/world.js';

const TOKEN = 'openapi-admin-token-0123456789';
const SITE = 'electronics-spa';
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const;

interface MediaType {
  schema?: object;
}
interface Operation {
  operationId?: string;
  summary?: string;
  tags?: string[];
  security?: Record<string, string[]>[];
  requestBody?: { content: Record<string, MediaType> };
  responses: Record<string, { description?: string; content?: Record<string, MediaType> }>;
}
interface Document {
  openapi: string;
  paths: Record<string, Partial<Record<(typeof METHODS)[number], Operation>>>;
  components?: { securitySchemes?: Record<string, { type: string; scheme?: string }> };
}

t.test('the OpenAPI document is valid, linted, and every live answer conforms to it', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'strangler-openapi-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const w = await startWorld(t, { pricing: 100 }, { ADMIN_TOKEN: TOKEN, AUDIT_LOG_PATH: join(dir, 'audit.jsonl'), SHED_EVENT_LOOP_DELAY_MS: '0' });
  const docRes = await w.app.inject({ url: '/docs/json' });
  t.equal(docRes.statusCode, 200);
  const doc = docRes.json<Document>();

  // --- structure: the OpenAPI 3.1 schema itself
  const structural = await new Validator().validate(doc as unknown as Parameters<Validator["validate"]>[0]);
  t.ok(structural.valid, `valid OpenAPI ${doc.openapi}: ${JSON.stringify(structural.errors ?? []).slice(0, 2000)}`);

  // --- lint
  const ops = new Map<string, Operation>();
  const ids = new Set<string>();
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const m of METHODS) {
      const op = item[m];
      if (!op) continue;
      const key = `${m.toUpperCase()} ${path}`;
      ops.set(key, op);
      t.ok(op.operationId && !ids.has(op.operationId), `${key}: a unique operationId (${op.operationId})`);
      if (op.operationId) ids.add(op.operationId);
      t.ok(op.summary, `${key}: a summary`);
      t.ok(op.tags?.length, `${key}: tagged`);
      t.ok(Array.isArray(op.security), `${key}: security is declared (an empty list: public)`);
      for (const req of op.security ?? []) for (const scheme of Object.keys(req)) t.ok(doc.components?.securitySchemes?.[scheme], `${key}: security scheme ${scheme} is defined`);
      if (path.startsWith('/admin')) t.same(op.security, [{ adminBearer: [] }], `${key}: admin operations need the bearer token`);
      for (const [status, r] of Object.entries(op.responses)) {
        t.ok(r.description, `${key} ${status}: described`);
        if (Number(status) >= 400) t.same(Object.keys(r.content ?? {}), ['application/problem+json'], `${key} ${status}: errors are problem+json`);
      }
      if (op.requestBody) for (const s of ['413', '415']) t.ok(op.responses[s], `${key}: takes a body, so declares ${s}`);
    }
  }
  t.ok(ops.size >= 7, `the storefront and admin operations are documented (${[...ops.keys()].join(', ')})`);
  t.notOk([...ops.keys()].some((k) => /\{\*\}|\/occ\//.test(k)), 'no passthrough or OCC routes (not the gateway API)');

  // --- live answers
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats.default(ajv);
  const covered = new Map<string, Set<number>>();
  const admin = { authorization: `Bearer ${TOKEN}`, 'x-actor': 'openapi-test' };

  async function call(opKey: string, req: InjectOptions, expectStatus: number): Promise<void> {
    const res: LightMyRequestResponse = await w.app.inject(req);
    const label = `${opKey} → ${res.statusCode} (${req.method ?? 'GET'} ${req.url})`;
    t.equal(res.statusCode, expectStatus, `${label}: the expected status`);
    const op = ops.get(opKey);
    if (!op) return void t.fail(`${opKey} is not in the document`);
    covered.set(opKey, (covered.get(opKey) ?? new Set()).add(res.statusCode));
    const declared = op.responses[String(res.statusCode)];
    if (!declared) return void t.fail(`${label}: status not declared (declared: ${Object.keys(op.responses).join(', ')})`);
    const mediaType = String(res.headers['content-type'] ?? '').split(';')[0]!.trim();
    const media = declared.content?.[mediaType];
    if (!media) return void t.fail(`${label}: content-type ${mediaType} not declared (declared: ${Object.keys(declared.content ?? {}).join(', ')})`);
    if (!media.schema) return;
    const validate = ajv.compile(media.schema);
    const ok = validate(res.json());
    t.ok(ok, `${label}: body valid against the declared schema ${ok ? '' : JSON.stringify(validate.errors).slice(0, 600)}`);
  }

  const product = 'GET /api/v1/sites/{site}/products/{sku}';
  await call(product, { url: `/api/v1/sites/${SITE}/products/1000001` }, 200);
  await call(product, { url: `/api/v1/sites/${SITE}/products/9999999` }, 404);
  await call(product, { url: `/api/v1/sites/no-such-site/products/1000001` }, 404);
  await call(product, { url: `/api/v1/sites/${SITE}/products/not%20a%20sku` }, 400);

  const products = 'GET /api/v1/sites/{site}/products';
  await call(products, { url: `/api/v1/sites/${SITE}/products?skus=1000001,1000002,9999999` }, 200);
  await call(products, { url: `/api/v1/sites/${SITE}/products` }, 400);
  await call(products, { url: `/api/v1/sites/${SITE}/products?skus=bad%20sku` }, 400);

  const evaluate = 'POST /api/v1/sites/{site}/carts/evaluate';
  const cart = { entries: [{ sku: '1000001', quantity: 2 }] };
  const url = `/api/v1/sites/${SITE}/carts/evaluate`;
  await call(evaluate, { method: 'POST', url, payload: cart }, 200);
  await call(evaluate, { method: 'POST', url, payload: { entries: [] } }, 400);
  await call(evaluate, { method: 'POST', url, headers: { 'content-type': 'application/json' }, payload: '{"entries": [' }, 400);
  await call(evaluate, { method: 'POST', url, payload: { entries: [{ sku: '9999999', quantity: 1 }] } }, 404);
  await call(evaluate, { method: 'POST', url, headers: { 'content-type': 'text/plain' }, payload: 'sku=1000001' }, 415);
  await call(evaluate, { method: 'POST', url, headers: { 'content-type': 'application/json' }, payload: `{"entries":[],"pad":"${'x'.repeat(1_100_000)}"}` }, 413);
  await call(evaluate, { method: 'POST', url, headers: { 'idempotency-key': 'openapi-key-1' }, payload: cart }, 200);
  await call(evaluate, { method: 'POST', url, headers: { 'idempotency-key': 'openapi-key-1' }, payload: { entries: [{ sku: '1000002', quantity: 1 }] } }, 422);

  const routes = 'GET /admin/routes';
  await call(routes, { url: '/admin/routes', headers: admin }, 200);
  await call(routes, { url: '/admin/routes' }, 401);
  await call(routes, { url: '/admin/routes', headers: { authorization: 'Bearer wrong-token-0123456789' } }, 401);

  const setRoute = 'PUT /admin/routes/{context}';
  await call(setRoute, { method: 'PUT', url: '/admin/routes/pricing', headers: admin, payload: { percent: 50, reason: 'openapi test' } }, 200);
  await call(setRoute, { method: 'PUT', url: '/admin/routes/pricing', headers: admin, payload: { percent: 101 } }, 400);
  await call(setRoute, { method: 'PUT', url: '/admin/routes/nope', headers: admin, payload: { percent: 1 } }, 404);
  await call(setRoute, { method: 'PUT', url: '/admin/routes/pricing', headers: { ...admin, 'content-type': 'text/plain' }, payload: 'percent=1' }, 415);

  const kill = 'POST /admin/routes/{context}/kill';
  await call(kill, { method: 'POST', url: '/admin/routes/pricing/kill', headers: admin, payload: { reason: 'openapi test' } }, 200);
  await call(kill, { method: 'POST', url: '/admin/routes/nope/kill', headers: admin }, 404);

  const audit = 'GET /admin/audit';
  await call(audit, { url: '/admin/audit?limit=5', headers: admin }, 200);
  await call(audit, { url: '/admin/audit?limit=0', headers: admin }, 400);

  const parityList = 'GET /admin/parity';
  await call(parityList, { url: '/admin/parity', headers: admin }, 200);
  const parity = 'GET /admin/parity/{context}';
  await call(parity, { url: '/admin/parity/pricing', headers: admin }, 200);
  await call(parity, { url: '/admin/parity/nope', headers: admin }, 404);
  const rollouts = 'GET /admin/rollouts';
  const rollout = 'GET /admin/rollouts/{context}';
  const start = 'POST /admin/rollouts/{context}';
  const action = 'POST /admin/rollouts/{context}/{action}';
  await call(rollout, { url: '/admin/rollouts/inventory', headers: admin }, 404);
  await call(start, { method: 'POST', url: '/admin/rollouts/inventory', headers: admin, payload: { steps: [10, 100], hold: '1h', reason: 'openapi test' } }, 201);
  await call(start, { method: 'POST', url: '/admin/rollouts/inventory', headers: admin, payload: { steps: [10], hold: 0 } }, 409);
  await call(start, { method: 'POST', url: '/admin/rollouts/inventory', headers: admin, payload: { steps: [], hold: '1h' } }, 400);
  await call(rollout, { url: '/admin/rollouts/inventory', headers: admin }, 200);
  await call(rollouts, { url: '/admin/rollouts', headers: admin }, 200);
  await call(action, { method: 'POST', url: '/admin/rollouts/inventory/pause', headers: admin, payload: { reason: 'openapi test' } }, 200);
  await call(action, { method: 'POST', url: '/admin/rollouts/inventory/pause', headers: admin }, 409);
  const limits = 'PUT /admin/rollouts/{context}/limits';
  await call(limits, { method: 'PUT', url: '/admin/rollouts/inventory/limits', headers: admin, payload: { guardrails: { p99Ratio: { threshold: 2 } }, reason: 'openapi test' } }, 200);
  await call(limits, { method: 'PUT', url: '/admin/rollouts/inventory/limits', headers: admin, payload: { guardrails: { p99Ratio: { threshold: -1 } } } }, 400);
  await call(action, { method: 'POST', url: '/admin/rollouts/inventory/abort', headers: admin }, 200);

  const setOverride = 'PUT /admin/routes/{context}/override';
  const clearOverride = 'DELETE /admin/routes/{context}/override';
  const overrides = 'GET /admin/overrides';
  await call(setOverride, { method: 'PUT', url: '/admin/routes/inventory/override', headers: admin, payload: { reason: 'openapi test' } }, 200);
  await call(setOverride, { method: 'PUT', url: '/admin/routes/inventory/override', headers: admin, payload: {} }, 400);
  await call(overrides, { url: '/admin/overrides', headers: admin }, 200);
  await call(clearOverride, { method: 'DELETE', url: '/admin/routes/inventory/override', headers: admin }, 200);
  await call(clearOverride, { method: 'DELETE', url: '/admin/routes/nope/override', headers: admin }, 404);

  t.same([...ops.keys()].filter((k) => !covered.has(k)), [], 'every documented operation was called');
});
