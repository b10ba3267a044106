/**
 * An in-process LRU bounded by the bytes it holds, not by its number of entries: entries vary
 * from a 60-byte price to a several-kilobyte catalog product, so a count bound would either
 * waste memory or let the heap grow past the process's limit (src/cache/README in
 * docs/caching.md#memory). Each entry's size is given by the caller (an estimate is fine: the
 * bound is what keeps the heap predictable, not an exact byte count).
 *
 * Recency is the Map's insertion order: a hit moves the entry to the end, eviction takes from
 * the front. An entry larger than the whole bound is not kept.
 */
export interface LruEntry<V> {
  readonly value: V;
  readonly bytes: number;
}

export class ByteLru<V> {
  private readonly map = new Map<string, LruEntry<V>>();
  private held = 0;

  constructor(
    readonly maxBytes: number,
    /** told of every entry that leaves because of the bound (not of deletes and replacements) */
    private readonly onEvict: (key: string, entry: LruEntry<V>) => void = () => undefined,
  ) {}

  /** Bytes held now (the sum of the entries' sizes). */
  get bytes(): number {
    return this.held;
  }

  get size(): number {
    return this.map.size;
  }

  get(key: string): V | undefined {
    const e = this.map.get(key);
    if (e === undefined) return undefined;
    // most recently used: to the end of the insertion order
    this.map.delete(key);
    this.map.set(key, e);
    return e.value;
  }

  /** Without touching recency. */
  peek(key: string): V | undefined {
    return this.map.get(key)?.value;
  }

  /** Stores `value` as `bytes` bytes; false when it is larger than the whole bound (not stored). */
  set(key: string, value: V, bytes: number): boolean {
    const old = this.map.get(key);
    if (old !== undefined) {
      this.map.delete(key);
      this.held -= old.bytes;
    }
    if (bytes > this.maxBytes) return false;
    this.map.set(key, { value, bytes });
    this.held += bytes;
    while (this.held > this.maxBytes) {
      const first = this.map.entries().next();
      if (first.done === true) break;
      const [k, e] = first.value;
      this.map.delete(k);
      this.held -= e.bytes;
      this.onEvict(k, e);
    }
    return true;
  }

  delete(key: string): boolean {
    const e = this.map.get(key);
    if (e === undefined) return false;
    this.map.delete(key);
    this.held -= e.bytes;
    return true;
  }

  /** Deletes every entry whose key `match` accepts; returns how many. */
  deleteWhere(match: (key: string) => boolean): number {
    let n = 0;
    for (const [k, e] of this.map) {
      if (!match(k)) continue;
      this.map.delete(k);
      this.held -= e.bytes;
      n++;
    }
    return n;
  }

  clear(): void {
    this.map.clear();
    this.held = 0;
  }
}
