/**
 * The gateway's connection to the AMQP broker: connects, and after any loss (broker down, a
 * network cut, a channel error) reconnects with exponential backoff and jitter, for ever, until
 * closed. On every (re)connection it runs the `setup` steps of its users (the consumer declares
 * its queue, the publisher opens its confirm channel and drains its outbox). The gateway serves
 * whatever the link's state: events are not on the request path.
 */
import { connect, type ChannelModel } from 'amqplib';

export type LinkState = 'connecting' | 'connected' | 'closed';

export interface LinkLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface LinkOptions {
  url: string;
  reconnectMinMs: number;
  reconnectMaxMs: number;
  log: LinkLogger;
  /** told of every state change (metrics) */
  onState?: (state: LinkState) => void;
}

/** A user of the link: `setup` runs on each new connection (a throw drops it and retries). */
export type LinkSetup = (model: ChannelModel) => Promise<void>;

export class AmqpLink {
  private model: ChannelModel | undefined;
  private readonly setups: LinkSetup[] = [];
  private timer: NodeJS.Timeout | undefined;
  private attempt = 0;
  private closed = false;
  private _state: LinkState = 'connecting';
  /** why the link is not connected (the last error), for /readyz */
  lastError: string | undefined;
  /** successful connections after the first */
  reconnects = 0;
  private connectedOnce = false;

  constructor(private readonly opts: LinkOptions) {}

  get state(): LinkState {
    return this._state;
  }

  /** Registers a setup step; runs on the current connection too, if there is one. */
  use(setup: LinkSetup): void {
    this.setups.push(setup);
    if (this.model) void setup(this.model).catch((err: unknown) => this.drop(this.model, err));
  }

  /** Starts connecting (does not wait for the broker). */
  start(): void {
    void this.connectOnce();
  }

  private setState(state: LinkState): void {
    if (this._state === state) return;
    this._state = state;
    this.opts.onState?.(state);
  }

  private async connectOnce(): Promise<void> {
    this.timer = undefined;
    if (this.closed) return;
    this.setState('connecting');
    let model: ChannelModel | undefined;
    try {
      model = await connect(this.opts.url);
      if (this.closed) {
        await model.close().catch(() => undefined);
        return;
      }
      const m = model;
      m.on('error', (err: Error) => (this.lastError = err.message)); // 'close' follows
      m.on('close', (err?: Error) => this.drop(m, err ?? new Error('connection closed')));
      this.model = m;
      for (const setup of this.setups) await setup(m);
      this.attempt = 0;
      this.lastError = undefined;
      if (this.connectedOnce) this.reconnects++;
      this.connectedOnce = true;
      this.setState('connected');
      this.opts.log.info({ event: 'amqp.connected', reconnects: this.reconnects }, 'connected to the AMQP broker');
    } catch (err) {
      if (model && this.model === model) {
        this.drop(model, err);
        return;
      }
      await model?.close().catch(() => undefined);
      this.lastError = err instanceof Error ? err.message : String(err);
      // 1st, 2nd, 4th, 8th … failed attempt: visible without a line per retry during a long outage
      if ((this.attempt & (this.attempt - 1)) === 0) this.opts.log.warn({ event: 'amqp.connect_failed', attempt: this.attempt + 1, reason: this.lastError }, 'cannot reach the AMQP broker: retrying with backoff');
      this.schedule();
    }
  }

  /** The connection `model` is lost (or a setup failed on it): forget it and reconnect later. */
  private drop(model: ChannelModel | undefined, err: unknown): void {
    if (model === undefined || this.model !== model) return;
    this.model = undefined;
    this.lastError = err instanceof Error ? err.message : String(err);
    void model.close().catch(() => undefined);
    if (this.closed) return;
    this.opts.log.warn({ event: 'amqp.disconnected', reason: this.lastError }, 'lost the AMQP broker: reconnecting with backoff');
    this.schedule();
  }

  private schedule(): void {
    if (this.closed || this.timer) return;
    this.setState('connecting');
    const { reconnectMinMs: min, reconnectMaxMs: max } = this.opts;
    const base = Math.min(max, min * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    // ±20 % jitter, so instances do not reconnect in step after a broker restart
    const delay = Math.round(base * (0.8 + Math.random() * 0.4));
    this.timer = setTimeout(() => void this.connectOnce(), delay);
    this.timer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const model = this.model;
    this.model = undefined;
    this.setState('closed');
    await model?.close().catch(() => undefined);
  }
}
