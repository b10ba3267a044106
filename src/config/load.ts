import { availableParallelism } from 'node:os';
import { Value } from '@sinclair/typebox/value';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { TypeCheck } from '@sinclair/typebox/compiler';
import { readGraphqlConfig, type GraphqlConfig } from './graphql.js';
import { envSchema, shadowPercentEnv, shadowRuleEnv, type Env } from './schema.js';
import { CONTEXTS, contextIdentities, identityOf, LEGACY_UPSTREAM, type ContextName, type UpstreamName } from '../contexts/names.js';
import type { GuardrailConfig } from '../rollout/guardrails.js';
import type { OperatorRules } from '../parity/policy.js';

// The context names live in the bottom layer of the registry; re-exported for existing callers.
export { CONTEXTS, type ContextName, type UpstreamName };

export interface GatewayConfig {
  readonly host: string;
  readonly port: number;
  /** worker processes sharing the port (GATEWAY_WORKERS, `auto` resolved); 1: no cluster */
  readonly workers: number;
  /** gateway instances serving the same traffic (GATEWAY_INSTANCES); above 1, flag files are read-only to /admin */
  readonly instances: number;
  /** Upstream base URLs; undefined: production refuses to start (requireUpstreams), the embedded entry starts a simulator. */
  readonly upstreams: Readonly<Record<UpstreamName, string | undefined>>;
  readonly flags:
    | { readonly source: 'file'; readonly dir: string }
    | {
        readonly source: 'unleash';
        readonly url: string;
        readonly token: string;
        readonly appName: string;
        readonly refreshMs: number;
        /** Admin API access for /admin writes; undefined leaves Unleash read-only to the gateway */
        readonly admin: { readonly token: string; readonly project: string; readonly environment: string } | undefined;
      };
  readonly upstreamTimeoutMs: number;
  readonly timeouts: Readonly<Record<UpstreamName, number>>;
  readonly requestBudgetMs: number;
  readonly breaker: Readonly<{ errorPercent: number; volume: number; windowMs: number; resetMs: number; consecutive: number; slowMs: number }>;
  readonly retry: Readonly<{ max: number; budgetPercent: number }>;
  readonly fallbackContexts: ReadonlySet<ContextName>;
  readonly idempotencyTtlS: number;
  readonly idempotency: Readonly<{ leaseMs: number; redisPrefix: string }>;
  readonly shed: Readonly<{ eventLoopDelayMs: number; heapBytes: number; rssBytes: number }>;
  readonly shutdownGraceMs: number;
  readonly shutdownDrainMs: number;
  readonly upstreamConnections: number;
  readonly bodyLimit: number;
  /** slow clients: time to send the headers, and the whole request */
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly passthroughPrefixes: readonly string[];
  readonly adminToken: string | undefined;
  readonly auditLogPath: string;
  /** the operator console (src/console): session lifetime, and where its built SPA is (undefined: the package's dist/console) */
  readonly console: Readonly<{ sessionTtlS: number; assetsDir: string | undefined }>;
  /** with redisUrl: the shared audit trail (a Redis stream) instead of the file */
  readonly auditStream: Readonly<{ key: string; maxLen: number }>;
  readonly redisUrl: string | undefined;
  readonly amqpUrl: string | undefined;
  /** the AMQP link (src/events/): reconnect backoff, gateway-event outbox bound, domain-event dedupe window */
  readonly events: Readonly<{ reconnectMinMs: number; reconnectMaxMs: number; outboxMax: number; dedupeTtlMs: number; dedupeMax: number }>;
  /** the data cache (src/cache/) and the HTTP validators' Cache-Control per surface (docs/caching.md) */
  readonly cache: Readonly<{ enabled: boolean; maxBytes: number; redisPrefix: string; control: Readonly<{ occ: string; api: string; graphql: string }> }>;
  /**
   * Shadow traffic and parity (docs/parity.md). `percent` holds the contexts whose
   * SHADOW_<CTX>_PERCENT is set; the others take their descriptor's policy (the composition root).
   */
  readonly shadow: Readonly<{
    percent: Readonly<Partial<Record<ContextName, number>>>;
    /** an operator's comparison rules per context (SHADOW_<CTX>_IGNORE, _UNORDERED, _TOLERANCE), added to the context's policy */
    rules: Readonly<Partial<Record<ContextName, OperatorRules>>>;
    maxConcurrent: number;
    maxPerSecond: number;
    /** event-loop delay (ms, worst of the last half second) above which shadows are shed; 0 = off */
    maxEventLoopDelayMs: number;
    /** where shadow calls run: a child process at `nice` (src/parity/shadow-process.ts), or the gateway's own loop */
    isolation: 'process' | 'inline';
    nice: number;
    samples: number;
    topFields: number;
    alarm: Readonly<{ rate: number; windowMs: number; minSamples: number }>;
    redisPrefix: string;
  }>;
  /** sticky identity (src/routing/identity.ts): cookie, HMAC secret (undefined: random per process), TTL */
  readonly sticky: Readonly<{ cookieName: string; secure: boolean; secret: string | undefined; ttlS: number; maxBindings: number; redisPrefix: string }>;
  /** the rollout controller and its guardrails (src/rollout/, docs/rollouts.md) */
  readonly rollout: Readonly<{
    tickMs: number;
    leaseMs: number;
    redisPrefix: string;
    guardrails: GuardrailConfig;
  }>;
  readonly logLevel: Env['LOG_LEVEL'];
  /** OpenTelemetry: where spans are exported (undefined: not exported) and the service name */
  readonly otel: Readonly<{ tracesUrl: string | undefined; serviceName: string }>;
  /** the GraphQL surface: subgraph placement, limits (GRAPHQL_*, src/config/graphql.ts) */
  readonly graphql: GraphqlConfig;
}

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

