/**
 * The bottom layer of the context registry: which bounded contexts exist, their flag names and
 * upstream settings, as plain data. It imports nothing of ours, so routing, config, the
 * per-request scope and metrics can depend on it without reaching the ports (the full
 * descriptors, with their adapters and GraphQL parts, are in `./registry.ts`, above this).
 *
 * The list is live: `registerContext()` (./registry.ts) appends a context before a gateway is
 * built, and every consumer reads the list when it builds (config, routing, metrics, admin,
 * GraphQL), never at import time. See docs/adding-a-context.md.
 */

/** The contexts this repository ships. */
export type BuiltinContextName = 'pricing' | 'inventory' | 'promotions';

declare const registered: unique symbol;
/** A context added by `registerContext()` (a test fixture, a plugin): a checked, branded string. */
export type RegisteredContextName = string & { readonly [registered]: 'ContextName' };

export type ContextName = BuiltinContextName | RegisteredContextName;
export type UpstreamName = 'legacy' | ContextName;

/** lowercase letter first; letters, digits and `-`: safe in a flag name, a URL path and an env key */
export const CONTEXT_NAME_PATTERN = '^[a-z][a-z0-9-]{0,30}$';
const NAME = new RegExp(CONTEXT_NAME_PATTERN);

/** What config, routing and metrics need to know about a context: data only. */
export interface ContextIdentity {
  readonly name: ContextName;
  /** the route flag: on for a request means the new service answers it (`route.<name>`) */
  readonly flag: string;
  readonly upstream: {
    /** env key of the new service's base URL, e.g. `PRICING_URL`; unset: the embedded one */
    readonly urlEnv: string;
    /** env key of the per-call timeout, e.g. `PRICING_TIMEOUT_MS` */
    readonly timeoutEnv: string;
    /** the port of the embedded service when `urlEnv` is unset (src/server.ts) */
    readonly embeddedPort: number;
    /** per-call timeout when `timeoutEnv` is unset (default: UPSTREAM_TIMEOUT_MS) */
    readonly timeoutMs?: number;
  };
}

/** The identity of a context by the conventions: flag `route.<name>`, env `<NAME>_URL`, `<NAME>_TIMEOUT_MS`. */
export function defineIdentity<N extends ContextName>(name: N, embeddedPort: number, timeoutMs?: number): ContextIdentity & { readonly name: N } {
  const env = name.toUpperCase().replace(/-/g, '_');
  return Object.freeze({
    name,
    flag: `route.${name}`,
    upstream: Object.freeze({ urlEnv: `${env}_URL`, timeoutEnv: `${env}_TIMEOUT_MS`, embeddedPort, ...(timeoutMs === undefined ? {} : { timeoutMs }) }),
  });
}

/** The legacy monolith: not a context (it is what the contexts are carved out of), but an upstream. */
export const LEGACY_UPSTREAM = Object.freeze({ urlEnv: 'LEGACY_URL', timeoutEnv: 'LEGACY_TIMEOUT_MS', embeddedPort: 8081 });

const identities: ContextIdentity[] = [defineIdentity('pricing', 8082), defineIdentity('inventory', 8083), defineIdentity('promotions', 8084)];
const names: ContextName[] = identities.map((i) => i.name);
const byName = new Map<string, ContextIdentity>(identities.map((i) => [i.name, i]));

/** Every context, in registration order (the order of `x-strangler-route`, admin and metrics). Live. */
export const CONTEXTS: readonly ContextName[] = names;

export function isContextName(s: string): s is ContextName {
  return byName.has(s);
}

export function identityOf(context: ContextName): ContextIdentity {
  const i = byName.get(context);
  if (!i) throw new Error(`unknown context "${context}" (known: ${names.join(', ')})`);
  return i;
}

export function contextIdentities(): readonly ContextIdentity[] {
  return identities;
}

/** The route flag of a context. */
export function flagOf(context: ContextName): string {
  return identityOf(context).flag;
}

/** The context a route flag belongs to, if any. */
export function contextOfFlag(flag: string): ContextName | undefined {
  return identities.find((i) => i.flag === flag)?.name;
}

/** Embedded ports of every upstream (src/server.ts starts the backends not configured). */
export function embeddedPorts(): Record<UpstreamName, number> {
  const ports = { legacy: LEGACY_UPSTREAM.embeddedPort } as Record<UpstreamName, number>;
  for (const i of identities) ports[i.name] = i.upstream.embeddedPort;
  return ports;
}

/** A name checked against the pattern (a registration brands it; see ./registry.ts). */
export function checkedName(name: string): RegisteredContextName {
  if (!NAME.test(name)) throw new Error(`context name "${name}" must match ${CONTEXT_NAME_PATTERN}`);
  if (name === 'legacy' || name === 'catalog') throw new Error(`context name "${name}" is reserved`);
  return name as RegisteredContextName;
}

let sealed = false;

/**
 * Appends a context. Only `registerContext()` calls this; after a gateway has been built the
 * list is sealed, since the gateway derived its config, metrics and routes from it.
 */
export function addIdentity(identity: ContextIdentity): void {
  if (sealed) throw new Error(`context "${identity.name}" registered after a gateway was built: register contexts first`);
  if (byName.has(identity.name)) throw new Error(`context "${identity.name}" is already registered`);
  const taken = identities.find((i) => i.flag === identity.flag || i.upstream.urlEnv === identity.upstream.urlEnv || i.upstream.embeddedPort === identity.upstream.embeddedPort);
  if (taken) throw new Error(`context "${identity.name}" clashes with "${taken.name}" (flag, env key or embedded port)`);
  identities.push(identity);
  names.push(identity.name);
  byName.set(identity.name, identity);
}

/** Called when a gateway is built (src/app.ts): the list it derived from must not change under it. */
export function sealContexts(): void {
  sealed = true;
}
