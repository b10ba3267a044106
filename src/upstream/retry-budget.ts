/**
 * A retry budget per upstream (as in Finagle and gRPC): retries may add at most `percent` of the
 * calls of the last second, with a small floor so a quiet upstream can still retry a blip. A
 * failing upstream therefore sees at most (1 + percent) × the client load, never a retry storm.
 */
export class RetryBudget {
  private windowStart = 0;
  private calls = 0;
  private retries = 0;

  constructor(
    private readonly percent: number,
    private readonly floorPerSecond = 5,
  ) {}

  recordCall(now = Date.now()): void {
    this.roll(now);
    this.calls++;
  }

  tryRetry(now = Date.now()): boolean {
    this.roll(now);
    const allowed = Math.max(this.floorPerSecond, (this.calls * this.percent) / 100);
    if (this.percent === 0 || this.retries >= allowed) return false;
    this.retries++;
    return true;
  }

  private roll(now: number): void {
    if (now - this.windowStart >= 1000) {
      this.windowStart = now;
      this.calls = 0;
      this.retries = 0;
    }
  }
}
