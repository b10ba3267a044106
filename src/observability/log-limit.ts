/**
 * At most `perWindow` log lines of one kind (e.g. one error code) per window, then one summary
 * line with how many were left out. During an outage every rejected request used to log its own
 * error line (35,393 in one run): the first few say what is wrong, the count says how much.
 */
export interface SuppressedSummary {
  key: string;
  suppressed: number;
  windowMs: number;
}

interface Window {
  start: number;
  logged: number;
  suppressed: number;
}

export class RepeatedLogLimiter {
  private readonly windows = new Map<string, Window>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly perWindow: number,
    private readonly windowMs: number,
    private readonly onSuppressed: (summary: SuppressedSummary) => void,
  ) {
    // the summary of a burst that ended is written even if no line of its kind follows
    this.timer = setInterval(() => this.flush(), windowMs);
    this.timer.unref();
  }

  /** Whether a line of this kind may be logged now. */
  allow(key: string, now = Date.now()): boolean {
    let w = this.windows.get(key);
    if (w && now - w.start >= this.windowMs) {
      this.end(key, w);
      w = undefined;
    }
    if (!w) {
      w = { start: now, logged: 0, suppressed: 0 };
      this.windows.set(key, w);
    }
    if (w.logged < this.perWindow) {
      w.logged++;
      return true;
    }
    w.suppressed++;
    return false;
  }

  /** Ends every window that is over, writing its summary. */
  flush(now = Date.now()): void {
    for (const [key, w] of this.windows) if (now - w.start >= this.windowMs) this.end(key, w);
  }

  close(): void {
    clearInterval(this.timer);
    this.flush(Infinity);
  }

  private end(key: string, w: Window): void {
    this.windows.delete(key);
    if (w.suppressed > 0) this.onSuppressed({ key, suppressed: w.suppressed, windowMs: this.windowMs });
  }
}
