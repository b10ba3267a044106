// Bundles the `strangler` CLI (src/cli/main.ts and what it imports, TypeBox included) into one
// ESM file, dist/cli/strangler.mjs, which bin/strangler.js runs when present. One file instead of
// the ~270 modules tsc's output would load (TypeBox alone is 266 files) keeps a call near a bare
// `node` start: the CLI is what an operator types during an incident. Part of `npm run build`.
//
//   node scripts/build-cli.mjs [outfile]   (default dist/cli/strangler.mjs)
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const outfile = process.argv[2] ?? `${root}dist/cli/strangler.mjs`;

await build({
  entryPoints: [`${root}src/cli/main.ts`],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  logLevel: 'warning',
});
