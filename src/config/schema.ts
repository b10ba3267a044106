/**
 * The gateway's environment contract (DESIGN §2). One schema is the source of the config type,
 * of boot-time validation and of the README's configuration table.
 */
import { Type, type Static } from '@sinclair/typebox';

const url = (description: string) => Type.String({ pattern: '^https?://[^\\s/]+(/[^\\s]*)?$', description });

export const EnvSchema = Type.Object({
  HOST: Type.String({ default: '127.0.0.1', description: 'Address the gateway listens on' }),
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 8080, description: 'Port the gateway listens on' }),
  GATEWAY_WORKERS: Type.Union([Type.Integer({ minimum: 1, maximum: 256 }), Type.Literal('auto')], {
    default: 1,
    description: 'Worker processes sharing the port (node:cluster); 1: a single process; auto: one per available core (docs/scale-out.md)',
  }),
  GATEWAY_INSTANCES: Type.Integer({
    minimum: 1,
    default: 1,
    description: 'Gateway instances (hosts, pods) serving the same traffic; above 1 with flag files, /admin refuses flag changes (409): files are a single-host mode',
  }),
  LEGACY_URL: Type.Optional(url('Legacy commerce monolith (OCC v2). Required in production; unset under the embedded entry: simulator on 127.0.0.1:8081')),
  PRICING_URL: Type.Optional(url('New pricing service. Required in production; unset under the embedded entry: simulator on 127.0.0.1:8082')),
  INVENTORY_URL: Type.Optional(url('New inventory service. Required in production; unset under the embedded entry: simulator on 127.0.0.1:8083')),
  PROMOTIONS_URL: Type.Optional(url('New promotions service. Required in production; unset under the embedded entry: simulator on 127.0.0.1:8084')),
  FLAGS_DIR: Type.String({ default: 'flags', description: 'Directory of Unleash-format flag files (used when UNLEASH_URL is unset); hot-reloaded' }),
  UNLEASH_URL: Type.Optional(url('Unleash server API URL, e.g. http://unleash:4242/api')),
  UNLEASH_API_TOKEN: Type.Optional(Type.String({ minLength: 1, description: 'Unleash client (backend) token; required with UNLEASH_URL' })),
  UNLEASH_APP_NAME: Type.String({ default: 'strangler-gateway', description: 'appName reported to Unleash' }),
  UNLEASH_REFRESH_MS: Type.Integer({ minimum: 100, default: 1000, description: 'How often flags are fetched from Unleash' }),
  UNLEASH_ADMIN_TOKEN: Type.Optional(Type.String({ minLength: 1, description: 'Unleash admin token (or PAT) for the Admin API; unset: /admin cannot change flags that live in Unleash' })),
  UNLEASH_PROJECT: Type.String({ minLength: 1, default: 'default', description: 'Unleash project holding the route.* flags' }),
  UNLEASH_ENVIRONMENT: Type.Optional(Type.String({ minLength: 1, description: 'Unleash environment the admin API writes to; unset: the one in UNLEASH_API_TOKEN (project:env.secret), else development' })),
  UPSTREAM_TIMEOUT_MS: Type.Integer({ minimum: 1, default: 2000, description: 'Timeout for one upstream call (headers and body)' }),
  UPSTREAM_CONNECTIONS: Type.Integer({ minimum: 1, default: 64, description: 'Keep-alive connections per upstream pool' }),
  LEGACY_TIMEOUT_MS: Type.Optional(Type.Integer({ minimum: 1, description: 'Per-call timeout for legacy (default: UPSTREAM_TIMEOUT_MS)' })),
  PRICING_TIMEOUT_MS: Type.Optional(Type.Integer({ minimum: 1, description: 'Per-call timeout for pricing (default: UPSTREAM_TIMEOUT_MS)' })),
  INVENTORY_TIMEOUT_MS: Type.Optional(Type.Integer({ minimum: 1, description: 'Per-call timeout for inventory (default: UPSTREAM_TIMEOUT_MS)' })),
  PROMOTIONS_TIMEOUT_MS: Type.Optional(Type.Integer({ minimum: 1, description: 'Per-call timeout for promotions (default: UPSTREAM_TIMEOUT_MS)' })),
  REQUEST_BUDGET_MS: Type.Integer({ minimum: 1, default: 5000, description: 'Time budget of one inbound request across all its upstream calls and retries' }),
  BREAKER_ERROR_PERCENT: Type.Integer({ minimum: 1, maximum: 100, default: 50, description: 'Failure percentage (over the rolling window) that opens an upstream breaker' }),
  BREAKER_VOLUME: Type.Integer({ minimum: 1, default: 10, description: 'Calls in the rolling window before a breaker may open' }),
  BREAKER_WINDOW_MS: Type.Integer({ minimum: 100, default: 10000, description: 'Rolling window of the breaker statistics' }),
  BREAKER_RESET_MS: Type.Integer({ minimum: 50, default: 5000, description: 'How long a breaker stays open before a half-open probe' }),
  RETRY_MAX: Type.Integer({ minimum: 0, maximum: 5, default: 1, description: 'Retries of a safe upstream call (idempotent or with Idempotency-Key)' }),
  RETRY_BUDGET_PERCENT: Type.Integer({ minimum: 0, maximum: 100, default: 10, description: 'Retries allowed as a share of calls per second per upstream (at least 5/s)' }),
  FALLBACK_CONTEXTS: Type.String({ default: 'pricing,inventory,promotions', description: 'Contexts whose reads fall back to legacy when the new service fails ("" or "none": no fallback)' }),
  IDEMPOTENCY_TTL_S: Type.Integer({ minimum: 1, default: 86400, description: 'How long an Idempotency-Key and its response are kept' }),
  SHED_EVENT_LOOP_DELAY_MS: Type.Integer({ minimum: 0, default: 1000, description: 'Event-loop delay above which requests are shed with 503 (0 = off)' }),
  SHED_HEAP_BYTES: Type.Integer({ minimum: 0, default: 0, description: 'Heap used above which requests are shed (0 = off)' }),
  SHED_RSS_BYTES: Type.Integer({ minimum: 0, default: 0, description: 'RSS above which requests are shed (0 = off)' }),
  SHUTDOWN_DRAIN_MS: Type.Integer({ minimum: 0, default: 1000, description: 'On SIGTERM, how long to keep accepting (readiness failing) before closing the listener' }),
  SHUTDOWN_GRACE_MS: Type.Integer({ minimum: 0, default: 10000, description: 'On SIGTERM, how long in-flight requests get to finish' }),
  BODY_LIMIT: Type.Integer({ minimum: 1024, default: 1048576, description: 'Largest request body accepted, in bytes (413 above)' }),
  LEGACY_PASSTHROUGH_PREFIXES: Type.String({
    default: '/occ/v2/,/medias/,/authorizationserver/',
    description: 'Comma-separated path prefixes proxied unchanged to legacy; anything else is 404',
  }),
  ADMIN_TOKEN: Type.Optional(Type.String({ minLength: 16, description: 'Bearer token for /admin (unset: admin disabled)' })),
  AUDIT_LOG_PATH: Type.String({ minLength: 1, default: 'var/audit.jsonl', description: 'Append-only JSONL file of every admin change (fsynced before the change is acknowledged)' }),
  REDIS_URL: Type.Optional(Type.String({ pattern: '^rediss?://', description: 'Redis for shared state (reserved; unset: in-process)' })),
  AMQP_URL: Type.Optional(Type.String({ pattern: '^amqps?://', description: 'AMQP broker for domain events (reserved; unset: in-process)' })),
  OTEL_EXPORTER_OTLP_ENDPOINT: Type.Optional(url('OTLP/HTTP collector base URL; traces go to <url>/v1/traces. Unset: spans are not exported (trace ids are still made, propagated and logged)')),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: Type.Optional(url('Full OTLP/HTTP traces URL; overrides OTEL_EXPORTER_OTLP_ENDPOINT for traces')),
  OTEL_SERVICE_NAME: Type.String({ minLength: 1, default: 'strangler-gateway', description: 'service.name of the exported spans' }),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
    { default: 'info', description: 'pino log level' },
  ),
});
export type Env = Static<typeof EnvSchema>;
