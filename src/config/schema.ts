/**
 * The gateway's environment contract. One schema is the source of the config type, of boot-time
 * validation and of the README's configuration table. The entries of each bounded context
 * (`<CONTEXT>_URL`, `<CONTEXT>_TIMEOUT_MS`) come from the context list (src/contexts/names.ts):
 * `envSchema()` adds them to the fixed entries below.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { contextIdentities, LEGACY_UPSTREAM } from '../contexts/names.js';

const fraction = (dflt: string, description: string) => Type.String({ pattern: '^[0-9]+(\\.[0-9]+)?$', default: dflt, description: `${description} (a decimal, e.g. ${dflt})` });
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
  REQUEST_BUDGET_MS: Type.Integer({ minimum: 1, default: 5000, description: 'Time budget of one inbound request across all its upstream calls and retries' }),
  BREAKER_ERROR_PERCENT: Type.Integer({ minimum: 1, maximum: 100, default: 50, description: 'Failure percentage (over the rolling window) that opens an upstream breaker' }),
  BREAKER_VOLUME: Type.Integer({ minimum: 1, default: 10, description: 'Calls in the rolling window before a breaker may open' }),
  BREAKER_WINDOW_MS: Type.Integer({ minimum: 100, default: 2000, description: 'Rolling window of the breaker statistics' }),
  BREAKER_RESET_MS: Type.Integer({ minimum: 50, default: 1000, description: 'How long a breaker stays open before a half-open probe (whose answer closes it)' }),
  BREAKER_CONSECUTIVE: Type.Integer({ minimum: 0, default: 5, description: 'Failures in a row that open a breaker whatever the window holds (0 = off)' }),
  BREAKER_SLOW_MS: Type.Integer({ minimum: 0, default: 1000, description: 'An upstream call still pending after this long counts as a breaker failure at once (0 = off)' }),
  RETRY_MAX: Type.Integer({ minimum: 0, maximum: 5, default: 1, description: 'Retries of a safe upstream call (idempotent or with Idempotency-Key)' }),
  RETRY_BUDGET_PERCENT: Type.Integer({ minimum: 0, maximum: 100, default: 10, description: 'Retries allowed as a share of calls per second per upstream (at least 5/s)' }),
  FALLBACK_CONTEXTS: Type.Optional(Type.String({ description: 'Contexts whose reads fall back to legacy when the new service fails ("" or "none": no fallback; unset: every context)' })),
  IDEMPOTENCY_TTL_S: Type.Integer({ minimum: 1, default: 86400, description: 'How long an Idempotency-Key and its response are kept' }),
  IDEMPOTENCY_LEASE_MS: Type.Integer({ minimum: 100, default: 5000, description: 'Lease of an in-flight Idempotency-Key, renewed while its request runs; lapsed (gateway crash, store lost): outcome unknown' }),
  IDEMPOTENCY_REDIS_PREFIX: Type.String({ minLength: 1, default: 'strangler:idem:', description: 'Prefix of the Idempotency-Key entries in Redis' }),
  SHED_EVENT_LOOP_DELAY_MS: Type.Integer({ minimum: 0, default: 1000, description: 'Event-loop delay above which requests are shed with 503 (0 = off)' }),
  SHED_HEAP_BYTES: Type.Integer({ minimum: 0, default: 0, description: 'Heap used above which requests are shed (0 = off)' }),
  SHED_RSS_BYTES: Type.Integer({ minimum: 0, default: 0, description: 'RSS above which requests are shed (0 = off)' }),
  SHUTDOWN_DRAIN_MS: Type.Integer({ minimum: 0, default: 1000, description: 'On SIGTERM, how long to keep accepting (readiness failing) before closing the listener' }),
  SHUTDOWN_GRACE_MS: Type.Integer({ minimum: 0, default: 10000, description: 'On SIGTERM, how long in-flight requests get to finish' }),
  BODY_LIMIT: Type.Integer({ minimum: 1024, default: 1048576, description: 'Largest request body accepted, in bytes (413 above)' }),
  HEADERS_TIMEOUT_MS: Type.Integer({ minimum: 1000, default: 10000, description: 'How long a client has to send the request headers; then the connection is closed (408)' }),
  REQUEST_TIMEOUT_MS: Type.Integer({ minimum: 1000, default: 30000, description: 'How long a client has to send the whole request (headers and body); then 408. At least HEADERS_TIMEOUT_MS' }),
  LEGACY_PASSTHROUGH_PREFIXES: Type.String({
    default: '/occ/v2/,/medias/,/authorizationserver/',
    description: 'Comma-separated path prefixes proxied unchanged to legacy; anything else is 404',
  }),
  ADMIN_TOKEN: Type.Optional(Type.String({ minLength: 16, description: 'Bearer token for /admin (unset: admin disabled)' })),
  CONSOLE_SESSION_TTL_S: Type.Integer({ minimum: 1, default: 28800, description: 'Lifetime of an operator console session (its cookie) after login; then the operator logs in again (docs/console.md)' }),
  CONSOLE_ASSETS_DIR: Type.Optional(Type.String({ minLength: 1, description: 'Built console SPA served under /console (default: dist/console of the package, made by `npm run build`)' })),
  AUDIT_LOG_PATH: Type.String({ minLength: 1, default: 'var/audit.jsonl', description: 'Append-only JSONL file of every admin change (fsynced before the change is acknowledged)' }),
  REDIS_URL: Type.Optional(Type.String({ pattern: '^rediss?://', description: 'Redis for shared state (Idempotency-Keys, sticky bindings, the audit trail); unset: in-process' })),
  AUDIT_STREAM_KEY: Type.String({ minLength: 1, default: 'strangler:audit', description: 'With REDIS_URL: the Redis stream every instance shares as its audit trail (instead of AUDIT_LOG_PATH); on Redis Cluster give it a hash tag ({strangler}:audit)' }),
  AUDIT_STREAM_MAXLEN: Type.Integer({ minimum: 100, default: 100000, description: 'With REDIS_URL: the audit stream keeps about this many newest entries (XADD MAXLEN ~)' }),
  STICKY_COOKIE_NAME: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$', default: 'strangler_sticky', description: 'Name of the signed cookie the gateway sets on a client with no identity, so it keeps its arms (docs/stickiness.md)' }),
  STICKY_COOKIE_SECURE: Type.Union([Type.Literal('true'), Type.Literal('false')], { default: 'true', description: 'Send the sticky cookie with `Secure` (false only for plain-HTTP development)' }),
  STICKY_SECRET: Type.Optional(Type.String({ minLength: 32, description: 'HMAC key of the sticky cookie and of token/address hashes. Unset: random per process, so set the same value on every instance' })),
  STICKY_TTL_S: Type.Integer({ minimum: 60, default: 2592000, description: 'Lifetime of the sticky cookie and of the cart/login bindings that keep a shopper on its arms' }),
  STICKY_MAX_BINDINGS: Type.Integer({ minimum: 1, default: 100000, description: 'Bindings kept in memory without REDIS_URL (the oldest go first)' }),
  STICKY_REDIS_PREFIX: Type.String({ minLength: 1, default: 'strangler:sticky:', description: 'Prefix of the binding keys in Redis' }),
  AMQP_URL: Type.Optional(Type.String({ pattern: '^amqps?://', description: 'AMQP broker: domain events in (commerce.events), gateway events out (gateway.events); unset: events stay in-process (docs/events.md)' })),
  AMQP_RECONNECT_MIN_MS: Type.Integer({ minimum: 10, default: 100, description: 'First delay before reconnecting to the broker; doubles per failed attempt (with jitter)' }),
  AMQP_RECONNECT_MAX_MS: Type.Integer({ minimum: 10, default: 30000, description: 'Longest delay between reconnection attempts' }),
  EVENTS_OUTBOX_MAX: Type.Integer({ minimum: 1, default: 10000, description: 'Gateway events kept while the broker is down or unconfirmed; beyond it the oldest are dropped (counted and logged)' }),
  EVENTS_DEDUPE_TTL_S: Type.Integer({ minimum: 1, default: 3600, description: 'How long a domain event id is remembered, so a redelivery is not delivered twice' }),
  EVENTS_DEDUPE_MAX: Type.Integer({ minimum: 1, default: 100000, description: 'Domain event ids remembered at most (the oldest go first)' }),
  CACHE_ENABLED: Type.Union([Type.Literal('true'), Type.Literal('false')], {
    default: 'false',
    description: 'Data cache of context reads and the catalog, per the policies in the context descriptors (docs/caching.md); HTTP validators (ETag, 304) are on either way',
  }),
  CACHE_MAX_BYTES: Type.Integer({ minimum: 65536, default: 33554432, description: 'Bound of the in-process data cache, in (estimated) bytes; keep it well under the heap limit' }),
  CACHE_REDIS_PREFIX: Type.String({ minLength: 1, default: 'strangler:cache:', description: 'Prefix of the data cache entries in Redis (the shared tier, when REDIS_URL is set)' }),
  CACHE_CONTROL_OCC: Type.String({ minLength: 1, default: 'private, no-cache', description: 'Cache-Control of OCC GET answers (with a strong ETag; revalidation gets 304)' }),
  CACHE_CONTROL_API: Type.String({ minLength: 1, default: 'public, no-cache', description: 'Cache-Control of canonical REST GET answers' }),
  CACHE_CONTROL_GRAPHQL: Type.String({ minLength: 1, default: 'public, no-cache', description: 'Cache-Control of GraphQL GET answers (queries only)' }),
  SHADOW_MAX_CONCURRENT: Type.Integer({ minimum: 1, default: 16, description: 'Shadow calls in flight at once, every context together; a sampled read past it is shed (docs/parity.md)' }),
  SHADOW_MAX_PER_SECOND: Type.Integer({ minimum: 1, default: 100, description: 'Shadow calls started per second, every context together; a sampled read past it is shed' }),
  SHADOW_MAX_EVENT_LOOP_DELAY_MS: Type.Integer({ minimum: 0, default: 50, description: 'Event-loop delay (worst of the last half second) above which sampled reads are shed instead of shadowed (0 = off)' }),
  SHADOW_ISOLATION: Type.Union([Type.Literal('process'), Type.Literal('inline')], {
    default: 'inline',
    description:
      'Where shadow calls and comparisons run: `inline`, on the gateway\'s own event loop, or `process`, a child process at a lower OS priority with its own upstream connections and breakers (docs/parity.md)',
  }),
  SHADOW_PROCESS_NICE: Type.Integer({ minimum: 0, maximum: 19, default: 19, description: 'OS niceness of the shadow process (SHADOW_ISOLATION=process): 19 runs it only on CPU the gateway leaves idle' }),
  PARITY_SAMPLES: Type.Integer({ minimum: 0, maximum: 1000, default: 20, description: 'Mismatch samples kept per context (redacted canonical payloads, for GET /admin/parity/<ctx>)' }),
  PARITY_TOP_FIELDS: Type.Integer({ minimum: 1, maximum: 1000, default: 20, description: 'Distinct mismatching field paths counted per context; later ones count as "other" (bounded metric labels)' }),
  PARITY_ALARM_RATE: Type.Number({ minimum: 0, maximum: 1, default: 0.01, description: 'Mismatch rate (mismatches / compared) over the alarm window that emits a parity.alarm event' }),
  PARITY_ALARM_WINDOW_MS: Type.Integer({ minimum: 1000, default: 60000, description: 'Sliding window of the parity alarm' }),
  PARITY_ALARM_MIN_SAMPLES: Type.Integer({ minimum: 1, default: 50, description: 'Comparisons in the window before the parity alarm may fire' }),
  PARITY_REDIS_PREFIX: Type.String({ minLength: 1, default: 'strangler:parity:', description: 'Prefix of the per-context parity count hashes in Redis (sharedCounts across instances)' }),
  ROLLOUT_TICK_MS: Type.Integer({ minimum: 10, default: 1000, description: 'How often the rollout controller judges running rollouts (docs/rollouts.md)' }),
  ROLLOUT_MIN_SAMPLES: Type.Integer({ minimum: 1, default: 200, description: 'Requests per arm a rollout step needs before its guardrails judge it (parity: comparisons)' }),
  ROLLOUT_P99_MIN_SAMPLES: Type.Optional(
    Type.Integer({ minimum: 1, description: 'Requests per arm the p99 guardrail needs before it judges a step; unset: ROLLOUT_MIN_SAMPLES. A p99 of N requests rests on its N/100 slowest' }),
  ),
  ROLLOUT_ERROR_RATE_DELTA: fraction('0.01', "Guardrail: the new arm's 5xx rate minus legacy's above which a rollout rolls back"),
  ROLLOUT_P99_RATIO: fraction('1.5', "Guardrail: the new arm's p99 over legacy's above which a rollout rolls back"),
  ROLLOUT_P99_FLOOR_MS: Type.Integer({ minimum: 0, default: 25, description: 'Latencies below this count as this in the p99 ratio (two fast arms are not "3x slower")' }),
  ROLLOUT_FALLBACK_RATE: fraction('0.02', "Guardrail: share of the new arm's requests answered by legacy (fallback) above which a rollout rolls back"),
  ROLLOUT_PARITY_MISMATCH_RATE: fraction('0.005', 'Guardrail: shadow-comparison mismatch rate above which a rollout rolls back'),
  ROLLOUT_LEASE_MS: Type.Integer({ minimum: 100, default: 10000, description: 'Lease (Redis) of the instance that runs the rollout controller; renewed every tick' }),
  ROLLOUT_REDIS_PREFIX: Type.String({ minLength: 1, default: 'strangler:rollout:', description: 'Prefix of the rollout state, lease, per-arm figures and kill overrides in Redis' }),
  OTEL_EXPORTER_OTLP_ENDPOINT: Type.Optional(url('OTLP/HTTP collector base URL; traces go to <url>/v1/traces. Unset: spans are not exported (trace ids are still made, propagated and logged)')),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: Type.Optional(url('Full OTLP/HTTP traces URL; overrides OTEL_EXPORTER_OTLP_ENDPOINT for traces')),
  OTEL_SERVICE_NAME: Type.String({ minLength: 1, default: 'strangler-gateway', description: 'service.name of the exported spans' }),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
    { default: 'info', description: 'pino log level' },
  ),
});
/** The fixed entries' values; the per-context ones are read by key (see ContextIdentity). */
export type Env = Static<typeof EnvSchema>;

