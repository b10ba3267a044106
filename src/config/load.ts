import { Value } from '@sinclair/typebox/value';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { EnvSchema, type Env } from './schema.js';

export type ContextName = 'pricing' | 'inventory' | 'promotions';
export const CONTEXTS: readonly ContextName[] = Object.freeze(['pricing', 'inventory', 'promotions']);
export type UpstreamName = 'legacy' | ContextName;

export interface GatewayConfig {
  readonly host: string;
  readonly port: number;
  /** Upstream base URLs; undefined means "start the embedded backend" (server.ts decides). */
  readonly upstreams: Readonly<Record<UpstreamName, string | undefined>>;
  readonly flags:
    | { readonly source: 'file'; readonly dir: string }
    | { readonly source: 'unleash'; readonly url: string; readonly token: string; readonly appName: string; readonly refreshMs: number };
  readonly upstreamTimeoutMs: number;
  readonly upstreamConnections: number;
  readonly bodyLimit: number;
  readonly passthroughPrefixes: readonly string[];
  readonly adminToken: string | undefined;
  readonly redisUrl: string | undefined;
  readonly amqpUrl: string | undefined;
  readonly logLevel: Env['LOG_LEVEL'];
}

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

const checkEnv = TypeCompiler.Compile(EnvSchema);
const INTEGER_KEYS = new Set(['PORT', 'UNLEASH_REFRESH_MS', 'UPSTREAM_TIMEOUT_MS', 'UPSTREAM_CONNECTIONS', 'BODY_LIMIT']);

/**
 * Reads the env contract, reports every problem at once (not just the first), and freezes the
 * result, so a misconfigured gateway fails before it listens.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(EnvSchema.properties)) {
    const v = env[key];
    if (v === undefined || v === '') continue;
    raw[key] = INTEGER_KEYS.has(key) && /^-?\d+$/.test(v) ? Number(v) : v;
  }
  const withDefaults = Value.Default(EnvSchema, raw);
  const problems = [...checkEnv.Errors(withDefaults)].map((e) => `${e.path.slice(1) || '(root)'}: ${e.message} (got ${JSON.stringify(e.value)})`);
  const e = withDefaults as Env;
  if (e.UNLEASH_URL && !e.UNLEASH_API_TOKEN) problems.push('UNLEASH_API_TOKEN: required when UNLEASH_URL is set');
  if (problems.length > 0) throw new ConfigError(problems);

  const prefixes = e.LEGACY_PASSTHROUGH_PREFIXES.split(',').map((p) => p.trim()).filter(Boolean);
  const badPrefix = prefixes.filter((p) => !p.startsWith('/') || !p.endsWith('/'));
  if (badPrefix.length) throw new ConfigError([`LEGACY_PASSTHROUGH_PREFIXES: each prefix must start and end with "/" (got ${badPrefix.join(', ')})`]);

  return Object.freeze({
    host: e.HOST,
    port: e.PORT,
    upstreams: Object.freeze({
      legacy: stripSlash(e.LEGACY_URL),
      pricing: stripSlash(e.PRICING_URL),
      inventory: stripSlash(e.INVENTORY_URL),
      promotions: stripSlash(e.PROMOTIONS_URL),
    }),
    flags: Object.freeze(
      e.UNLEASH_URL
        ? { source: 'unleash' as const, url: e.UNLEASH_URL, token: e.UNLEASH_API_TOKEN as string, appName: e.UNLEASH_APP_NAME, refreshMs: e.UNLEASH_REFRESH_MS }
        : { source: 'file' as const, dir: e.FLAGS_DIR },
    ),
    upstreamTimeoutMs: e.UPSTREAM_TIMEOUT_MS,
    upstreamConnections: e.UPSTREAM_CONNECTIONS,
    bodyLimit: e.BODY_LIMIT,
    passthroughPrefixes: Object.freeze(prefixes),
    adminToken: e.ADMIN_TOKEN,
    redisUrl: e.REDIS_URL,
    amqpUrl: e.AMQP_URL,
    logLevel: e.LOG_LEVEL,
  });
}

function stripSlash(u: string | undefined): string | undefined {
  return u === undefined ? undefined : u.replace(/\/+$/, '');
}
