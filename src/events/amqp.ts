/**
 * The gateway's side of the broker (docs/events.md), started when `AMQP_URL` is set:
 *
 * - **Consumer**: one exclusive, auto-delete queue per gateway process bound to
 *   `commerce.events` (`price.changed`, `stock.changed`, `promotion.changed`), so every instance
 *   sees every event. Each event is delivered to the bus (`gw.events.deliver`) once per event id
 *   (SeenSet), whatever the broker redelivers.
 * - **Publisher**: every gateway event the bus emits goes to a bounded outbox, published to
 *   `gateway.events` (routing key = type) on a confirm channel and removed only once the broker
 *   confirmed it. While the broker is down the outbox holds them; it is drained on reconnect.
 *   Beyond its bound the oldest are dropped, counted and logged: never silently lost.
 */
import type { ChannelModel, ConfirmChannel, ConsumeMessage, Channel } from 'amqplib';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { isContextName } from '../contexts/names.js';
import type { DomainEvent, EventBus, GatewayEvent } from './bus.js';
import { AmqpLink, type LinkLogger, type LinkState } from './link.js';
import { SeenSet } from './seen-set.js';
import { DOMAIN_EVENT_TYPES, DOMAIN_EXCHANGE, DomainEventWire, GATEWAY_EXCHANGE } from './schemas.js';

const checkDomain = TypeCompiler.Compile(DomainEventWire);

/** Events published per confirm round trip while draining. */
const BATCH = 256;
/** How long close() waits for the outbox to drain before counting the rest as dropped. */
const CLOSE_DRAIN_MS = 2000;

export interface EventsMetrics {
  consumed(type: string, lagSeconds: number): void;
  duplicate(type: string): void;
  rejected(): void;
  published(type: string): void;
  dropped(reason: 'outbox_full' | 'shutdown', n: number): void;
  outbox(size: number): void;
  connected(up: boolean): void;
  reconnected(): void;
}

export interface EventsOptions {
  url: string;
  reconnectMinMs: number;
  reconnectMaxMs: number;
  outboxMax: number;
  dedupeTtlMs: number;
  dedupeMax: number;
  bus: EventBus;
  metrics: EventsMetrics;
  log: LinkLogger & { error(obj: object, msg: string): void };
}

/** What /readyz reports of the broker link. */
export interface EventsStatus {
  state: LinkState;
  /** gateway events waiting for the broker */
  outbox: number;
  lastError: string | undefined;
}

export class AmqpEvents {
  private readonly link: AmqpLink;
  private readonly seen: SeenSet;
  private readonly outbox: GatewayEvent[] = [];
  private channel: ConfirmChannel | undefined;
  private draining: Promise<void> | undefined;
  private readonly unsubscribe: () => void;
  private closing = false;

  constructor(private readonly opts: EventsOptions) {
    this.seen = new SeenSet(opts.dedupeTtlMs, opts.dedupeMax);
    this.link = new AmqpLink({
      url: opts.url,
      reconnectMinMs: opts.reconnectMinMs,
      reconnectMaxMs: opts.reconnectMaxMs,
      log: opts.log,
      onState: (state) => {
        opts.metrics.connected(state === 'connected');
        if (state === 'connected' && this.link.reconnects > 0) opts.metrics.reconnected();
      },
    });
    opts.metrics.connected(false);
    opts.metrics.outbox(0);
    this.link.use((model) => this.setUpConsumer(model));
    this.link.use((model) => this.setUpPublisher(model));
    this.unsubscribe = opts.bus.onEmit((event) => this.enqueue(event));
  }

  start(): void {
    this.link.start();
  }

  status(): EventsStatus {
    return { state: this.link.state, outbox: this.outbox.length, lastError: this.link.lastError };
  }

  // --- consumer -------------------------------------------------------------------------------

  private async setUpConsumer(model: ChannelModel): Promise<void> {
    const ch = await model.createChannel();
    this.watch(model, ch, 'consumer');
    await ch.assertExchange(DOMAIN_EXCHANGE, 'topic', { durable: true });
    // server-named, exclusive, deleted with the connection: one per process, so every instance purges
    const { queue } = await ch.assertQueue('', { exclusive: true, autoDelete: true, durable: false });
    for (const type of DOMAIN_EVENT_TYPES) await ch.bindQueue(queue, DOMAIN_EXCHANGE, type);
    await ch.prefetch(256);
    await ch.consume(queue, (msg) => this.receive(ch, msg), { noAck: false });
  }

  private receive(ch: Channel, msg: ConsumeMessage | null): void {
    if (msg === null) return; // consumer cancelled by the broker: the channel closes, the link reconnects
    try {
      this.handle(msg.content);
    } finally {
      try {
        ch.ack(msg);
      } catch {
        // the channel closed meanwhile: the broker requeues it for no one (the queue goes with the connection)
      }
    }
  }

