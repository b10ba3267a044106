/**
 * An upstream's circuit breaker. It opens on whichever comes first:
 * - `consecutive` failures in a row (a dead or stalled upstream: reacts at once, however many
 *   successes came before the fault),
 * - `errorPercent` failures over the rolling `windowMs` once it holds `volume` calls (an upstream
 *   failing part of the time).
 * A call still waiting after `slowMs` counts as a failure right then, not when its timeout ends
 * it: a stalled upstream opens the breaker about `slowMs` after it stalled, while every request
 * would otherwise wait for its whole timeout. Open, it rejects calls for `resetMs`, then lets one
 * probe through (half-open): the probe's answer closes it at once, however long it took; its
 * failure opens it for another `resetMs`.
 */
export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerOptions {
  errorPercent: number;
  volume: number;
  windowMs: number;
  resetMs: number;
  /** failures in a row that open the breaker (0 or unset: off) */
  consecutive?: number;
  /** a call pending this long counts as failed (0 or unset: off) */
  slowMs?: number;
}

export const DEFAULT_BREAKER: Readonly<BreakerOptions> = Object.freeze({ errorPercent: 50, volume: 10, windowMs: 2000, resetMs: 1000, consecutive: 5, slowMs: 1000 });

const BUCKETS = 10;

/** One admitted call; settle it exactly once with `succeeded` or `failed`. */
export interface BreakerTicket {
  readonly probe: boolean;
  /** counted already: it was slow */
  counted: boolean;
  timer: NodeJS.Timeout | undefined;
}

export class Breaker {
  private stateNow: BreakerState = 'closed';
  private readonly ok = new Array<number>(BUCKETS).fill(0);
  private readonly failures = new Array<number>(BUCKETS).fill(0);
  /** the bucket the counters were last written to, as an absolute bucket number */
  private bucketAt = 0;
  private inARow = 0;
  private probing = false;
  private resetTimer: NodeJS.Timeout | undefined;
  private readonly listeners: ((state: BreakerState) => void)[] = [];
  private readonly bucketMs: number;

  constructor(private readonly opts: BreakerOptions) {
    this.bucketMs = Math.max(1, Math.floor(opts.windowMs / BUCKETS));
  }

  get state(): BreakerState {
    return this.stateNow;
  }

  onChange(listener: (state: BreakerState) => void): void {
    this.listeners.push(listener);
  }

  /**
   * A ticket for a call that may take up to `timeoutMs`, or undefined when the breaker rejects it
   * (open, or a probe is out).
   */
  admit(timeoutMs = Infinity): BreakerTicket | undefined {
    if (this.stateNow === 'open') return undefined;
    const probe = this.stateNow === 'half-open';
    if (probe) {
      if (this.probing) return undefined;
      this.probing = true;
    }
    const ticket: BreakerTicket = { probe, counted: false, timer: undefined };
    // A probe waits for its answer: it is what tells a slow upstream from a dead one. A call whose
    // timeout comes first needs no timer: its timeout is counted as a failure when it ends it.
    if (!probe && this.opts.slowMs && this.opts.slowMs < timeoutMs) {
      ticket.timer = setTimeout(() => {
        ticket.timer = undefined;
        ticket.counted = true;
        this.recordFailure();
      }, this.opts.slowMs);
    }
    return ticket;
  }

  succeeded(ticket: BreakerTicket): void {
    this.settle(ticket);
    if (ticket.probe) {
      this.probing = false;
      if (this.stateNow === 'half-open') this.close();
      return;
    }
    if (ticket.counted || this.stateNow !== 'closed') return;
    this.roll();
    this.ok[this.bucketAt % BUCKETS]!++;
    this.inARow = 0;
  }

  failed(ticket: BreakerTicket): void {
    this.settle(ticket);
    if (ticket.probe) {
      this.probing = false;
      if (this.stateNow === 'half-open') this.open();
      return;
    }
    if (!ticket.counted) this.recordFailure();
  }

  /** Stops the timers (the upstream is closing). */
  shutdown(): void {
    clearTimeout(this.resetTimer);
  }

  private settle(ticket: BreakerTicket): void {
    if (ticket.timer) clearTimeout(ticket.timer);
    ticket.timer = undefined;
  }

  private recordFailure(): void {
    if (this.stateNow !== 'closed') return;
    this.roll();
    this.failures[this.bucketAt % BUCKETS]!++;
    this.inARow++;
    if (this.opts.consecutive && this.inARow >= this.opts.consecutive) return this.open();
    let ok = 0;
    let failed = 0;
    for (let i = 0; i < BUCKETS; i++) {
      ok += this.ok[i]!;
      failed += this.failures[i]!;
    }
    const total = ok + failed;
    if (total >= this.opts.volume && (failed * 100) / total >= this.opts.errorPercent) this.open();
  }

  /** Moves the window to now, clearing the buckets that fell out of it. */
  private roll(): void {
    const now = Math.floor(Date.now() / this.bucketMs);
    const gone = Math.min(BUCKETS, now - this.bucketAt);
    for (let i = 1; i <= gone; i++) {
      const b = (this.bucketAt + i) % BUCKETS;
      this.ok[b] = 0;
      this.failures[b] = 0;
    }
    if (now > this.bucketAt) this.bucketAt = now;
  }

  private open(): void {
    this.set('open');
    clearTimeout(this.resetTimer);
    this.resetTimer = setTimeout(() => {
      this.resetTimer = undefined;
      this.set('half-open');
    }, this.opts.resetMs);
    this.resetTimer.unref();
  }

  private close(): void {
    this.ok.fill(0);
    this.failures.fill(0);
    this.inARow = 0;
    this.set('closed');
  }

  private set(state: BreakerState): void {
    if (this.stateNow === state) return;
    this.stateNow = state;
    for (const l of this.listeners) l(state);
  }
}
