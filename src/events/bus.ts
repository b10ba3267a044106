/**
 * The gateway's in-process event bus: the one seam between what happens in the gateway and the
 * message broker.
 *
 * - **Gateway events** (`emit`): what the gateway itself decides (a route changed, a rollout
 *   step, a rollback, a parity alarm, a kill switch). Producers call `emit`; the AMQP publisher
 *   (src/events/, when `AMQP_URL` is set) listens and publishes each to the gateway's exchange
 *   with confirms and an outbox. Other listeners (the console's live stream, tests) subscribe
 *   the same way.
 * - **Domain events** (`deliver`): what the services announce (`price.changed`,
 *   `stock.changed`, `promotion.changed`). The AMQP consumer deduplicates by event id and
 *   delivers each once; listeners (the cache's purge) subscribe with `onDomain`.
 *
 * A listener that throws is logged and does not stop the others or the producer.
 */
import { randomUUID } from 'node:crypto';
import type { ContextName } from '../contexts/names.js';

/** Events the gateway produces. Extend the union when a new producer lands; keep names dotted, past tense. */
export type GatewayEventType =
  | 'route.changed'
  | 'rollout.started'
  | 'rollout.step'
  | 'rollout.paused'
  | 'rollout.resumed'
  | 'rollout.aborted'
  | 'rollout.rolled_back'
  | 'rollout.completed'
  | 'rollout.limits_changed'
  | 'parity.alarm'
  | 'kill.set'
  | 'kill.cleared';

export interface GatewayEvent {
  /** unique per event (a UUID): consumers deduplicate on it */
  readonly id: string;
  readonly type: GatewayEventType;
  /** ISO 8601 time of the emit */
  readonly at: string;
  /** the instance that emitted it (hostname:pid or GATEWAY_INSTANCE_ID) */
  readonly source: string;
  readonly context?: ContextName;
  /** who caused it: an operator's name, `controller`, `gateway` */
  readonly actor?: string;
  readonly data: Readonly<Record<string, unknown>>;
}

export type DomainEventType = 'price.changed' | 'stock.changed' | 'promotion.changed';

export interface DomainEvent {
  /** the publisher's event id: the same id delivered twice is one event */
  readonly id: string;
  readonly type: DomainEventType;
  readonly at: string;
  /** the publishing service's context */
  readonly context: ContextName;
  /** what changed, e.g. `{ sku, site }` for a price, `{ code }` for a promotion */
  readonly data: Readonly<Record<string, unknown>>;
}

export interface BusLogger {
  warn(obj: object, msg?: string): void;
}

type Listener<E> = (event: E) => void;

export class EventBus {
  private readonly gatewayListeners = new Set<Listener<GatewayEvent>>();
  private readonly domainListeners = new Set<Listener<DomainEvent>>();

  constructor(
    /** this instance's name in every event's `source` */
    readonly source: string,
    private readonly log: BusLogger,
  ) {}

  /** Emits a gateway event to every listener and returns it (with its id). */
  emit(type: GatewayEventType, data: Record<string, unknown>, opts: { context?: ContextName; actor?: string } = {}): GatewayEvent {
    const event: GatewayEvent = Object.freeze({
      id: randomUUID(),
      type,
      at: new Date().toISOString(),
      source: this.source,
      ...(opts.context === undefined ? {} : { context: opts.context }),
      ...(opts.actor === undefined ? {} : { actor: opts.actor }),
      data: Object.freeze({ ...data }),
    });
    this.call(this.gatewayListeners, event);
    return event;
  }

  /** Listens to gateway events; returns the unsubscribe. */
  onEmit(listener: Listener<GatewayEvent>): () => void {
    this.gatewayListeners.add(listener);
    return () => this.gatewayListeners.delete(listener);
  }

  /** Delivers a domain event (already deduplicated by the consumer) to every listener. */
  deliver(event: DomainEvent): void {
    this.call(this.domainListeners, event);
  }

  /** Listens to domain events; returns the unsubscribe. */
  onDomain(listener: Listener<DomainEvent>): () => void {
    this.domainListeners.add(listener);
    return () => this.domainListeners.delete(listener);
  }

  private call<E extends { type: string; id: string }>(listeners: Set<Listener<E>>, event: E): void {
    for (const l of listeners) {
      try {
        l(event);
      } catch (err) {
        this.log.warn({ event: 'bus.listener_failed', type: event.type, id: event.id, err }, `a listener of ${event.type} failed`);
      }
    }
  }
}
