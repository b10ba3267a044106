/**
 * The flag provider factory: flag files (embedded default) or a real Unleash server. The
 * interface and shared types are in flag-provider.ts, the sources in sources/.
 */
import type { GatewayConfig } from '../config/load.js';
import type { FlagLogger, FlagProvider } from './flag-provider.js';
import { createFileProvider } from './sources/file-source.js';
import { createUnleashProvider } from './sources/unleash-source.js';

export async function createFlagProvider(config: GatewayConfig['flags'], log: FlagLogger): Promise<FlagProvider> {
  return config.source === 'file' ? createFileProvider(config.dir, log) : createUnleashProvider(config, log);
}
