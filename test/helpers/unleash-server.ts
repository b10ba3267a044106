/**
 * A real Unleash server for tests (docs/ARCHITECTURE.md#testing-conventions: suites needing Unleash use the real server):
 * unleash-server 7.5.1 (the last line that runs on Node 20) in a child process, on an ephemeral
 * port, against its own fresh PostgreSQL database that is dropped afterwards. A child process,
 * not in-process: Unleash reads process.env and installs timers and handlers of its own, and a
 * test can kill it to play "Unleash went down".
 *
 * PostgreSQL: TEST_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/postgres (trust auth).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const POSTGRES_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const BOOT_TIMEOUT_MS = 180_000;
const READY = '__UNLEASH_READY__ ';

export interface UnleashServer {
  /** the API root, as UNLEASH_URL expects it: http://127.0.0.1:<port>/api */
  readonly url: string;
  /** admin token (all projects, all environments) */
  readonly adminToken: string;
  /** backend (client) token of the `development` environment, for the gateway */
  readonly clientToken: string;
  readonly database: string;
  readonly admin: UnleashAdminApi;
  /** true while the child process runs */
  readonly running: boolean;
  /** SIGKILL the server (an outage: no goodbye to clients); the database stays */
  kill(): Promise<void>;
  /** stop the server if running and drop its database */
  close(): Promise<void>;
}

/** Why PostgreSQL cannot be used, or undefined when it can. */
export async function postgresUnavailable(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('select 1');
    return undefined;
  } catch (err) {
    return (err as Error).message || (err as { code?: string }).code || 'connection failed';
  } finally {
    await client.end().catch(() => {});
  }
}

async function withPg<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

/** Databases left by test processes that died before their teardown (their pid is gone). */
async function dropOrphans(c: pg.Client): Promise<void> {
  const { rows } = await c.query<{ datname: string }>("select datname from pg_database where datname like 'unleash_test_%'");
  for (const { datname } of rows) {
    const pid = Number(/^unleash_test_(\d+)_/.exec(datname)?.[1]);
    if (!pid || pidAlive(pid)) continue;
    await c.query(`drop database if exists "${datname}" with (force)`).catch(() => {});
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

// The child: unleash-server's own start(), configured from one env var, reporting its port.
const CHILD = `
const { start } = await import('unleash-server');
const cfg = JSON.parse(process.env.UNLEASH_TEST_CONFIG);
const unleash = await start(cfg);
process.stdout.write(${JSON.stringify(READY)} + JSON.stringify({ port: unleash.server.address().port }) + '\\n');
`;

export async function startUnleash(): Promise<UnleashServer> {
  const database = `unleash_test_${process.pid}_${randomBytes(3).toString('hex')}`;
  await withPg(async (c) => {
    await dropOrphans(c);
    await c.query(`create database "${database}"`);
  });
  const pgUrl = new URL(POSTGRES_URL);
  const secret = randomBytes(12).toString('hex');
  const adminToken = `*:*.admin-${secret}`;
  const clientToken = `*:development.client-${secret}`;
  const config = {
    db: {
      host: pgUrl.hostname,
      port: Number(pgUrl.port || 5432),
      user: decodeURIComponent(pgUrl.username || 'postgres'),
      password: decodeURIComponent(pgUrl.password),
      database,
      ssl: false,
    },
    server: { host: '127.0.0.1', port: 0, gracefulShutdownEnable: false },
    logLevel: 'error',
    versionCheck: { enable: false },
    telemetry: false,
    // SDK fetches are answered from the database rather than a memoized cache, so the tests
    // measure the gateway's refresh. (Unleash's ETag still follows its revision id, updated
    // every second: a change reaches SDKs within refresh + ~1 s, which the gateway reports.)
    clientFeatureCaching: { enabled: false },
    authentication: {
      initApiTokens: [
        { type: 'admin', tokenName: 'strangler-test-admin', environment: '*', projects: ['*'], secret: adminToken },
        { type: 'backend', tokenName: 'strangler-test-gateway', environment: 'development', projects: ['*'], secret: clientToken },
      ],
    },
  };
  // Not tap's loaders or coverage collection: Unleash is not ours to instrument.
  const { NODE_OPTIONS: _loaders, NODE_V8_COVERAGE: _coverage, ...env } = process.env;
  const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD], {
    cwd: process.cwd(),
    env: { ...env, UNLEASH_TEST_CONFIG: JSON.stringify(config), SEND_TELEMETRY: 'false', CHECK_VERSION: 'false' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-8000);
  });
  let port: number;
  try {
    port = await waitReady(child, () => stderr);
  } catch (err) {
    await stopChild(child, 'SIGKILL');
    await withPg((c) => c.query(`drop database if exists "${database}" with (force)`)).catch(() => {});
    throw err;
  }
  const url = `http://127.0.0.1:${port}/api`;
  let running = true;
  child.once('exit', () => {
    running = false;
  });
  return {
    url,
    adminToken,
    clientToken,
    database,
    admin: new UnleashAdminApi(url, adminToken),
    get running() {
      return running;
    },
    kill: () => stopChild(child, 'SIGKILL'),
    async close() {
      await stopChild(child, 'SIGTERM');
      await withPg((c) => c.query(`drop database if exists "${database}" with (force)`));
    },
  };
}

