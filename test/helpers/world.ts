/**
 * The embedded world for tests: the real backends on ephemeral ports and a gateway in front of
 * them, with flags written to a temporary directory. Nothing of our own is mocked.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { startBackends, upstreamUrlsOf, type Backends } from '../../backends/index.js';
import { buildGateway } from '../../src/app.js';
import { loadConfig } from '../../src/config/load.js';
import { flagFile, type FlagOptions, type Rollouts } from './flags.js';

export { flagFile, type FlagOptions, type Rollouts };

export interface World {
  app: FastifyInstance;
  backends: Backends;
  flagsDir: string;
  /** rewrite the flag file and wait until the gateway has reloaded it */
  setFlags(file: object): Promise<void>;
}

interface Teardown {
  teardown(fn: () => unknown): void;
}

export async function startWorld(t: Teardown, rollouts: Rollouts = {}, env: Record<string, string> = {}, flagOpts: FlagOptions = {}): Promise<World> {
  const backends = await startBackends();
  const flagsDir = await mkdtemp(join(tmpdir(), 'strangler-flags-'));
  await writeFile(join(flagsDir, 'routes.json'), JSON.stringify(flagFile(rollouts, flagOpts)));
  // The backends share the test's event loop (seed and index builds block it for a moment), so
  // event-loop load shedding would measure them, not the gateway: off unless a test asks.
  const config = loadConfig({ FLAGS_DIR: flagsDir, LOG_LEVEL: 'silent', SHED_EVENT_LOOP_DELAY_MS: '0', ...env });
  const app = await buildGateway({
    config,
    upstreamUrls: upstreamUrlsOf(backends),
    logger: false,
  });
  await app.ready();
  t.teardown(async () => {
    await app.close();
    await backends.close();
    await rm(flagsDir, { recursive: true, force: true });
  });
  return {
    app,
    backends,
    flagsDir,
    async setFlags(file: object) {
      await writeFile(join(flagsDir, 'routes.json'), JSON.stringify(file));
      // reload now rather than waiting for the next poll: fast and deterministic
      await app.gw.flags.reload?.();
    },
  };
}
