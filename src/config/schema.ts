/**
 * The gateway's environment contract (DESIGN §2). One schema is the source of the config type,
 * of boot-time validation and of the README's configuration table.
 */
import { Type, type Static } from '@sinclair/typebox';

const url = (description: string) => Type.String({ pattern: '^https?://[^\\s/]+(/[^\\s]*)?$', description });

export const EnvSchema = Type.Object({
  HOST: Type.String({ default: '127.0.0.1', description: 'Address the gateway listens on' }),
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 8080, description: 'Port the gateway listens on' }),
  LEGACY_URL: Type.Optional(url('Legacy commerce monolith (OCC v2). Unset: embedded simulator on 127.0.0.1:8081')),
  PRICING_URL: Type.Optional(url('New pricing service. Unset: embedded on 127.0.0.1:8082')),
  INVENTORY_URL: Type.Optional(url('New inventory service. Unset: embedded on 127.0.0.1:8083')),
  PROMOTIONS_URL: Type.Optional(url('New promotions service. Unset: embedded on 127.0.0.1:8084')),
  FLAGS_DIR: Type.String({ default: 'flags', description: 'Directory of Unleash-format flag files (used when UNLEASH_URL is unset); hot-reloaded' }),
  UNLEASH_URL: Type.Optional(url('Unleash server API URL, e.g. http://unleash:4242/api')),
  UNLEASH_API_TOKEN: Type.Optional(Type.String({ minLength: 1, description: 'Unleash client (backend) token; required with UNLEASH_URL' })),
  UNLEASH_APP_NAME: Type.String({ default: 'strangler-gateway', description: 'appName reported to Unleash' }),
  UNLEASH_REFRESH_MS: Type.Integer({ minimum: 100, default: 1000, description: 'How often flags are fetched from Unleash' }),
  UPSTREAM_TIMEOUT_MS: Type.Integer({ minimum: 1, default: 2000, description: 'Timeout for one upstream call (headers and body)' }),
  UPSTREAM_CONNECTIONS: Type.Integer({ minimum: 1, default: 64, description: 'Keep-alive connections per upstream pool' }),
  BODY_LIMIT: Type.Integer({ minimum: 1024, default: 1048576, description: 'Largest request body accepted, in bytes (413 above)' }),
  LEGACY_PASSTHROUGH_PREFIXES: Type.String({
    default: '/occ/v2/,/medias/,/authorizationserver/',
    description: 'Comma-separated path prefixes proxied unchanged to legacy; anything else is 404',
  }),
  ADMIN_TOKEN: Type.Optional(Type.String({ minLength: 16, description: 'Bearer token for /admin (unset: admin disabled)' })),
  REDIS_URL: Type.Optional(Type.String({ pattern: '^rediss?://', description: 'Redis for shared state (reserved; unset: in-process)' })),
  AMQP_URL: Type.Optional(Type.String({ pattern: '^amqps?://', description: 'AMQP broker for domain events (reserved; unset: in-process)' })),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
    { default: 'info', description: 'pino log level' },
  ),
});
export type Env = Static<typeof EnvSchema>;
