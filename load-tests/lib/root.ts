/**
 * The repository root, for modules that only need paths: importing it from here, not from
 * stack.ts, keeps the process-starting machinery out of code that merely reads files (the
 * profile summary and its unit test).
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
