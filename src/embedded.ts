/**
 * Dev/demo entry (`npm start`, `npm run dev`): starts the embedded simulators (backends/) for
 * every upstream whose URL is not configured, each on its fixed port, then the gateway in front
 * of them. The only file under src/ that may import backends/ (enforced by `npm run lint`,
 * .dependency-cruiser.cjs); production runs `src/server.ts`, which never starts a simulator.
 */
import type { UpstreamName } from './config/load.js';
import { configOrExit, exitOnStartFailure, serve } from './serve.js';
import { startSomeBackends, type BackendName, type SomeBackends } from '../backends/index.js';
import { embeddedPorts } from './contexts/names.js';

/** Where each simulator listens when its upstream is not configured. */
export const EMBEDDED_PORTS = embeddedPorts() as Readonly<Record<BackendName, number>>; // from the context registry

async function main(): Promise<void> {
  const config = configOrExit();
  const names = Object.keys(EMBEDDED_PORTS) as BackendName[];
  const missing = names.filter((n) => config.upstreams[n] === undefined);
  let backends: SomeBackends | undefined;
  if (missing.length > 0) backends = await startSomeBackends(missing, { host: '127.0.0.1', ports: EMBEDDED_PORTS, ...(config.amqpUrl === undefined ? {} : { amqpUrl: config.amqpUrl }) });
  const urls = {} as Record<UpstreamName, string>;
  for (const n of names) urls[n] = config.upstreams[n] ?? (backends?.running[n]?.url as string);
  await serve({ config, upstreamUrls: urls, embedded: missing, afterClose: () => backends?.close() ?? Promise.resolve() });
}

main().catch(exitOnStartFailure);
