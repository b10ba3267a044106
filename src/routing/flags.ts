/**
 * The flag provider factory: flag files (embedded default) or a real Unleash server. The
 * interface and shared types are in flag-provider.ts, the sources in sources/.
 */
import type { GatewayConfig } from '../config/load.js';
import type { FlagLogger, FlagProvider } from './flag-provider.js';
import { createFileProvider, type FileSharing } from './sources/file-source.js';
import { createUnleashProvider } from './sources/unleash-source.js';

/** `sharing`: who else reads the flag files (the gateway passes GATEWAY_WORKERS and GATEWAY_INSTANCES). */
export async function createFlagProvider(config: GatewayConfig['flags'], log: FlagLogger, sharing: FileSharing = { workers: 1, instances: 1 }): Promise<FlagProvider> {
  return config.source === 'file' ? createFileProvider(config.dir, log, sharing) : createUnleashProvider(config, log);
}
