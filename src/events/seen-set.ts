/**
 * The ids of the domain events already delivered, so a redelivery (the broker's at-least-once,
 * a publisher retrying after a lost confirm, an event replayed by hand) is delivered once.
 * Bounded two ways: an id is forgotten after `ttlMs`, and beyond `max` ids the oldest go first.
 */
export class SeenSet {
  /** id → when it is forgotten; a Map iterates in insertion order, so the oldest come first */
  private readonly ids = new Map<string, number>();

  constructor(
    private readonly ttlMs: number,
    private readonly max: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** True the first time `id` is seen within the window (and remembers it); false for a repeat. */
  firstSight(id: string): boolean {
    const now = this.now();
    this.expire(now);
    const until = this.ids.get(id);
    if (until !== undefined && until > now) return false;
    this.ids.delete(id);
    this.ids.set(id, now + this.ttlMs);
    while (this.ids.size > this.max) this.ids.delete(this.ids.keys().next().value as string);
    return true;
  }

  get size(): number {
    return this.ids.size;
  }

  private expire(now: number): void {
    for (const [id, until] of this.ids) {
      if (until > now) break; // insertion order is expiry order (one TTL for all)
      this.ids.delete(id);
    }
  }
}
