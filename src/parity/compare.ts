/**
 * Comparison of two canonical answers of a context's port (what both arms return after their
 * anti-corruption layers): the differences, each at a concrete path (`prices.1000001.amount`) and
 * at its pattern (`prices.*.amount`: a Map key reads `*`, a list index `[]`), which is what rules
 * match and counters count, so cardinality stays bounded by the model, not by the catalog.
 *
 * Pure functions: no I/O, no clock. The shadow runner (./shadow.ts) calls them off the request path.
 */

/** JSON data: what a canonical answer becomes before it is compared (Maps become objects). */
export type Canonical = null | boolean | number | string | Canonical[] | { [key: string]: Canonical };

export interface Difference {
  /** concrete path, e.g. `prices.1000001.amount` */
  readonly path: string;
  /** the path with Map keys as `*` and list indexes as `[]`: what rules match, what is counted */
  readonly pattern: string;
  /** `null` where the field is absent on that side */
  readonly legacy: Canonical;
  readonly modern: Canonical;
  /** set when the differing field is the amount of a Money (both sides in this currency) */
  readonly currency?: string;
}

export interface CompareRules {
  readonly ignore?: readonly string[];
  readonly tolerance?: Readonly<Record<string, number>>;
  readonly unordered?: readonly string[];
}

/** Rules compiled once per context: each pattern a matcher over path segments. */
export class CompiledRules {
  private readonly ignore: ((pattern: string) => boolean)[];
  private readonly unordered: ((pattern: string) => boolean)[];
  private readonly tolerance: { match: (pattern: string) => boolean; by: number }[];

  constructor(rules: CompareRules = {}) {
    this.ignore = (rules.ignore ?? []).map(matcher);
    this.unordered = (rules.unordered ?? []).map(matcher);
    this.tolerance = Object.entries(rules.tolerance ?? {}).map(([p, by]) => ({ match: matcher(p), by }));
  }

  ignored(pattern: string): boolean {
    return this.ignore.some((m) => m(pattern));
  }
  isUnordered(pattern: string): boolean {
    return this.unordered.some((m) => m(pattern));
  }
  toleranceOf(pattern: string): number {
    return this.tolerance.find((t) => t.match(pattern))?.by ?? 0;
  }
}

/** Splits `a.*.b[].c` into segments (`a`, `*`, `b`, `[]`, `c`). */
function segments(pattern: string): string[] {
  return pattern.split(/\.|(?=\[\])/).filter((s) => s !== '');
}

/** A rule's matcher: segment by segment, `*` matching any one Map or object key. */
function matcher(rule: string): (pattern: string) => boolean {
  const want = segments(rule);
  return (pattern) => {
    const got = segments(pattern);
    if (got.length !== want.length) return false;
    return want.every((w, i) => w === '*' || w === got[i]);
  };
}

/**
 * A port's answer as JSON data: a Map becomes an object (its keys sorted, marked so its keys read
 * `*` in patterns), `undefined` fields are dropped, a Date its ISO string. Copies: the caller may
 * go on mutating what it was given.
 */
export function toCanonical(value: unknown): Canonical {
  return canon(value, 0);
}

/** Object keys that came from a Map: their keys vary with the data, so they read `*`. */
const MAP_KEYS = Symbol('map keys');
type MapObject = { [key: string]: Canonical } & { [MAP_KEYS]?: true };

function canon(value: unknown, depth: number): Canonical {
  if (depth > 32) return '[too deep]';
  if (value === null || value === undefined) return null;
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Map) {
    const out: MapObject = {};
    const entries = [...(value as Map<unknown, unknown>).entries()].map(([k, v]) => [String(k), v] as const);
    entries.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
    for (const [k, v] of entries) out[k] = canon(v, depth + 1);
    Object.defineProperty(out, MAP_KEYS, { value: true, enumerable: false });
    return out;
  }
  if (Array.isArray(value) || value instanceof Set) return [...(value as Iterable<unknown>)].map((v) => canon(v, depth + 1));
  if (typeof value === 'object') {
    const out: { [key: string]: Canonical } = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) if (v !== undefined && typeof v !== 'function') out[k] = canon(v, depth + 1);
    return out;
  }
  return null;
}

