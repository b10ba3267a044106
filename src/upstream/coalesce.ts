/**
 * Request coalescing for batch endpoints: the keys (SKUs) that concurrent inbound requests ask
 * of one batch endpoint during one turn of the event loop are fetched with one upstream call,
 * and each request gets the part of the answer it asked for.
 *
 * Under load a composed product made four upstream calls per request, and each call's fixed
 * cost (undici, the breaker, metrics, a span, JSON parsing and validation) was most of the
 * request's CPU. The new services answer up to `maxKeys` SKUs in one call, so requests that
 * arrive together share them: at 50 concurrent clients a call serves several requests, and the
 * services do less work too. A lone request waits for nothing but the end of the current turn
 * (setImmediate).
 *
 * What each request still owns: its own routing decision (only requests routed to the same
 * backend share a call, since each adapter has its own coalescer), its fallback (a failed call
 * fails every request that shared it; each then falls back, or not, on its own), and a
 * deadline (the shared call gets the earliest one). A payload that fails validation may be one
 * SKU's fault, so then every request that shared the call asks again alone, and only the
 * request whose SKU is bad sees the error. The shared call carries the first request's
 * `x-request-id` and trace context (its span is in that request's trace).
 */
import { GatewayError } from '../errors.js';
import type { Scope, ScopeLogger } from './scope.js';

/** What a batch fetch needs of the request(s) it serves. A Scope is one. */
export interface Caller {
  readonly outbound: Scope['outbound'];
  readonly log: ScopeLogger;
}

/** One upstream call for `keys`; `group` says what they share (a site, a language). */
export type BatchFetch<G, V> = (group: G, keys: readonly string[], caller: Caller) => Promise<Map<string, V>>;

interface Waiter<V> {
  keys: readonly string[];
  caller: Caller;
  resolve(value: Map<string, V>): void;
  reject(err: unknown): void;
}

interface Pending<G, V> {
  group: G;
  keys: Set<string>;
  waiters: Waiter<V>[];
}

export class Coalescer<G, V> {
  private readonly open = new Map<string, Pending<G, V>>();

  /**
   * @param fetch one upstream call for `keys` (at most `maxKeys`), on behalf of `caller`
   * @param maxKeys the batch endpoint's limit: a batch that would exceed it is sent as it is and a new one started
   */
  constructor(
    private readonly fetch: BatchFetch<G, V>,
    private readonly maxKeys: number,
  ) {}

  /**
   * The values of `keys` (absent keys: the upstream does not know them). Only requests with the
   * same `groupKey` share a call: it names everything `group` holds that the call depends on.
   */
  get(groupKey: string, group: G, keys: readonly string[], caller: Caller): Promise<Map<string, V>> {
    // a request that fills a batch by itself is sent as it is, as it would be without coalescing
    if (keys.length >= this.maxKeys) return this.fetch(group, keys, caller);
    let pending = this.open.get(groupKey);
    if (pending && pending.keys.size + keys.length > this.maxKeys) {
      this.open.delete(groupKey);
      this.send(pending);
      pending = undefined;
    }
    if (!pending) {
      const created: Pending<G, V> = { group, keys: new Set(), waiters: [] };
      this.open.set(groupKey, created);
      setImmediate(() => {
        if (this.open.get(groupKey) !== created) return; // already sent (full)
        this.open.delete(groupKey);
        this.send(created);
      });
      pending = created;
    }
    for (const k of keys) pending.keys.add(k);
    const p = pending;
    return new Promise<Map<string, V>>((resolve, reject) => p.waiters.push({ keys, caller, resolve, reject }));
  }

  private send(pending: Pending<G, V>): void {
    const { group, waiters } = pending;
    if (waiters.length === 1) {
      const w = waiters[0]!;
      this.fetch(group, w.keys, w.caller).then(w.resolve, w.reject);
      return;
    }
    this.fetch(group, [...pending.keys], sharedCaller(waiters)).then(
      (all) => {
        for (const w of waiters) w.resolve(subset(all, w.keys));
      },
      (err: unknown) => {
        if (err instanceof GatewayError && err.code === 'GW_ERR_UPSTREAM_INVALID_PAYLOAD') {
          // possibly one SKU's bad record: let each request find out about its own SKUs
          for (const w of waiters) this.fetch(group, w.keys, w.caller).then(w.resolve, w.reject);
          return;
        }
        for (const w of waiters) w.reject(err);
      },
    );
  }
}

function sharedCaller(waiters: readonly Waiter<unknown>[]): Caller {
  const lead = waiters[0]!.caller;
  let deadline = lead.outbound.deadline;
  for (const w of waiters) if (w.caller.outbound.deadline < deadline) deadline = w.caller.outbound.deadline;
  return { outbound: { headers: lead.outbound.headers, deadline }, log: lead.log };
}

function subset<V>(all: Map<string, V>, keys: readonly string[]): Map<string, V> {
  const out = new Map<string, V>();
  for (const k of keys) {
    const v = all.get(k);
    if (v !== undefined) out.set(k, v);
  }
  return out;
}
