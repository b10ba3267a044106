/**
 * A cheap estimate of the heap bytes a JSON-like value holds, for the LRU's byte bound
 * (src/cache/lru.ts). Not exact (V8's layout varies): it walks the value once without
 * serializing it, so sizing a miss costs less than a JSON.stringify would.
 */
const OBJECT = 48;
const SLOT = 16;

export function approxBytes(v: unknown, depth = 0): number {
  switch (typeof v) {
    case 'string':
      return 16 + v.length;
    case 'number':
    case 'boolean':
      return 8;
    case 'object': {
      if (v === null) return 8;
      if (depth > 8) return OBJECT;
      if (v instanceof Map) {
        let n = OBJECT;
        for (const [k, x] of v as Map<unknown, unknown>) n += SLOT + approxBytes(k, depth + 1) + approxBytes(x, depth + 1);
        return n;
      }
      if (Array.isArray(v)) {
        let n = OBJECT;
        for (const x of v) n += SLOT + approxBytes(x, depth + 1);
        return n;
      }
      let n = OBJECT;
      for (const k in v) n += SLOT + k.length + approxBytes((v as Record<string, unknown>)[k], depth + 1);
      return n;
    }
    default:
      return 8;
  }
}
