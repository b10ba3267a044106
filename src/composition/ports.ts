/**
 * Both arms of every context, chosen per request by the routing decision, and the fallback
 * policy: when a context's read is routed to the new service and that service fails (5xx,
 * timeout, unreachable, breaker open, invalid payload), the read is served by legacy, and says
 * so (`x-strangler-route: pricing=legacy(fallback)`, a log line). The only place that knows
 * which adapter serves which backend.
 */
import type { ContextName, UpstreamName } from '../contexts/names.js';
import type { ContextWithPort } from '../contexts/port-arms.js';
import { GatewayError } from '../errors.js';
import type { Upstream } from '../upstream/http.js';
import { Scope } from '../upstream/scope.js';
import type { LegacyCatalog } from '../occ/legacy-catalog.js';
import type { PricingPort } from '../contexts/pricing/pricing.port.js';
import type { InventoryPort } from '../contexts/inventory/inventory.port.js';
import type { PromotionsPort } from '../contexts/promotions/promotions.port.js';
import type { ShadowParity } from '../parity/shadow.js';

export interface Arms<P> {
  legacy: P;
  new: P;
}

/**
 * The port of a context for one request (its routed arm). Any context, by its descriptor:
 * `ports.of(taxContext, scope)`; the shipped ones also by name, for brevity.
 */
export interface Ports {
  of<P extends object>(context: ContextWithPort<P>, scope: Scope): P;
  pricing(scope: Scope): PricingPort;
  inventory(scope: Scope): InventoryPort;
  promotions(scope: Scope): PromotionsPort;
  /**
   * The port of a shipped context when this request is routed to the new service, undefined
   * when the monolith serves it: for a caller that already holds the monolith's payload (a
   * stored cart carries its entries' stock) and needs only what a new service would replace.
   * The context counts as touched (`x-strangler-route`) only when the new arm is returned.
   */
  overlay<K extends keyof ShippedPorts>(context: K, scope: Scope): ShippedPorts[K] | undefined;
  /**
   * For a surface that reaches a context other than through its port (the GraphQL router sends
   * requests routed to `new` to the service's own subgraph): runs `arms.new` or `arms.legacy` as
   * the request is routed, with the ports' fallback policy. When the new arm fails with the
   * service's own trouble and the context falls back, `arms.legacy` runs with a scope that
   * serves the context by legacy (`fellBack`), and the fallback is recorded like any other.
   */
  route<T>(context: ContextName, scope: Scope, arms: { new: () => Promise<T>; legacy: (fellBack?: Scope) => Promise<T> }): Promise<T>;
}

/** The ports of the contexts shipped with the gateway, by name. */
export interface ShippedPorts {
  pricing: PricingPort;
  inventory: InventoryPort;
  promotions: PromotionsPort;
}

export interface FallbackListener {
  (event: { context: ContextName; reason: string; code: string }): void;
}

/**
 * A failure of the new arm of `context` that legacy can answer instead: that service's trouble,
 * not bad input, and not another context's (a cart the new promotions engine evaluates asks the
 * pricing port for unit prices; pricing's failure is pricing's, with its own fallback).
 */
function fallsBack(err: unknown, context: ContextName): err is GatewayError {
  return err instanceof GatewayError && err.status >= 500 && err.backend === 'new' && (err.context === undefined || err.context === context);
}

/**
 * A read of `context` that the new service failed is answered by legacy: the request's scope
 * says so (`x-strangler-route: pricing=legacy(fallback)`), the log says why, and the listener
 * counts it (`gateway_fallbacks_total`). Every surface that falls back (the ports here, the
 * GraphQL router for remote subgraphs) records it through this one function.
 */
export function recordFallback(scope: Scope, context: ContextName, failure: GatewayError, onFallback: FallbackListener): void {
  scope.fallbacks.add(context);
  scope.log.warn({ event: 'fallback', context, code: failure.code, reason: failure.detail }, `${context}: new service failed, served by legacy`);
  onFallback({ context, reason: failure.detail, code: failure.code });
}

/**
 * The new arm with every method wrapped so a failure is answered by the same method of the
 * legacy arm. Ports are read-only (product data, promotion definitions, stateless evaluation), so
 * every method qualifies; a port that gains a write must not be wrapped. Every port method takes
 * the request's scope first, so the wrapper is built once per context, not per request.
 */
export function withFallback<P extends object>(context: ContextName, arms: Arms<P>, onFallback: FallbackListener): P {
  const legacy = arms.legacy as Record<string, unknown>;
  return wrapMethods(arms.new, (name, method) => async (scope, ...rest) => {
    try {
      return await method(scope, ...rest);
    } catch (err) {
      if (!fallsBack(err, context)) throw err;
      recordFallback(scope, context, err, onFallback);
      return (legacy[name] as PortMethod).call(legacy, scope, ...rest);
    }
  });
}

type PortMethod = (scope: Scope, ...rest: unknown[]) => Promise<unknown>;

/**
 * `port` with every method (own or inherited) replaced by what `wrap` makes of it, given the
 * method bound to `port`; what is not a method reads through to `port` itself.
 */
