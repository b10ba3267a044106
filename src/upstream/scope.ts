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
  /** work deferred until the client's response has been sent (afterResponse), or undefined */
  private deferred: (() => void)[] | undefined;
  /**
   * Set by the request plumbing (src/request-scope.ts) on a request's own scope: its response
   * hook calls `responded()`. Without it (a scope of no request) deferred work runs on the next
   * turn of the loop.
   */
  boundToResponse = false;
  private answered = false;

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

  /**
   * Runs `task` once the client's response has been sent (or the client left), on a later turn:
   * work that must not delay the answer (a shadow call, docs/parity.md) waits for it.
   */
  afterResponse(task: () => void): void {
    if (!this.boundToResponse || this.answered) {
      setImmediate(task);
      return;
    }
    (this.deferred ??= []).push(task);
  }

  /** The response has been sent (or the request aborted): deferred work may start. */
  responded(): void {
    this.answered = true;
    const tasks = this.deferred;
    if (!tasks) return;
    this.deferred = undefined;
    setImmediate(() => {
      for (const t of tasks) t();
    });
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