  /** One message body from commerce.events: validated, deduplicated, delivered. */
  private handle(content: Buffer): void {
    let body: unknown;
    try {
      body = JSON.parse(content.toString('utf8'));
    } catch {
      body = undefined;
    }
    if (!checkDomain.Check(body) || !isContextName(body.context)) {
      this.opts.metrics.rejected();
      this.opts.log.warn({ event: 'events.rejected', bytes: content.length }, 'a message on commerce.events is not a domain event: dropped');
      return;
    }
    const event = body as DomainEvent;
    if (!this.seen.firstSight(event.id)) {
      this.opts.metrics.duplicate(event.type);
      return;
    }
    const at = Date.parse(event.at);
    this.opts.metrics.consumed(event.type, Number.isFinite(at) ? Math.max(0, Date.now() - at) / 1000 : 0);
    this.opts.bus.deliver(event);
  }

  // --- publisher ------------------------------------------------------------------------------

  private async setUpPublisher(model: ChannelModel): Promise<void> {
    const ch = await model.createConfirmChannel();
    this.watch(model, ch, 'publisher', () => {
      if (this.channel === ch) this.channel = undefined;
    });
    await ch.assertExchange(GATEWAY_EXCHANGE, 'topic', { durable: true });
    this.channel = ch;
    void this.drain();
  }

  private enqueue(event: GatewayEvent): void {
    this.outbox.push(event);
    if (this.outbox.length > this.opts.outboxMax) {
      const lost = this.outbox.splice(0, this.outbox.length - this.opts.outboxMax);
      this.opts.metrics.dropped('outbox_full', lost.length);
      this.opts.log.error(
        { event: 'events.dropped', reason: 'outbox_full', dropped: lost.map((e) => ({ id: e.id, type: e.type, at: e.at })) },
        `gateway event outbox full (${this.opts.outboxMax}): dropped the oldest`,
      );
    }
    this.opts.metrics.outbox(this.outbox.length);
    void this.drain();
  }

  /** Publishes the outbox in batches, each removed once confirmed; one drain at a time. */
  private drain(): Promise<void> {
    if (!this.draining && this.channel && this.outbox.length > 0) {
      // `finally` runs as a later microtask: `draining` is set by then
      this.draining = this.drainLoop().finally(() => (this.draining = undefined));
    }
    return this.draining ?? Promise.resolve();
  }

  private async drainLoop(): Promise<void> {
    try {
      while (this.channel && this.outbox.length > 0) {
        const ch = this.channel;
        const batch = this.outbox.slice(0, BATCH);
        for (const e of batch) {
          ch.publish(GATEWAY_EXCHANGE, e.type, Buffer.from(JSON.stringify(e)), {
            persistent: true,
            contentType: 'application/json',
            messageId: e.id,
            type: e.type,
            timestamp: Math.floor(Date.parse(e.at) / 1000),
          });
        }
        await confirmed(ch); // rejects on a nack or when the channel closes: the batch stays
        const done = new Set(batch);
        const kept = this.outbox.filter((e) => !done.has(e));
        this.outbox.length = 0;
        this.outbox.push(...kept);
        for (const e of batch) this.opts.metrics.published(e.type);
        this.opts.metrics.outbox(this.outbox.length);
      }
    } catch (err) {
      // kept in the outbox; the link reconnects and drains again
      if (!this.closing) this.opts.log.warn({ event: 'events.publish_failed', err, outbox: this.outbox.length }, 'gateway events not confirmed: kept in the outbox');
    }
  }

  // --- both -----------------------------------------------------------------------------------

  /** A channel that fails on its own (not with its connection) takes the connection down: one recovery path. */
  private watch(model: ChannelModel, ch: Channel, role: string, onClose?: () => void): void {
    ch.on('error', (err: Error) => this.opts.log.warn({ event: 'amqp.channel_error', role, err: err.message }, `AMQP ${role} channel failed`));
    ch.on('close', () => {
      onClose?.();
      if (!this.closing) void model.close().catch(() => undefined);
    });
  }

  /** Stops taking events; gives the outbox a moment to drain; counts and logs what is left. */
  async close(): Promise<void> {
    this.unsubscribe();
    const deadline = Date.now() + CLOSE_DRAIN_MS;
    while (this.outbox.length > 0 && this.channel && Date.now() < deadline) {
      await Promise.race([this.drain(), new Promise((r) => setTimeout(r, 100))]);
    }
    this.closing = true;
    if (this.outbox.length > 0) {
      this.opts.metrics.dropped('shutdown', this.outbox.length);
      this.opts.log.error(
        { event: 'events.dropped', reason: 'shutdown', dropped: this.outbox.map((e) => ({ id: e.id, type: e.type, at: e.at })) },
        `${this.outbox.length} gateway events not published before shutdown`,
      );
      this.outbox.length = 0;
      this.opts.metrics.outbox(0);
    }
    await this.link.close();
  }
}

/** The broker's confirms of everything published on `ch`; rejects on a nack or when `ch` closes first. */
function confirmed(ch: ConfirmChannel): Promise<void> {
  let onClose: (() => void) | undefined;
  const closed = new Promise<never>((_resolve, reject) => {
    onClose = () => reject(new Error('channel closed before the broker confirmed'));
    ch.once('close', onClose);
  });
  return Promise.race([ch.waitForConfirms(), closed]).finally(() => ch.off('close', onClose!));
}
