#!/usr/bin/env node
// Launcher of the `strangler` CLI: runs the TypeScript source through tsx, so the package needs
// no build step to be used with `npx strangler`.
import { tsImport } from 'tsx/esm/api';

const { run } = await tsImport('../src/cli/main.ts', import.meta.url);
process.exitCode = await run(process.argv.slice(2), process.env, {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
});