type SchemaNode = { type?: string; anyOf?: SchemaNode[] };
const isNumeric = (s: SchemaNode): boolean => s.type === 'integer' || s.type === 'number' || (s.anyOf ?? []).some(isNumeric);
/** The compiled env schema of the context list as it is now (a registration adds entries). */
let compiled: { contexts: number; schema: ReturnType<typeof envSchema>; check: TypeCheck<ReturnType<typeof envSchema>>; integerKeys: Set<string> } | undefined;
function compiledEnv(): NonNullable<typeof compiled> {
  if (compiled?.contexts !== CONTEXTS.length) {
    const schema = envSchema();
    const integerKeys = new Set(
      Object.entries(schema.properties)
        .filter(([, s]) => isNumeric(s as SchemaNode))
        .map(([key]) => key),
    );
    compiled = { contexts: CONTEXTS.length, schema, check: TypeCompiler.Compile(schema), integerKeys };
  }
  return compiled;
}

const EMPTY_IS_A_VALUE = new Set(['FALLBACK_CONTEXTS']);

/**
 * Reads the env contract, reports every problem at once (not just the first), and freezes the
 * result, so a misconfigured gateway fails before it listens.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const { schema, check, integerKeys } = compiledEnv();
  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(schema.properties)) {
    const v = env[key];
    // An empty value means "unset" (shells export empty vars), except where empty is a choice.
    if (v === undefined || (v === '' && !EMPTY_IS_A_VALUE.has(key))) continue;
    raw[key] = integerKeys.has(key) && /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v;
  }
  const withDefaults = Value.Default(schema, raw) as Record<string, unknown>;
  const problems = [...check.Errors(withDefaults)].map((e) => `${e.path.slice(1) || '(root)'}: ${e.message} (got ${JSON.stringify(e.value)})`);
  const e = withDefaults as Env;
  if (e.UNLEASH_URL && !e.UNLEASH_API_TOKEN) problems.push('UNLEASH_API_TOKEN: required when UNLEASH_URL is set');
  // node refuses a headers timeout longer than the request's
  if (e.HEADERS_TIMEOUT_MS > e.REQUEST_TIMEOUT_MS) problems.push(`HEADERS_TIMEOUT_MS: at most REQUEST_TIMEOUT_MS (${e.REQUEST_TIMEOUT_MS}) (got ${e.HEADERS_TIMEOUT_MS})`);
  const graphql = readGraphqlConfig(env);
  problems.push(...graphql.problems);
  if (problems.length > 0) throw new ConfigError(problems);

  const prefixes = e.LEGACY_PASSTHROUGH_PREFIXES.split(',').map((p) => p.trim()).filter(Boolean);
  const fallback = (e.FALLBACK_CONTEXTS ?? CONTEXTS.join(',')).split(',').map((c) => c.trim()).filter((c) => c && c !== 'none');
  const badFallback = fallback.filter((c) => !(CONTEXTS as readonly string[]).includes(c));
  if (badFallback.length) throw new ConfigError([`FALLBACK_CONTEXTS: unknown context(s) ${badFallback.join(', ')} (known: ${CONTEXTS.join(', ')})`]);
  const badPrefix = prefixes.filter((p) => !p.startsWith('/') || !p.endsWith('/'));
  if (badPrefix.length) throw new ConfigError([`LEGACY_PASSTHROUGH_PREFIXES: each prefix must start and end with "/" (got ${badPrefix.join(', ')})`]);

  return Object.freeze({
    host: e.HOST,
    port: e.PORT,
    workers: e.GATEWAY_WORKERS === 'auto' ? availableParallelism() : e.GATEWAY_WORKERS,
    instances: e.GATEWAY_INSTANCES,
    upstreams: Object.freeze(perUpstream((u) => stripSlash(withDefaults[u.urlEnv] as string | undefined))),
    flags: Object.freeze(
      e.UNLEASH_URL
        ? {
            source: 'unleash' as const,
            url: e.UNLEASH_URL,
            token: e.UNLEASH_API_TOKEN as string,
            appName: e.UNLEASH_APP_NAME,
            refreshMs: e.UNLEASH_REFRESH_MS,
            admin: e.UNLEASH_ADMIN_TOKEN
              ? Object.freeze({
                  token: e.UNLEASH_ADMIN_TOKEN,
                  project: e.UNLEASH_PROJECT,
                  environment: e.UNLEASH_ENVIRONMENT ?? tokenEnvironment(e.UNLEASH_API_TOKEN as string) ?? 'development',
                })
              : undefined,
          }
        : { source: 'file' as const, dir: e.FLAGS_DIR },
    ),
    upstreamTimeoutMs: e.UPSTREAM_TIMEOUT_MS,
    timeouts: Object.freeze(perUpstream((u) => (withDefaults[u.timeoutEnv] as number | undefined) ?? u.timeoutMs ?? e.UPSTREAM_TIMEOUT_MS)),
    requestBudgetMs: e.REQUEST_BUDGET_MS,
    breaker: Object.freeze({ errorPercent: e.BREAKER_ERROR_PERCENT, volume: e.BREAKER_VOLUME, windowMs: e.BREAKER_WINDOW_MS, resetMs: e.BREAKER_RESET_MS, consecutive: e.BREAKER_CONSECUTIVE, slowMs: e.BREAKER_SLOW_MS }),
    retry: Object.freeze({ max: e.RETRY_MAX, budgetPercent: e.RETRY_BUDGET_PERCENT }),
    fallbackContexts: new Set(fallback as ContextName[]),
    idempotencyTtlS: e.IDEMPOTENCY_TTL_S,
    idempotency: Object.freeze({ leaseMs: e.IDEMPOTENCY_LEASE_MS, redisPrefix: e.IDEMPOTENCY_REDIS_PREFIX }),
    shed: Object.freeze({ eventLoopDelayMs: e.SHED_EVENT_LOOP_DELAY_MS, heapBytes: e.SHED_HEAP_BYTES, rssBytes: e.SHED_RSS_BYTES }),
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    shutdownDrainMs: e.SHUTDOWN_DRAIN_MS,
    upstreamConnections: e.UPSTREAM_CONNECTIONS,
    bodyLimit: e.BODY_LIMIT,
    headersTimeoutMs: e.HEADERS_TIMEOUT_MS,
    requestTimeoutMs: e.REQUEST_TIMEOUT_MS,
    passthroughPrefixes: Object.freeze(prefixes),
    adminToken: e.ADMIN_TOKEN,
    auditLogPath: e.AUDIT_LOG_PATH,
    console: Object.freeze({ sessionTtlS: e.CONSOLE_SESSION_TTL_S, assetsDir: e.CONSOLE_ASSETS_DIR }),
    auditStream: Object.freeze({ key: e.AUDIT_STREAM_KEY, maxLen: e.AUDIT_STREAM_MAXLEN }),
    redisUrl: e.REDIS_URL,
    amqpUrl: e.AMQP_URL,
    events: Object.freeze({
      reconnectMinMs: e.AMQP_RECONNECT_MIN_MS,
      reconnectMaxMs: Math.max(e.AMQP_RECONNECT_MIN_MS, e.AMQP_RECONNECT_MAX_MS),
      outboxMax: e.EVENTS_OUTBOX_MAX,
      dedupeTtlMs: e.EVENTS_DEDUPE_TTL_S * 1000,
      dedupeMax: e.EVENTS_DEDUPE_MAX,
    }),
    cache: Object.freeze({
      enabled: e.CACHE_ENABLED === 'true',
      maxBytes: e.CACHE_MAX_BYTES,
      redisPrefix: e.CACHE_REDIS_PREFIX,
      control: Object.freeze({ occ: e.CACHE_CONTROL_OCC, api: e.CACHE_CONTROL_API, graphql: e.CACHE_CONTROL_GRAPHQL }),
    }),
    shadow: Object.freeze({
      percent: Object.freeze(
        Object.fromEntries(CONTEXTS.flatMap((c) => (withDefaults[shadowPercentEnv(c)] === undefined ? [] : [[c, withDefaults[shadowPercentEnv(c)] as number]]))),
      ),
      rules: Object.freeze(Object.fromEntries(CONTEXTS.flatMap((c) => operatorRules(c, withDefaults)))),
      maxConcurrent: e.SHADOW_MAX_CONCURRENT,
      maxPerSecond: e.SHADOW_MAX_PER_SECOND,
      maxEventLoopDelayMs: e.SHADOW_MAX_EVENT_LOOP_DELAY_MS,
      isolation: e.SHADOW_ISOLATION,
      nice: e.SHADOW_PROCESS_NICE,
      samples: e.PARITY_SAMPLES,
      topFields: e.PARITY_TOP_FIELDS,
      alarm: Object.freeze({ rate: e.PARITY_ALARM_RATE, windowMs: e.PARITY_ALARM_WINDOW_MS, minSamples: e.PARITY_ALARM_MIN_SAMPLES }),
      redisPrefix: e.PARITY_REDIS_PREFIX,
    }),
    sticky: Object.freeze({
      cookieName: e.STICKY_COOKIE_NAME,
      secure: e.STICKY_COOKIE_SECURE === 'true',
      secret: e.STICKY_SECRET,
      ttlS: e.STICKY_TTL_S,
      maxBindings: e.STICKY_MAX_BINDINGS,
      redisPrefix: e.STICKY_REDIS_PREFIX,
    }),
    rollout: Object.freeze({
      tickMs: e.ROLLOUT_TICK_MS,
      leaseMs: e.ROLLOUT_LEASE_MS,
      redisPrefix: e.ROLLOUT_REDIS_PREFIX,
      guardrails: Object.freeze({
        errorRateDelta: { threshold: Number(e.ROLLOUT_ERROR_RATE_DELTA), minSamples: e.ROLLOUT_MIN_SAMPLES },
        p99Ratio: { threshold: Number(e.ROLLOUT_P99_RATIO), minSamples: e.ROLLOUT_P99_MIN_SAMPLES ?? e.ROLLOUT_MIN_SAMPLES },
        fallbackRate: { threshold: Number(e.ROLLOUT_FALLBACK_RATE), minSamples: e.ROLLOUT_MIN_SAMPLES },
        parityMismatchRate: { threshold: Number(e.ROLLOUT_PARITY_MISMATCH_RATE), minSamples: e.ROLLOUT_MIN_SAMPLES },
        p99FloorMs: e.ROLLOUT_P99_FLOOR_MS,
      }),
    }),
    logLevel: e.LOG_LEVEL,
    otel: Object.freeze({ tracesUrl: otlpTracesUrl(e), serviceName: e.OTEL_SERVICE_NAME }),
    graphql: graphql.config,
  });
}

/**
 * Unleash client tokens read `<project>:<environment>.<secret>`; the gateway evaluates the flags
 * of that environment, so admin writes default to it rather than to a guess.
 */
