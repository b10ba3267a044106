/**
 * Process entry: config → embedded backends for every upstream not configured → gateway →
 * listen → graceful close on SIGTERM/SIGINT.
 */
import { loadConfig, ConfigError, type UpstreamName } from './config/load.js';
import { buildGateway } from './app.js';
import { bufferedStdout } from './observability/logger.js';
import { startSomeBackends, type SomeBackends } from '../backends/index.js';

const EMBEDDED_PORTS: Record<UpstreamName, number> = { legacy: 8081, pricing: 8082, inventory: 8083, promotions: 8084 };

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }

  const missing = (Object.keys(EMBEDDED_PORTS) as UpstreamName[]).filter((n) => config.upstreams[n] === undefined);
  let backends: SomeBackends | undefined;
  if (missing.length > 0) {
    backends = await startSomeBackends(missing, { host: '127.0.0.1', ports: EMBEDDED_PORTS });
  }
  const urls = {} as Record<UpstreamName, string>;
  for (const n of Object.keys(EMBEDDED_PORTS) as UpstreamName[]) {
    urls[n] = config.upstreams[n] ?? (backends?.running[n]?.url as string);
  }

  const app = await buildGateway({ config, upstreamUrls: urls, logStream: bufferedStdout() });
  await app.listen({ host: config.host, port: config.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port; // PORT=0: the one the OS chose
  const base = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  const lines = [
    '',
    `strangler gateway listening on ${base}`,
    `  OCC (storefronts)     ${base}/occ/v2/electronics-spa/products/1000001`,
    `  canonical REST        ${base}/api/v1/sites/electronics-spa/products/1000001`,
    `  GraphQL               ${base}/graphql`,
    `  OpenAPI docs          ${base}/docs`,
    `  Prometheus metrics    ${base}/metrics`,
    `  admin API             ${base}/admin/routes  ${config.adminToken ? '(bearer ADMIN_TOKEN)' : '(disabled: ADMIN_TOKEN unset)'}`,
    `  health / readiness    ${base}/healthz  ${base}/readyz`,
    `  flags                 ${config.flags.source === 'file' ? `files in ${config.flags.dir}/ (hot-reloaded)` : config.flags.url}`,
    'upstreams:',
    ...(Object.keys(urls) as UpstreamName[]).map((n) => `  ${n.padEnd(20)}  ${urls[n]}${config.upstreams[n] ? '' : '  (embedded)'}`),
    '',
  ];
  process.stdout.write(lines.join('\n') + '\n');

  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ event: 'shutdown', signal }, 'closing: no new connections, finishing in-flight requests');
    const timer = setTimeout(() => {
      app.log.error({ event: 'shutdown.timeout' }, 'in-flight requests did not finish in time; exiting');
      process.exit(1);
    }, config.shutdownGraceMs);
    timer.unref();
    // Drain first: keep listening for SHUTDOWN_DRAIN_MS so connections already in the accept
    // backlog are served rather than reset when the listener closes, while /readyz tells the
    // load balancer to stop. Then stop listening, finish in-flight requests, and sweep the idle
    // keep-alive sockets until close() ends.
    app.drain();
    void new Promise((r) => setTimeout(r, config.shutdownDrainMs))
      .then(() => {
        const sweeper = setInterval(() => app.server.closeIdleConnections(), 250);
        sweeper.unref();
        return app.close();
      })
      .then(() => backends?.close())
      .then(() => process.exit(0));
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`gateway failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