/** `SHADOW_<CTX>_PERCENT`: the env key of a context's shadow sample share. */
export function shadowPercentEnv(context: string): string {
  return `SHADOW_${context.toUpperCase().replace(/-/g, '_')}_PERCENT`;
}

/** `SHADOW_<CTX>_IGNORE|UNORDERED|TOLERANCE`: an operator's comparison rules for a context, over its policy's. */
export function shadowRuleEnv(context: string, kind: 'IGNORE' | 'UNORDERED' | 'TOLERANCE'): string {
  return `SHADOW_${context.toUpperCase().replace(/-/g, '_')}_${kind}`;
}

/** A comparison rule's field pattern (docs/parity.md): `prices.*.amount`, `list[].code`. */
const RULE = '[A-Za-z0-9_$*-]+(\\[\\])*(\\.[A-Za-z0-9_$*-]+(\\[\\])*)*';
const RULE_LIST = `^\\s*${RULE}(\\s*,\\s*${RULE})*\\s*$`;
const TOLERANCE_LIST = `^\\s*${RULE}=[0-9]+(\\.[0-9]+)?(\\s*,\\s*${RULE}=[0-9]+(\\.[0-9]+)?)*\\s*$`;

/** Every entry: the fixed ones and, for each context in the list now, its URL and timeout. */
export function envSchema(): typeof EnvSchema {
  const perContext: Record<string, TSchema> = {};
  for (const { name, upstream } of contextIdentities()) {
    perContext[upstream.urlEnv] = Type.Optional(url(`New ${name} service. Required in production; unset under the embedded entry: simulator on 127.0.0.1:${upstream.embeddedPort}`));
    perContext[upstream.timeoutEnv] = Type.Optional(
      Type.Integer({ minimum: 1, description: `Per-call timeout for ${name} (default: ${upstream.timeoutMs ?? 'UPSTREAM_TIMEOUT_MS'})` }),
    );
    perContext[shadowPercentEnv(name)] = Type.Optional(
      Type.Number({ minimum: 0, maximum: 100, description: `Share (%) of ${name} reads also sent to the other arm and compared (default: the context's policy, else 0; docs/parity.md)` }),
    );
    perContext[shadowRuleEnv(name, 'IGNORE')] = Type.Optional(
      Type.String({ pattern: RULE_LIST, description: `Field patterns of ${name} never compared, comma-separated (e.g. prices.*.formattedValue), added to the context's own` }),
    );
    perContext[shadowRuleEnv(name, 'UNORDERED')] = Type.Optional(
      Type.String({ pattern: RULE_LIST, description: `Lists of ${name} compared without regard to order, comma-separated patterns, added to the context's own` }),
    );
    perContext[shadowRuleEnv(name, 'TOLERANCE')] = Type.Optional(
      Type.String({ pattern: TOLERANCE_LIST, description: `Numbers of ${name} equal within an absolute tolerance, PATTERN=N comma-separated (e.g. prices.*.amount=1: a cent, amounts are minor units), over the context's own` }),
    );
  }
  const { HOST, PORT, LEGACY_URL, LEGACY_TIMEOUT_MS, ...rest } = EnvSchema.properties;
  // legacy first, then the contexts, as the README table lists them
  return Type.Object({
    HOST,
    PORT,
    [LEGACY_UPSTREAM.urlEnv]: LEGACY_URL,
    [LEGACY_UPSTREAM.timeoutEnv]: LEGACY_TIMEOUT_MS,
    ...perContext,
    ...rest,
  }) as unknown as typeof EnvSchema;
}
