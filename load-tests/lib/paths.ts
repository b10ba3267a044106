/**
 * Where things are in this repository, and the mapping between a TypeScript source and its
 * compiled counterpart in both directions. Only paths: the profile summary (and its unit test)
 * import this without loading the process-starting machinery of stack.ts.
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Where `npm run build` puts the compiled gateway, backends and harness children. */
const DIST = join(ROOT, 'dist');

/** The compiled counterpart of a TypeScript entry of this repository. */
export function compiled(tsPath: string): string {
  return join(DIST, tsPath.replace(/\.ts$/, '.js'));
}

/**
 * The inverse of `compiled`, on paths relative to ROOT: `dist/src/app.js` → `src/app.ts`; any
 * other path as it is. A profile of the compiled gateway names its frames so.
 */
export function sourceOf(rel: string): string {
  return rel.startsWith('dist/') && rel.endsWith('.js') ? rel.slice(5, -3) + '.ts' : rel;
}