function isObject(v: Canonical): v is { [key: string]: Canonical } {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** A stable text of a value, for the multiset comparison of unordered lists. */
export function stableText(v: Canonical): string {
  if (Array.isArray(v)) return `[${v.map(stableText).join(',')}]`;
  if (isObject(v)) return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${stableText(v[k]!)}`).join(',')}}`;
  return JSON.stringify(v);
}

const join = (path: string, key: string) => (path === '' ? key : `${path}.${key}`);

/**
 * The differences between the legacy and the modern answer under `root` (the port method's name),
 * after the rules: ignored fields skipped, numbers within tolerance equal, unordered lists as
 * multisets. Empty: the answers agree.
 */
export function diff(legacy: Canonical, modern: Canonical, rules: CompiledRules, root = '', limit = 1000): Difference[] {
  const out: Difference[] = [];
  walk(legacy, modern, root, root, rules, out, limit, undefined);
  return out;
}

/**
 * Two numbers differ by more than `tolerance`, give or take binary rounding: 19.99 and 20.00 are a
 * cent apart as an operator reads them (a tolerance of 0.01 holds), though their floating-point
 * difference is 0.010000000000001563.
 */
function differ(a: number, b: number, tolerance: number): boolean {
  const d = Math.abs(a - b);
  return d > tolerance && d - tolerance > 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
}

function walk(a: Canonical, b: Canonical, path: string, pattern: string, rules: CompiledRules, out: Difference[], limit: number, currency: string | undefined): void {
  if (out.length >= limit || rules.ignored(pattern)) return;
  if (typeof a === 'number' && typeof b === 'number') {
    if (differ(a, b, rules.toleranceOf(pattern))) out.push(currency === undefined ? { path, pattern, legacy: a, modern: b } : { path, pattern, legacy: a, modern: b, currency });
    return;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    if (rules.isUnordered(pattern)) return multiset(a, b, path, pattern, out, limit);
    const n = Math.max(a.length, b.length);
    for (let i = 0; i < n; i++) walk(a[i] ?? null, b[i] ?? null, `${path}[${i}]`, `${pattern}[]`, rules, out, limit, undefined);
    return;
  }
  if (isObject(a) && isObject(b)) {
    const mapKeys = (a as MapObject)[MAP_KEYS] === true || (b as MapObject)[MAP_KEYS] === true;
    // the amount of a Money: a difference says in which currency (business signal: money involved)
    const money = typeof a.currency === 'string' && a.currency === b.currency ? a.currency : undefined;
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) {
      walk(a[k] ?? null, b[k] ?? null, join(path, k), join(pattern, mapKeys ? '*' : k), rules, out, limit, k === 'amount' ? money : undefined);
    }
    return;
  }
  if (a === b) return;
  // different types, or one side absent, or two different scalars
  if (stableText(a) !== stableText(b)) out.push({ path, pattern, legacy: a, modern: b });
}

/** An unordered list: the items only one side has, each a difference at the list's `[]`. */
function multiset(a: Canonical[], b: Canonical[], path: string, pattern: string, out: Difference[], limit: number): void {
  const counts = new Map<string, { n: number; item: Canonical }>();
  for (const x of a) {
    const k = stableText(x);
    const c = counts.get(k);
    if (c) c.n++;
    else counts.set(k, { n: 1, item: x });
  }
  const extra: Canonical[] = [];
  for (const y of b) {
    const c = counts.get(stableText(y));
    if (c && c.n > 0) c.n--;
    else extra.push(y);
  }
  for (const { n, item } of counts.values()) for (let i = 0; i < n && out.length < limit; i++) out.push({ path: `${path}[]`, pattern: `${pattern}[]`, legacy: item, modern: null });
  for (const y of extra) if (out.length < limit) out.push({ path: `${path}[]`, pattern: `${pattern}[]`, legacy: null, modern: y });
}

const SECRET_KEY = /pass(word)?|secret|token|authori[sz]ation|cookie|e-?mail|phone|card|iban|ssn/i;

/**
 * A payload as kept in a sample: secrets and personal fields masked by key, long strings cut,
 * the whole bounded (a sample is for reading, not a copy of the catalog).
 */
export function redact(v: Canonical, budget = { left: 400 }): Canonical {
  if (budget.left-- <= 0) return '[…]';
  if (typeof v === 'string') return v.length > 200 ? `${v.slice(0, 200)}…` : v;
  if (Array.isArray(v)) return v.map((x) => redact(x, budget));
  if (isObject(v)) {
    const out: { [key: string]: Canonical } = {};
    for (const [k, x] of Object.entries(v)) out[k] = SECRET_KEY.test(k) ? '[redacted]' : redact(x, budget);
    return out;
  }
  return v;
}