function waitReady(child: ChildProcess, stderr: () => string): Promise<number> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => fail(new Error(`Unleash did not start within ${BOOT_TIMEOUT_MS} ms`)), BOOT_TIMEOUT_MS);
    const fail = (err: Error) => {
      clearTimeout(timer);
      reject(new Error(`${err.message}\n--- unleash stderr ---\n${stderr()}`));
    };
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.startsWith(READY));
      if (!line) return;
      clearTimeout(timer);
      resolve((JSON.parse(line.slice(READY.length)) as { port: number }).port);
    });
    child.once('exit', (code, signal) => fail(new Error(`Unleash exited during boot (code ${code}, signal ${signal})`)));
  });
}

function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const hard = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(hard);
      resolve();
    });
    child.kill(signal);
  });
}

export interface RolloutSpec {
  rollout: number;
  stickiness?: 'default' | 'userId' | 'sessionId';
  constraints?: { contextName: string; operator: 'IN' | 'NOT_IN'; values: string[] }[];
}

/** The Admin API calls tests make directly, as an operator in Unleash's UI would. */
export class UnleashAdminApi {
  constructor(
    private readonly url: string,
    private readonly token: string,
    readonly project = 'default',
    readonly environment = 'development',
  ) {}

  async call(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
    const res = await fetch(`${this.url}/admin/projects/${this.project}${path}`, {
      method,
      headers: { authorization: this.token, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  }

  private async ok(method: string, path: string, body?: unknown): Promise<unknown> {
    const r = await this.call(method, path, body);
    if (r.status >= 300) throw new Error(`Unleash ${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  }

  /** Creates a route flag with one flexibleRollout strategy, enabled in the environment. */
  async createRouteFlag(name: string, spec: RolloutSpec): Promise<void> {
    await this.ok('POST', '/features', { name, type: 'release', description: `test route flag ${name}` });
    await this.ok('POST', `/features/${name}/environments/${this.environment}/strategies`, {
      name: 'flexibleRollout',
      parameters: { rollout: String(spec.rollout), stickiness: spec.stickiness ?? 'default', groupId: name },
      constraints: spec.constraints ?? [],
    });
    await this.ok('POST', `/features/${name}/environments/${this.environment}/on`);
  }

  async featureEnvironment(name: string): Promise<{ enabled: boolean; strategies: { id: string; name: string; parameters: Record<string, string>; constraints: unknown[] }[] } | undefined> {
    const r = await this.call('GET', `/features/${name}`);
    if (r.status === 404) return undefined;
    const f = r.body as { environments: { name: string; enabled: boolean; strategies: never[] }[] };
    return f.environments.find((e) => e.name === this.environment);
  }

  /** Sets the rollout of the flag's first flexibleRollout strategy, in place. */
  async setRollout(name: string, rollout: number): Promise<void> {
    const env = await this.featureEnvironment(name);
    const s = env?.strategies.find((x) => x.name === 'flexibleRollout');
    if (!s) throw new Error(`${name} has no flexibleRollout strategy`);
    await this.ok('PUT', `/features/${name}/environments/${this.environment}/strategies/${s.id}`, {
      name: s.name,
      parameters: { ...s.parameters, rollout: String(rollout) },
      constraints: s.constraints,
    });
  }
}
