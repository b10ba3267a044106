/**
 * What one inbound request carries to every port it calls: the routing decision (computed
 * once), the headers to propagate, the set of contexts it touched (for `x-strangler-route`)
 * and a memo so two callers in one request share one upstream call.
 */
import type { ContextName } from '../contexts/names.js';
import type { RoutingDecision } from '../routing/decide.js';

export interface ScopeLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export class Scope {
  readonly touched = new Set<ContextName>();
  readonly fallbacks = new Set<ContextName>();
  /** cache namespaces (contexts, `catalog`) answered from a stale copy because the upstream failed (`x-strangler-stale`) */
  readonly stale = new Set<string>();
  private readonly memo = new Map<string, Promise<unknown>>();

  /** what every upstream call of this request carries: propagated headers and the deadline */
  readonly outbound: { readonly headers: Record<string, string>; readonly deadline: number };

  constructor(
    readonly decision: RoutingDecision,
    /** headers every upstream call carries: x-request-id, traceparent */
    readonly propagate: Record<string, string>,
    readonly log: ScopeLogger,
    /** absolute time (ms since epoch) by which the request must be answered */
    readonly deadline: number = Date.now() + 5000,
    /**
     * the request changes nothing (a GET, a GraphQL query): its reads may be shadowed
     * (docs/parity.md). False for writes, whose port reads are never sent to the other arm.
     */
    readonly readOnly: boolean = false,
  ) {
    this.outbound = { headers: propagate, deadline };
  }

  /** The backend serving `context` for this request; records that the context was touched. */
  use(context: ContextName): 'legacy' | 'new' {
    this.touched.add(context);
    return this.decision[context]!;
  }

  once<T>(key: string, load: () => Promise<T>): Promise<T> {
    let p = this.memo.get(key) as Promise<T> | undefined;
    if (!p) {
      p = load();
      this.memo.set(key, p);
    }
    return p;
  }
}
