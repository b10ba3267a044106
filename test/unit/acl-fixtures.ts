/**
 * Golden-fixture runner for the ACL tests. Fixtures are data: `test/fixtures/acl/<context>/
 * <function>/<case>.json` with `input` (and `args`, extra arguments) and either `expected` (the
 * exact output; for a mapper returning MapResult, its value) or `errors` (the mapper must refuse
 * the payload with at least these paths, each message containing `message` if given).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';

const ROOT = fileURLToPath(new URL('../fixtures/acl/', import.meta.url));

interface Fixture {
  description: string;
  input: unknown;
  args?: unknown[];
  expected?: unknown;
  errors?: { path: string; message?: string }[];
}

type Fn = (input: never, ...args: never[]) => unknown;

function isMapResult(x: unknown): x is { ok: true; value: unknown } | { ok: false; errors: { path: string; message: string }[] } {
  return typeof x === 'object' && x !== null && 'ok' in x && typeof (x as { ok: unknown }).ok === 'boolean';
}

export function runFixtures(t: Test, context: string, fns: Record<string, Fn>, options: { mapResult: readonly string[] }): void {
  const dirs = readdirSync(`${ROOT}${context}`);
  t.same(dirs.filter((d) => !(d in fns)), [], 'every fixture directory names a function under test');
  for (const name of Object.keys(fns)) t.ok(dirs.includes(name), `${name} has fixtures`);
  for (const dir of dirs) {
    const fn = fns[dir] as ((input: unknown, ...args: unknown[]) => unknown) | undefined;
    if (!fn) continue;
    const returnsMapResult = options.mapResult.includes(dir);
    for (const file of readdirSync(`${ROOT}${context}/${dir}`).filter((f) => f.endsWith('.json')).sort()) {
      const fx = JSON.parse(readFileSync(`${ROOT}${context}/${dir}/${file}`, 'utf8')) as Fixture;
      t.test(`${dir}/${file}: ${fx.description}`, async (t) => {
        const frozenInput = JSON.stringify(fx.input);
        const out = fn(fx.input, ...(fx.args ?? []));
        t.equal(JSON.stringify(fx.input), frozenInput, 'the input is not mutated');
        if (fx.errors) {
          t.ok(returnsMapResult && isMapResult(out) && !out.ok, 'refused');
          const errors = isMapResult(out) && !out.ok ? out.errors : [];
          t.ok(errors.length <= 10, 'at most 10 errors');
          for (const want of fx.errors) {
            const hit = errors.find((e) => e.path === want.path && (want.message === undefined || e.message.includes(want.message)));
            t.ok(hit, `error at ${JSON.stringify(want.path)}${want.message ? ` mentioning "${want.message}"` : ''}`, { found: errors });
          }
          return;
        }
        if (returnsMapResult) {
          t.ok(isMapResult(out) && out.ok, 'accepted', { result: out });
          if (isMapResult(out) && out.ok) {
            t.strictSame(out.value, fx.expected, 'exact canonical value');
            t.equal(JSON.stringify(out.value), JSON.stringify(fx.expected), 'same key order');
          }
        } else {
          t.strictSame(out, fx.expected, 'exact OCC value');
          // The gateway's OCC answers must be byte-identical to the simulator's.
          t.equal(JSON.stringify(out), JSON.stringify(fx.expected), 'byte-identical JSON');
        }
      });
    }
  }
}
