/**
 * The gateway's stickiness service: the identity resolver (src/routing/identity.ts), the
 * bindings that carry a shopper's key across a cart creation and a login + cart merge
 * (src/routing/sticky-bindings.ts), and the two metrics that say whether it holds:
 * `gateway_stickiness_source_total{source}` and `gateway_stickiness_arm_changes_total{context}`.
 */
import { CONTEXTS } from '../config/load.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import type { Scalar } from '../observability/families.js';
import type { RoutingDecision } from './decide.js';
import type { FlagProvider } from './flag-provider.js';
import { IdentityResolver, STICKINESS_SOURCES, type Identity, type StickinessSource } from './identity.js';
import type { BindingStore } from './sticky-bindings.js';

/** Keys whose last decision is remembered for the arm-change counter (oldest forgotten first). */
export const MAX_TRACKED_KEYS = 50_000;

export interface StickinessLogger {
  warn(obj: object, msg: string): void;
}

export class Stickiness {
  private readonly sourceSeries: Record<StickinessSource, Scalar>;
  private readonly changeSeries: Scalar[];
  /** per shopper key (+ the non-identity part of the flag context): its last decision */
  private readonly lastArms = new Map<string, RoutingDecision>();
  private readonly unsubscribe: () => void;
  private lastStoreWarning = 0;

  constructor(
    readonly resolver: IdentityResolver,
    readonly store: BindingStore,
    private readonly ttlMs: number,
    metrics: GatewayMetrics,
    flags: FlagProvider,
    private readonly log: StickinessLogger,
    private readonly maxTracked = MAX_TRACKED_KEYS,
  ) {
    this.sourceSeries = Object.fromEntries(STICKINESS_SOURCES.map((s) => [s, metrics.stickinessSources.child(s)])) as Record<StickinessSource, Scalar>;
    this.changeSeries = CONTEXTS.map((c) => metrics.stickinessArmChanges.child(c));
    // A flag change may move any key: what was remembered before says nothing about after.
    this.unsubscribe = flags.onChange(() => this.lastArms.clear());
  }

  /** Replaces the identity's key by its binding, if it has one (an unreachable store: unbound). */
  async applyBinding(id: Identity): Promise<void> {
    if (id.bindingKey === undefined) return;
    try {
      const to = await this.store.get(id.bindingKey);
      if (to !== undefined) id.effective = to;
    } catch (err) {
      this.storeFailed('read', err);
    }
  }

  /**
   * After the monolith created a cart (`POST /users/{userId}/carts`): the new cart's guid is
   * bound to the shopper's key; with `oldCartId` (a login merging the anonymous cart) the user is
   * first bound to the anonymous cart's key, so the user keeps the arms the shopper had.
   */
  async cartCreated(id: Identity, created: { guid: string | undefined; oldCartId: string | undefined }): Promise<void> {
    try {
      if (created.oldCartId !== undefined && id.user && id.bindingKey !== undefined) {
        const anonymousKey = (await this.store.get(IdentityResolver.cartBindingKey(created.oldCartId))) ?? created.oldCartId;
        await this.store.set(id.bindingKey, anonymousKey, this.ttlMs);
        id.effective = anonymousKey;
      }
      if (created.guid !== undefined) await this.store.set(IdentityResolver.cartBindingKey(created.guid), id.effective, this.ttlMs);
    } catch (err) {
      this.storeFailed('write', err);
    }
  }

  /**
   * One routing decision made for `id`: counts its source, and compares it with the last
   * decision of every key the request carried (and of the key it was routed by) under the same
   * site, currency and channel. A context on another arm is an arm change.
   */
  decided(id: Identity, facts: string, decision: RoutingDecision): void {
    this.sourceSeries[id.source].inc();
    this.track(`${id.effective}\0${facts}`, decision);
    for (const k of id.carried) this.track(`${k}\0${facts}`, decision);
  }

  private track(key: string, decision: RoutingDecision): void {
    const last = this.lastArms.get(key);
    if (last === decision) return;
    if (last !== undefined) {
      for (let i = 0; i < CONTEXTS.length; i++) {
        const c = CONTEXTS[i]!;
        if (last[c] !== decision[c]) this.changeSeries[i]!.inc();
      }
      this.lastArms.delete(key);
    } else if (this.lastArms.size >= this.maxTracked) {
      this.lastArms.delete(this.lastArms.keys().next().value as string);
    }
    this.lastArms.set(key, decision);
  }

  private storeFailed(op: 'read' | 'write', err: unknown): void {
    const now = Date.now();
    if (now - this.lastStoreWarning < 10_000) return; // one line per 10 s, not one per request
    this.lastStoreWarning = now;
    this.log.warn({ event: 'sticky.store_failed', op, store: this.store.kind, err }, `sticky bindings could not be ${op === 'read' ? 'read (routing by the unbound key)' : 'written'}`);
  }

  async close(): Promise<void> {
    this.unsubscribe();
    this.lastArms.clear();
    await this.store.close();
  }
}
