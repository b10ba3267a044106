#!/usr/bin/env node
// Launcher of the `strangler` CLI. It runs the bundled build, dist/cli/strangler.mjs (made by
// `npm run build`, which `npm start` runs too: scripts/build-cli.mjs) when there is one: a call
// then costs about a bare `node` start. Only a checkout without a build compiles the TypeScript
// source through tsx, at 1.5–6 s a call. STRANGLER_CLI_SOURCE=1 forces the source (while editing
// src/cli with an older build in dist/).
import { existsSync } from 'node:fs';

const bundle = new URL('../dist/cli/strangler.mjs', import.meta.url);
const { run } =
  process.env.STRANGLER_CLI_SOURCE !== '1' && existsSync(bundle)
    ? await import(bundle.href)
    : await (await import('tsx/esm/api')).tsImport('../src/cli/main.ts', import.meta.url);
process.exitCode = await run(process.argv.slice(2), process.env, {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
});
