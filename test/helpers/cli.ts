/**
 * The `strangler` launcher as an installed build runs it: bin/strangler.js copied into a
 * temporary directory next to a fresh bundle of src/cli (scripts/build-cli.mjs, what
 * `npm run build` makes), with no src/ and no node_modules beside it. A launcher that compiled
 * the source instead of running the bundle fails there.
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** Path of a launcher that can only run the bundle (see above). */
export async function bundledLauncher(t: Teardown): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'strangler-launcher-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await mkdir(join(dir, 'bin'));
  await copyFile(join(process.cwd(), 'bin', 'strangler.js'), join(dir, 'bin', 'strangler.js'));
  await run(process.execPath, [join(process.cwd(), 'scripts', 'build-cli.mjs'), join(dir, 'dist', 'cli', 'strangler.mjs')], { timeout: 60_000 });
  return join(dir, 'bin', 'strangler.js');
}
