/**
 * A RabbitMQ node of the test's own (not the shared one on 5672), so a test can stop and restart
 * the broker: its own ports, node name, mnesia and log directories in a temporary directory.
 * Started as a child process (`rabbitmq-server` in the foreground), stopped with SIGTERM (a
 * graceful stop: durable queues and persistent messages survive), restarted on the same data.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'amqplib';

/** The server script itself: /usr/sbin/rabbitmq-server would `su` to the rabbitmq user when run as root. */
const SERVER = ['/usr/lib/rabbitmq/bin/rabbitmq-server', '/usr/sbin/rabbitmq-server'].find((p) => existsSync(p));

export const rabbitAvailable = (): string | undefined => (SERVER === undefined ? 'rabbitmq-server is not installed (apt-get install rabbitmq-server)' : undefined);

export interface OwnRabbit {
  url: string;
  /** stops the node gracefully and waits for it to exit */
  stop(): Promise<void>;
  /** starts it again on the same data; resolves once it accepts AMQP connections */
  start(): Promise<void>;
  /** stops it (if running) and removes its directory */
  close(): Promise<void>;
}

export async function startOwnRabbit(opts: { port: number; distPort: number; bootTimeoutMs?: number }): Promise<OwnRabbit> {
  if (SERVER === undefined) throw new Error(rabbitAvailable());
  const dir = await mkdtemp(join(tmpdir(), 'gw-rabbit-'));
  await mkdir(join(dir, 'mnesia'));
  await mkdir(join(dir, 'log'));
  await writeFile(join(dir, 'enabled_plugins'), '[].\n'); // no management plugin: its port is the shared node's
  await writeFile(join(dir, 'rabbitmq.conf'), `listeners.tcp.default = 127.0.0.1:${opts.port}\n`);
  await writeFile(join(dir, 'rabbitmq-env.conf'), '');
  const url = `amqp://guest:guest@127.0.0.1:${opts.port}`;
  const env = {
    ...process.env,
    HOME: dir, // the Erlang cookie
    RABBITMQ_NODENAME: `gwtest${process.pid}@localhost`,
    RABBITMQ_NODE_PORT: String(opts.port),
    RABBITMQ_DIST_PORT: String(opts.distPort),
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
    RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'),
    RABBITMQ_CONF_ENV_FILE: join(dir, 'rabbitmq-env.conf'),
    ERL_EPMD_ADDRESS: '127.0.0.1',
  };
  let child: ChildProcess | undefined;
  const killOnExit = () => child?.kill('SIGKILL');
  process.once('exit', killOnExit);

  const start = async () => {
    const proc = spawn(SERVER, [], { env, stdio: 'ignore' });
    child = proc;
    let exited = false;
    proc.once('exit', () => (exited = true));
    const deadline = Date.now() + (opts.bootTimeoutMs ?? 60_000);
    for (;;) {
      if (exited) throw new Error(`rabbitmq-server exited while booting (logs in ${join(dir, 'log')})`);
      try {
        const c = await connect(url);
        await c.close();
        return;
      } catch {
        if (Date.now() > deadline) throw new Error(`rabbitmq-server did not accept connections on ${opts.port} in time`);
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  };
  const stop = async () => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGTERM');
    const hard = setTimeout(() => proc.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(hard);
  };
  await start();
  return {
    url,
    stop,
    start,
    close: async () => {
      await stop();
      process.off('exit', killOnExit);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
