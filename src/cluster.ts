/**
 * The cluster primary (GATEWAY_WORKERS > 1): forks the workers that share the port (each one is
 * a whole gateway, src/serve.ts), answers their `/metrics` with the aggregate over all of them,
 * replaces a worker that dies (with a backoff, so a crash loop does not spin), and on
 * SIGTERM/SIGINT passes the signal to every worker (each drains and closes as a single process
 * would) and exits once all have. It builds no gateway and serves no request itself.
 */
import cluster, { type Worker } from 'node:cluster';
import pino from 'pino';
import { isoTime } from './observability/logger.js';
import { serveClusterMetrics } from './observability/cluster-metrics.js';

export interface PrimaryOptions {
  workers: number;
  /** environment added to the workers' (the upstream URLs of simulators the primary started) */
  env: Readonly<Record<string, string>>;
  logLevel: string;
  /** how long a worker may take to drain and close after SIGTERM before it is killed */
  stopTimeoutMs: number;
  /** once, when the first worker listens: the port they share */
  onListening: (port: number) => void;
  /** runs after every worker has exited, before the primary exits */
  afterClose?: () => Promise<void>;
}

/** Restart delay after a crash: doubles per crash in the last minute, from 100 ms up to 30 s. */
export function restartDelayMs(recentCrashes: number): number {
  return recentCrashes <= 1 ? 0 : Math.min(100 * 2 ** (recentCrashes - 2), 30_000);
}
const CRASH_WINDOW_MS = 60_000;

export function runPrimary(opts: PrimaryOptions): void {
  const log = pino({ level: opts.logLevel, base: { service: 'strangler-gateway', role: 'primary', pid: process.pid }, timestamp: isoTime });
  const listening = new Set<Worker>();
  const crashes: number[] = [];
  let started = false;
  let stopping = false;
  let exitCode = 0;

  serveClusterMetrics(() => listening);

  const fork = () => cluster.fork({ ...opts.env, GATEWAY_WORKER: '1' });
  cluster.on('listening', (worker, address) => {
    listening.add(worker);
    log.info({ event: 'worker.listening', worker: worker.id, workerPid: worker.process.pid }, `worker ${worker.id} listening`);
    if (!started) {
      started = true;
      opts.onListening(address.port);
    }
  });
  cluster.on('exit', (worker, code, signal) => {
    listening.delete(worker);
    if (stopping) {
      if (code !== 0) exitCode = 1;
      log.info({ event: 'worker.exit', worker: worker.id, code, signal }, `worker ${worker.id} exited`);
      if (Object.keys(cluster.workers ?? {}).length === 0) void finish();
      return;
    }
    if (!started) {
      // No worker ever listened: a start-up failure (bad flag files, port taken), not a crash.
      log.error({ event: 'worker.start_failed', worker: worker.id, code, signal }, 'a worker failed to start; stopping');
      process.stderr.write(`gateway failed to start: worker ${worker.id} exited with ${signal ?? code} before listening\n`);
      stopping = true;
      exitCode = 1;
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
      if (Object.keys(cluster.workers ?? {}).length === 0) void finish();
      return;
    }
    const now = Date.now();
    crashes.push(now);
    while (crashes.length > 0 && crashes[0]! < now - CRASH_WINDOW_MS) crashes.shift();
    const delay = restartDelayMs(crashes.length);
    log.error(
      { event: 'worker.crashed', worker: worker.id, code, signal, restartInMs: delay, crashesLastMinute: crashes.length },
      `worker ${worker.id} died (${signal ?? `exit ${code}`}); replacing it`,
    );
    setTimeout(() => {
      if (!stopping) fork();
    }, delay);
  });

  const finish = async () => {
    try {
      await opts.afterClose?.();
    } finally {
      log.info({ event: 'shutdown.done', exitCode }, 'all workers closed');
      process.exit(exitCode);
    }
  };
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info({ event: 'shutdown', signal, workers: listening.size }, 'stopping: every worker drains and closes');
    const timer = setTimeout(() => {
      log.error({ event: 'shutdown.timeout' }, 'workers did not close in time; killing them');
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGKILL');
      exitCode = 1;
    }, opts.stopTimeoutMs);
    timer.unref();
    const workers = Object.values(cluster.workers ?? {});
    for (const w of workers) w?.process.kill(signal);
    if (workers.length === 0) void finish();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  for (let i = 0; i < opts.workers; i++) fork();
}
