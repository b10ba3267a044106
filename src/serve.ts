/**
 * What both process entries share once the upstream URLs are known: build the gateway, listen,
 * print where everything is, and close gracefully on SIGTERM/SIGINT. The production entry
 * (`src/server.ts`) requires every upstream to be configured; the embedded entry
 * (`src/embedded.ts`) starts simulators for the ones that are not and closes them after.
 */
import cluster from 'node:cluster';
import { ConfigError, loadConfig, upstreamUrlVariable, type GatewayConfig as Config, type UpstreamName } from './config/load.js';
import { buildGateway } from './app.js';
import { atQuietMoment, shrinkAcceptBacklog } from './graceful-close.js';
import { runPrimary } from './cluster.js';
import { bufferedStdout } from './observability/logger.js';
import { workerMetrics } from './observability/cluster-metrics.js';

/** The configuration, or exit 78 (EX_CONFIG) with every problem listed on stderr. */
export function configOrExit(check: (config: Config) => void = () => {}): Config {
  try {
    const config = loadConfig();
    check(config);
    return config;
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
}

export interface ServeOptions {
  config: Config;
  upstreamUrls: Readonly<Record<UpstreamName, string>>;
  /** upstreams served by a simulator this process started (marked in the banner) */
  embedded?: readonly UpstreamName[];
  /** runs after the gateway has closed, before the process exits */
  afterClose?: () => Promise<void>;
}

/** True in a worker forked by the cluster primary (src/cluster.ts). */
export function isClusterWorker(): boolean {
  return cluster.isWorker && process.env.GATEWAY_WORKER === '1';
}

export async function serve(opts: ServeOptions): Promise<void> {
  const { config, upstreamUrls: urls, afterClose } = opts;
  if (config.workers > 1 && !isClusterWorker()) {
    // The primary: the workers get the resolved upstream URLs (the embedded simulators run here, once).
    const env: Record<string, string> = {};
    for (const [n, url] of Object.entries(urls) as [UpstreamName, string][]) env[upstreamUrlVariable(n)] = url;
    runPrimary({
      workers: config.workers,
      env,
      logLevel: config.logLevel,
      stopTimeoutMs: config.shutdownDrainMs + config.shutdownGraceMs + 2000,
      onListening: (port) => printBanner(opts, port),
      ...(afterClose ? { afterClose } : {}),
    });
    return;
  }
  const app = await buildGateway({ config, upstreamUrls: urls, logStream: bufferedStdout() });
  const worker = isClusterWorker();
  if (worker) app.telemetry.metrics.aggregateAcrossWorkers(workerMetrics(() => app.telemetry.metrics.collect()));
  await app.listen({ host: config.host, port: config.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port; // PORT=0: the one the OS chose
  if (!worker) printBanner(opts, port);
  installShutdown(app, config, worker ? undefined : afterClose);
}

function printBanner({ config, upstreamUrls: urls, embedded = [] }: ServeOptions, port: number): void {
  const workers = config.workers > 1 ? `  (${config.workers} workers)` : '';
  const base = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  const lines = [
    '',
    `strangler gateway listening on ${base}${workers}`,
    `  OCC (storefronts)     ${base}/occ/v2/electronics-spa/products/1000001`,
    `  canonical REST        ${base}/api/v1/sites/electronics-spa/products/1000001`,
    `  GraphQL               ${base}/graphql`,
    `  OpenAPI docs          ${base}/docs`,
    `  Prometheus metrics    ${base}/metrics`,
    `  admin API             ${base}/admin/routes  ${config.adminToken ? '(bearer ADMIN_TOKEN)' : '(disabled: ADMIN_TOKEN unset)'}`,
    `  health / readiness    ${base}/healthz  ${base}/readyz`,
    `  flags                 ${config.flags.source === 'file' ? `files in ${config.flags.dir}/ (hot-reloaded)` : config.flags.url}`,
    'upstreams:',
    ...(Object.keys(urls) as UpstreamName[]).map((n) => `  ${n.padEnd(20)}  ${urls[n]}${embedded.includes(n) ? '  (embedded)' : ''}`),
    '',
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

function installShutdown(app: Awaited<ReturnType<typeof buildGateway>>, config: Config, afterClose: (() => Promise<void>) | undefined): void {
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ event: 'shutdown', signal }, 'closing: no new connections, finishing in-flight requests');
    const timer = setTimeout(() => {
      app.log.error({ event: 'shutdown.timeout', open: app.connections.open, busy: app.connections.busy }, 'in-flight requests did not finish in time; exiting');
      process.exit(1);
    }, config.shutdownGraceMs);
    timer.unref();
    // Drain first: keep listening for SHUTDOWN_DRAIN_MS so connections already in the accept
    // backlog are served rather than reset when the listener closes, while /readyz tells the
    // load balancer to stop. Every answer now says `connection: close`; an idle keep-alive
    // socket is closed only once it has been quiet, never while a request may be arriving on it
    // (src/graceful-close.ts). Then stop listening, finish in-flight requests, close.
    app.drain();
    void new Promise((r) => setTimeout(r, config.shutdownDrainMs))
      // Stop accepting. The kernel resets every connection still in its accept queue when the
      // listening socket closes, so: shrink the queue to one (further SYNs are dropped and
      // retried by their clients, then refused), close right after a poll phase that found it
      // empty, and here rather than in app.close(), whose hooks may let another poll pass first.
      .then(async () => {
        const waitFrom = Date.now();
        shrinkAcceptBacklog(app.server);
        await atQuietMoment(app.server, config.shutdownGraceMs / 2);
        app.server.close();
        app.log.info(
          { event: 'shutdown.listener_closed', quietWaitMs: Date.now() - waitFrom, open: app.connections.open, busy: app.connections.busy },
          'listener closed; finishing the open connections',
        );
        return app.close(); // waits for the open connections, then closes pools and flags
      })
      .then(() => afterClose?.())
      .then(() => process.exit(0));
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

/** Reports a start-up failure and exits 1. */
export function exitOnStartFailure(err: unknown): never {
  process.stderr.write(`gateway failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
