/**
 * The result type of every anti-corruption mapper and payload validator (docs/ARCHITECTURE.md#anti-corruption-mappers): a mapper
 * never throws on bad upstream data, it says where the payload is wrong. Paths are JSON Pointers
 * (RFC 6901) into the upstream payload, so a 502 problem can point at the offending field.
 */
import { FormatRegistry, type Static, type TSchema } from '@sinclair/typebox';
import { TypeCompiler, ValueErrorType, type ValueError } from '@sinclair/typebox/compiler';

export interface MapError {
  path: string;
  message: string;
}

export type MapResult<T> = { ok: true; value: T } | { ok: false; errors: MapError[] };

/** Cap on reported errors: a drifted payload can fail on every element of a 100-item batch. */
export const MAX_ERRORS = 10;

export function ok<T>(value: T): MapResult<T> {
  return { ok: true, value };
}

export function fail<T = never>(errors: MapError[]): MapResult<T> {
  return { ok: false, errors: errors.slice(0, MAX_ERRORS) };
}

export function failAt<T = never>(path: string, message: string): MapResult<T> {
  return fail([{ path, message }]);
}

/** Escapes one reference token (RFC 6901 §3) and appends it to a pointer. */
export function pointer(base: string, ...tokens: (string | number)[]): string {
  return tokens.reduce<string>(
    (acc, t) => `${acc}/${String(t).replaceAll('~', '~0').replaceAll('/', '~1')}`,
    base,
  );
}

/** Prefixes the paths of errors found in a nested value (e.g. an entry's price). */
export function prefixErrors(prefix: string, errors: MapError[]): MapError[] {
  return errors.map((e) => ({ path: prefix + e.path, message: e.message }));
}

/**
 * RFC 3339 `date-time` (§5.6). TypeBox rejects any format it does not know, so the format the
 * canonical model uses must be registered before a schema using it is checked.
 */
const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:[Zz]|[+-](\d{2}):(\d{2}))$/;

/** Calendar check: `Date.parse` rolls 2026-02-30 over to March instead of rejecting it. */
export function isValidDateTimeParts(
  year: number, month: number, day: number, hour: number, minute: number, second: number,
): boolean {
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return false;
  return day <= new Date(Date.UTC(year, month, 0)).getUTCDate();
}

export function isRfc3339DateTime(s: string): boolean {
  const m = RFC3339.exec(s);
  if (!m) return false;
  const [y, mo, d, h, mi, se, oh, om] = m.slice(1).map((g) => (g === undefined ? 0 : Number(g)));
  return isValidDateTimeParts(y ?? 0, mo ?? 0, d ?? 0, h ?? 0, mi ?? 0, se ?? 0) && (oh ?? 0) <= 23 && (om ?? 0) <= 59;
}
if (!FormatRegistry.Has('date-time')) FormatRegistry.Set('date-time', isRfc3339DateTime);

/**
 * A schema may carry `errorMessage` (a non-validating keyword TypeBox keeps) to replace a message
 * that would only quote a regular expression.
 */
function describe(error: ValueError): string {
  if (error.type === ValueErrorType.ObjectRequiredProperty) return error.message;
  const schema = error.schema as { anyOf?: { const?: unknown }[]; errorMessage?: unknown };
  if (typeof schema.errorMessage === 'string') return schema.errorMessage;
  // A union of literals is an enum: name the allowed values rather than "Expected union value".
  if (Array.isArray(schema.anyOf) && schema.anyOf.length > 0 && schema.anyOf.every((s) => 'const' in s)) {
    return `Expected one of ${schema.anyOf.map((s) => JSON.stringify(s.const)).join(', ')}`;
  }
  return error.message;
}

/**
 * Compiles `schema` once (call it at module load) and returns a checker. On failure it reports
 * at most MAX_ERRORS errors, the first per path: a missing property would otherwise be reported
 * twice ("required property", then "expected string").
 */
export function validator<S extends TSchema>(
  schema: S,
  references: TSchema[] = [],
): (x: unknown) => MapResult<Static<S>> {
  const compiled = TypeCompiler.Compile(schema, references);
  return (x: unknown) => {
    if (compiled.Check(x)) return { ok: true, value: x };
    const errors: MapError[] = [];
    const seen = new Set<string>();
    for (const e of compiled.Errors(x)) {
      if (seen.has(e.path)) continue;
      seen.add(e.path);
      errors.push({ path: e.path, message: describe(e) });
      if (errors.length >= MAX_ERRORS) break;
    }
    return { ok: false, errors };
  };
}

/** Collects the values of many results, or every error (paths already absolute). */
export function all<T>(results: MapResult<T>[]): MapResult<T[]> {
  const values: T[] = [];
  const errors: MapError[] = [];
  for (const r of results) {
    if (r.ok) values.push(r.value);
    else errors.push(...r.errors);
  }
  return errors.length > 0 ? fail(errors) : ok(values);
}

/**
 * A batch answer (`{<list>: [{sku, ...}], missing: [sku]}`) that lists a SKU twice, or both
 * answered and missing, is ambiguous: which entry is right? Every batch payload is checked so.
 */
export function batchSkuErrors(listName: string, items: readonly { sku: string }[], missing: readonly string[]): MapError[] {
  const errors: MapError[] = [];
  const seen = new Set<string>();
  items.forEach((item, i) => {
    if (seen.has(item.sku)) errors.push({ path: `/${listName}/${i}/sku`, message: `SKU ${item.sku} is listed twice` });
    seen.add(item.sku);
  });
  missing.forEach((sku, i) => {
    if (seen.has(sku)) errors.push({ path: `/missing/${i}`, message: `SKU ${sku} is both listed and missing` });
    seen.add(sku);
  });
  return errors;
}