function tokenEnvironment(token: string): string | undefined {
  const m = /^[^:]+:([^.*]+)\./.exec(token);
  return m?.[1];
}

/**
 * The OTLP exporter spec: the signal-specific variable is used as is; the general one is a base
 * URL to which the signal's path (`v1/traces`) is appended.
 */
function otlpTracesUrl(e: Env): string | undefined {
  if (e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  if (e.OTEL_EXPORTER_OTLP_ENDPOINT) return `${e.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '')}/v1/traces`;
  return undefined;
}

/** One value per upstream (legacy and every context), from its env keys. */
function perUpstream<T>(of: (u: { urlEnv: string; timeoutEnv: string; timeoutMs?: number }) => T): Record<UpstreamName, T> {
  const out = { legacy: of(LEGACY_UPSTREAM) } as Record<UpstreamName, T>;
  for (const i of contextIdentities()) out[i.name] = of(i.upstream);
  return out;
}

function stripSlash(u: string | undefined): string | undefined {
  return u === undefined ? undefined : u.replace(/\/+$/, '');
}

/** The environment variable that holds an upstream's base URL (`LEGACY_URL`, `PRICING_URL`, …). */
export function upstreamUrlVariable(name: UpstreamName): string {
  return name === 'legacy' ? LEGACY_UPSTREAM.urlEnv : identityOf(name).upstream.urlEnv;
}

/**
 * Every upstream's URL, for the production entry: one that is unset is a configuration error
 * naming its variable. Only the embedded entry (`src/embedded.ts`) starts simulators instead.
 */
export function requireUpstreams(config: GatewayConfig): Record<UpstreamName, string> {
  const names = Object.keys(config.upstreams) as UpstreamName[];
  const missing = names.filter((n) => config.upstreams[n] === undefined);
  if (missing.length > 0) {
    throw new ConfigError(
      missing.map((n) => `${upstreamUrlVariable(n)}: required (the production entry starts no simulator; \`npm start\` runs the embedded world)`),
    );
  }
  return Object.fromEntries(names.map((n) => [n, config.upstreams[n] as string])) as Record<UpstreamName, string>;
}

/** A context's SHADOW_<CTX>_IGNORE, _UNORDERED and _TOLERANCE (already checked against their patterns), as an entry when any is set. */
function operatorRules(context: ContextName, env: Record<string, unknown>): [ContextName, OperatorRules][] {
  const list = (kind: 'IGNORE' | 'UNORDERED' | 'TOLERANCE'): string[] => {
    const raw = env[shadowRuleEnv(context, kind)];
    return typeof raw === 'string' ? raw.split(',').map((p) => p.trim()).filter(Boolean) : [];
  };
  const ignore = list('IGNORE');
  const unordered = list('UNORDERED');
  const tolerance = Object.fromEntries(
    list('TOLERANCE').map((kv) => {
      const at = kv.lastIndexOf('=');
      return [kv.slice(0, at).trim(), Number(kv.slice(at + 1))];
    }),
  );
  if (ignore.length === 0 && unordered.length === 0 && Object.keys(tolerance).length === 0) return [];
  return [[context, Object.freeze({ ignore, unordered, tolerance })]];
}