function wrapMethods<P extends object>(port: P, wrap: (name: string, method: PortMethod) => PortMethod): P {
  const target = port as Record<string, unknown>;
  const wrapped = Object.create(target) as Record<string, unknown>;
  for (let o: object | null = target; o && o !== Object.prototype; o = Object.getPrototypeOf(o) as object | null) {
    for (const name of Object.getOwnPropertyNames(o)) {
      const value = target[name];
      if (name === 'constructor' || Object.hasOwn(wrapped, name) || typeof value !== 'function') continue;
      wrapped[name] = wrap(name, (scope, ...rest) => (value as PortMethod).call(target, scope, ...rest));
    }
  }
  return wrapped as P;
}

/**
 * The served arms of a context with every method shadowed: the routed arm answers the request
 * as usual; once its answer has resolved, the shadow runner (src/parity/shadow.ts) gets it and
 * calls the same method of the other raw arm (no fallback: the new arm's own answer is the point)
 * off the request path. The client's promise is the routed arm's own: never awaits the shadow.
 * An answer that came from a fallback is not compared (it is legacy against legacy).
 */
export function withShadow<P extends object>(context: ContextName, served: Arms<P>, raw: Arms<P>, shadow: ShadowParity): Arms<P> {
  const wrap = (arm: 'legacy' | 'new'): P =>
    wrapMethods(served[arm], (name, method) => (scope, ...rest) => {
      const answer = method(scope, ...rest);
      answer.then(
        (result) => {
          if (scope.fallbacks.has(context)) return;
          shadow.observe(context, name, scope, arm, result, rest, (other, s) => {
            const port = raw[other] as Record<string, PortMethod>;
            return port[name]!.call(port, s, ...rest);
          });
        },
        () => undefined, // the request handles its own failure; nothing to compare
      );
      return answer;
    });
  return { legacy: wrap('legacy'), new: wrap('new') };
}

/**
 * Both arms of every context (the registry's list, src/contexts/registry.ts, passed in by the
 * composition root), built once; the arm is picked per request here only. With a shadow runner,
 * a sampled read of a read-only request gets the shadowed arm; every other request the plain one
 * (one random draw and a compare, nothing allocated).
 */
export function buildPorts(
  contexts: readonly ContextWithPort[],
  upstreams: Readonly<Record<UpstreamName, Upstream>>,
  catalog: LegacyCatalog,
  fallbackContexts: ReadonlySet<ContextName> = new Set(),
  onFallback: FallbackListener = () => undefined,
  /** wraps each arm as built, before the fallback (the data cache: src/cache/ports.ts cachedArm) */
  wrapArm: (context: ContextName, arm: 'legacy' | 'new', port: object) => object = (_c, _a, port) => port,
  shadow?: ShadowParity,
): Ports {
  const served = new Map<ContextName, Arms<object>>();
  const shadowed = new Map<ContextName, Arms<object>>();
  for (const d of contexts) {
    const upstream = upstreams[d.name];
    if (!upstream) throw new Error(`no upstream client for context ${d.name}`);
    const deps = { upstream, legacy: upstreams.legacy, catalog, upstreams };
    const arms: Arms<object> = { legacy: wrapArm(d.name, 'legacy', d.port.legacy(deps)), new: wrapArm(d.name, 'new', d.port.new(deps)) };
    // the new arm as each request sees it: with the fallback to legacy when the context has one
    const routed = fallbackContexts.has(d.name) ? { legacy: arms.legacy, new: withFallback(d.name, arms, onFallback) } : arms;
    served.set(d.name, routed);
    if (shadow && shadow.percent(d.name) > 0) shadowed.set(d.name, withShadow(d.name, routed, arms, shadow));
  }
  const pick = (context: ContextName, scope: Scope): object => {
    const arms = served.get(context);
    if (!arms) throw new Error(`context ${context} is not in the registry this gateway was built from`);
    const arm = scope.use(context);
    // writes are never shadowed: dual writes are a separate stage (docs/parity.md)
    if (shadow !== undefined && scope.readOnly && shadow.sampled(context)) return shadowed.get(context)![arm];
    return arms[arm];
  };
  return {
    of: <P extends object>(context: ContextWithPort<P>, scope: Scope) => pick(context.name, scope) as P,
    pricing: (scope) => pick('pricing', scope) as PricingPort,
    inventory: (scope) => pick('inventory', scope) as InventoryPort,
    promotions: (scope) => pick('promotions', scope) as PromotionsPort,
    overlay: <K extends keyof ShippedPorts>(context: K, scope: Scope) =>
      scope.decision[context] === 'new' ? (pick(context, scope) as ShippedPorts[K]) : undefined,
    route: async <T>(context: ContextName, scope: Scope, arms: { new: () => Promise<T>; legacy: (fellBack?: Scope) => Promise<T> }): Promise<T> => {
      if (scope.use(context) === 'legacy') return arms.legacy();
      try {
        return await arms.new();
      } catch (err) {
        if (!fallbackContexts.has(context) || !fallsBack(err, context)) throw err;
        recordFallback(scope, context, err, onFallback);
        return arms.legacy(new Scope({ ...scope.decision, [context]: 'legacy' }, scope.propagate, scope.log, scope.deadline, scope.readOnly));
      }
    },
  };
}
