/**
 * The system under test. Embedded: the legacy simulator, the three new services and the gateway
 * as three separate child processes on loopback (so none of them shares an event loop with the
 * load generator or with each other), with flags in a temporary FLAGS_DIR. External: an existing
 * GATEWAY_URL, with LEGACY_URL / PRICING_URL / FLAGS_DIR / ADMIN_TOKEN / GATEWAY_PID from the
 * environment where a scenario needs them. An external gateway is left as it was found: its
 * routing is read first and put back when the run ends, fails or is interrupted (see
 * externalStack), and every change is made under the actor `load-test <scenario>` in its
 * audit trail.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { contextIdentities } from '../../src/contexts/names.js';
import { CONTEXTS, describeRollouts, writeFlags, type ContextName, type Rollouts } from './flags.js';
import { freePort, onInterrupt, readReadyLine, restartable, spawnChild, stopChild, waitForHttp, type Child } from './procs.js';
import type { RouteView, RoutesResponse } from '../../src/admin/schemas.js';
import type { ProbePoint, Watched } from './load.js';
import { ROOT, compiled } from './paths.js';

export interface StackOptions {
  /** start the gateway (false: only backends, e.g. `direct` and the proxies of `compare`) */
  gateway: boolean;
  rollouts: Rollouts;
  logLevel: string;
  /** write a --cpu-prof profile and a sampling heap profile of the gateway into this directory */
  profileDir?: string | undefined;
  /** extra node flags for the gateway (heap limits, GC flags) */
  nodeArgs?: readonly string[];
  /** who the harness is in the gateway's audit trail (admin API `x-actor`); default `load-test` */
  actor?: string;
  /**
   * more gateways beside the main one, same upstreams, flags and node flags, each with its own
   * port, log file and environment overrides (the ledger: one feature switched off in each)
   */
  variants?: readonly GatewayVariantOptions[];
  /** extra environment of the embedded gateway (e.g. SHADOW_PRICING_PERCENT for a rehearsal) */
  gatewayEnv?: Readonly<Record<string, string>>;
  /** an existing gateway instead of the embedded world (default: GATEWAY_URL), and its admin token (default: ADMIN_TOKEN) */
  gatewayUrl?: string | undefined;
  adminToken?: string | undefined;
  log: (msg: string) => void;
}

export interface GatewayVariantOptions {
  name: string;
  /** environment overrides (e.g. LOG_LEVEL, SHED_EVENT_LOOP_DELAY_MS) */
  env: Readonly<Record<string, string>>;
  /** modules preloaded with --import before the gateway (dist/ paths) */
  imports?: readonly string[];
}

/** A started gateway variant: its URL, its process (follows restarts) and a restart. */
export interface GatewayVariant {
  readonly name: string;
  readonly url: string;
  readonly proc: Watched;
  restart(): Promise<void>;
}

export interface FlipResult {
  method: 'admin' | 'file';
  detail: string;
}

export interface Stack {
  readonly external: boolean;
  readonly dir: string;
  readonly legacyUrl: string | undefined;
  readonly pricingUrl: string | undefined;
  readonly gatewayUrl: string | undefined;
  /** the embedded gateway's random ADMIN_TOKEN; external: ADMIN_TOKEN from the environment */
  readonly adminToken: string | undefined;
  /** each context's new service (its simulator, with the fault endpoint): embedded, or `<CTX>_URL` */
  readonly serviceUrls: Readonly<Record<string, string>>;
  readonly flagsDir: string | undefined;
  readonly gatewayPid: number | undefined;
  /** processes whose RSS and CPU the runs sample */
  readonly watch: Watched[];
  rollouts: Rollouts;
  /** change one context's rollout: the admin API when the gateway has one, else the flag file */
  setRollout(ctx: ContextName, pct: number): Promise<FlipResult>;
  /** bytes the gateway has logged so far (its stdout file), for log volume per request */
  logBytes(): number;
  probeLines(): (ProbePoint & { t: number })[];
  /** warn/error lines the gateway logged, counted by level, event/message and code */
  logSummary(): { line: string; count: number }[];
  /** start/stop the gateway's allocation sampling (SIGUSR2 to the probe) */
  toggleHeapSampling(): void;
  /**
   * Stop the embedded gateway and start a new process on the same port, flags and log file
   * (its `watch` entry follows the new pid). Undefined for an external gateway.
   */
  readonly restartGateway: (() => Promise<void>) | undefined;
  readonly cpuProfileDir: string | undefined;
  readonly heapProfilePath: string | undefined;
  /** the gateways of `StackOptions.variants`, in their order (empty for an external gateway) */
  readonly variants: readonly GatewayVariant[];
  /** stops what was started; an external gateway gets its routing back as it was found */
  close(): Promise<void>;
}

/** The admin API of a gateway, and who the harness says it is there. */
export interface Admin {
  url: string;
  token: string;
  actor: string;
}

export async function adminCall(a: Admin, method: 'GET' | 'PUT' | 'POST' | 'DELETE', path: string, body?: object): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${a.url.replace(/\/+$/, '')}/admin${path}`, {
    method,
    headers: { authorization: `Bearer ${a.token}`, 'x-actor': a.actor, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(5000),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, json };
}

let built: Promise<void> | undefined;
/**
 * Every child runs compiled JavaScript, as in production (`npm start` runs dist/ too): under
 * tsx each process also carries a loader thread with its own heap (~40 MB of RSS) and
 * transpiles on load. The build is incremental: a second run takes a second or two.
 */
/**
 * The environment of a gateway in front of the embedded world: the caller's, less what would
 * point it elsewhere (Unleash, Redis, AMQP, NODE_OPTIONS), with the backends' URLs (`legacy` and
 * one per context of the registry) and `extra` on top.
 */
export function embeddedGatewayEnv(urls: Readonly<Record<string, string | undefined>>, extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOST: '127.0.0.1',
    LEGACY_URL: urls.legacy,
    ...Object.fromEntries(contextIdentities().map((c) => [c.upstream.urlEnv, urls[c.name]])),
    ...extra,
  };
  for (const k of ['UNLEASH_URL', 'UNLEASH_API_TOKEN', 'REDIS_URL', 'AMQP_URL', 'NODE_OPTIONS']) if (!(k in extra)) delete env[k];
  return env;
}

export function ensureBuilt(log: (m: string) => void = () => undefined): Promise<void> {
  built ??= (async () => {
    const t0 = Date.now();
    await new Promise<void>((resolve, reject) => {
      const tsc = spawn(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json')], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      tsc.stdout.on('data', (d: Buffer) => (out += d.toString()));
      tsc.stderr.on('data', (d: Buffer) => (out += d.toString()));
      tsc.on('error', reject);
      tsc.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`npm run build failed (tsc exit ${code}):\n${out}`))));
    });
    log(`built dist/ (tsc -p tsconfig.build.json) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  })();
  return built;
}

async function startBackends(names: string, log: (m: string) => void): Promise<{ child: Child; urls: Record<string, string> }> {
  await ensureBuilt(log);
  const child = spawnChild(`backends(${names})`, process.execPath, ['--enable-source-maps', compiled('load-tests/world.ts'), names], { stdout: 'pipe', cwd: ROOT });
  const urls = await readReadyLine<Record<string, string>>(child, 'ready', 60_000);
  log(`  ${names.padEnd(32)} pid ${child.pid}  ${Object.values(urls).join(' ')}`);
  return { child, urls };
}

export async function startStack(opts: StackOptions): Promise<Stack> {
  const dir = await mkdtemp(join(tmpdir(), 'strangler-load-'));
  const external = opts.gatewayUrl ?? process.env.GATEWAY_URL;
  if (external) return externalStack(dir, external, opts);

  const children: Child[] = [];
  const watch: Watched[] = [];
  let rollouts: Rollouts = { ...opts.rollouts };
  try {
    opts.log('starting the embedded world (separate processes on 127.0.0.1):');
    const legacy = await startBackends('legacy', opts.log);
    children.push(legacy.child);
    watch.push({ name: 'legacy', pid: legacy.child.pid });
    if (!opts.gateway) {
      return makeStack({ external: false, dir, legacyUrl: legacy.urls.legacy, pricingUrl: undefined, serviceUrls: {}, children, watch, rollouts });
    }
    // one simulator per context of the registry (each needs one in backends/index.ts)
    const services = await startBackends(contextIdentities().map((c) => c.name).join(','), opts.log);
    children.push(services.child);
    watch.push({ name: 'services', pid: services.child.pid });

    const flagsDir = join(dir, 'flags');
    await mkdir(flagsDir);
    await writeFlags(flagsDir, rollouts);
    const adminToken = randomBytes(16).toString('hex');
    const probeFile = join(dir, 'probe.jsonl');
    const heapProfilePath = opts.profileDir ? join(opts.profileDir, 'gateway.heapprofile') : undefined;
    const sourceMapsPath = opts.profileDir ? join(opts.profileDir, 'gateway.sourcemaps.json') : undefined;
    const baseEnv = embeddedGatewayEnv({ ...services.urls, legacy: legacy.urls.legacy }, { FLAGS_DIR: flagsDir, LOG_LEVEL: opts.logLevel, ADMIN_TOKEN: adminToken });
    // One gateway process (the main one, or a variant): a port, a log file, node flags, env.
    const startGateway = async (name: string, env: NodeJS.ProcessEnv, imports: readonly string[], profile: boolean) => {
      const port = await freePort();
      const logPath = join(dir, `${name}.log`);
      const nodeArgs = [
        // Node's default profile names carry the thread id (the main thread is 0)
        ...(profile && opts.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.profileDir}`] : []),
        ...(opts.nodeArgs ?? []),
        '--enable-source-maps',
        '--import',
        pathToFileURL(compiled('load-tests/probe.ts')).href,
        ...imports.flatMap((m) => ['--import', pathToFileURL(m).href]),
        compiled('src/server.ts'),
      ];
      const url = `http://127.0.0.1:${port}`;
      const proc: Watched = { name, pid: 0 };
      // the gateway's log goes to a file, as it would to a collector: piping it through the
      // harness would make the load generator pay for the gateway's logging.
      // A restarted gateway (compare mode) keeps the port, the node flags and the log file.
      const restart = await restartable(
        proc,
        children,
        async (first) => {
          // flags as they are now (a flip may have changed them since the start)
          if (!first) await writeFlags(flagsDir, rollouts);
          const logFd = openSync(logPath, first ? 'w' : 'a');
          const child = spawnChild(name, process.execPath, nodeArgs, { env: { ...env, PORT: String(port) }, cwd: ROOT, stdout: logFd });
          closeSync(logFd);
          return child;
        },
        (child) => waitForHttp(`${url}/healthz`, child, 60_000),
      );
      watch.push(proc);
      return { name, url, proc, restart, logPath };
    };
    const main = await startGateway(
      'gateway',
      {
        ...baseEnv,
        LOADTEST_PROBE_FILE: probeFile,
        ...(heapProfilePath ? { LOADTEST_HEAP_PROFILE: heapProfilePath } : {}),
        ...(sourceMapsPath ? { LOADTEST_SOURCE_MAPS: sourceMapsPath } : {}),
        ...opts.gatewayEnv,
      },
      [],
      true,
    );
    const gatewayUrl = main.url;
    const gwWatch = main.proc;
    const logPath = main.logPath;
    const restartGateway = main.restart;
    const variants: GatewayVariant[] = [];
    for (const v of opts.variants ?? []) {
      const g = await startGateway(v.name, { ...baseEnv, ...v.env }, v.imports ?? [], false);
      opts.log(`  ${v.name.padEnd(32)} pid ${g.proc.pid}  ${g.url}  ${Object.entries(v.env).map(([k, x]) => `${k}=${x}`).join(' ')}`);
      variants.push(g);
    }
    opts.log(`  ${'gateway'.padEnd(32)} pid ${gwWatch.pid}  ${gatewayUrl}  LOG_LEVEL=${opts.logLevel}  flags: ${describeRollouts(rollouts)}${opts.profileDir ? '  --cpu-prof' : ''}${opts.nodeArgs?.length ? `  ${opts.nodeArgs.join(' ')}` : ''}`);

    return makeStack({
      external: false,
      dir,
      legacyUrl: legacy.urls.legacy,
      pricingUrl: services.urls.pricing,
      serviceUrls: services.urls,
      children,
      watch,
      rollouts,
      variants,
      gateway: { url: gatewayUrl, pid: () => gwWatch.pid, flagsDir, adminToken, logPath, probeFile, heapProfilePath, cpuProfileDir: opts.profileDir, restart: restartGateway },
    });
  } catch (err) {
    for (const c of children.reverse()) await stopChild(c);
    await rm(dir, { recursive: true, force: true });
    throw err;
  }

  function makeStack(s: {
    external: boolean;
    dir: string;
    legacyUrl: string | undefined;
    pricingUrl: string | undefined;
    serviceUrls: Record<string, string>;
    children: Child[];
    watch: Watched[];
    rollouts: Rollouts;
    variants?: readonly GatewayVariant[];
    gateway?: { url: string; pid: () => number; flagsDir: string; adminToken: string; logPath: string; probeFile: string; heapProfilePath: string | undefined; cpuProfileDir: string | undefined; restart: () => Promise<void> };
  }): Stack {
    const g = s.gateway;
    return {
      external: s.external,
      dir: s.dir,
      legacyUrl: s.legacyUrl,
      pricingUrl: s.pricingUrl,
      gatewayUrl: g?.url,
      adminToken: g?.adminToken,
      serviceUrls: s.serviceUrls,
      flagsDir: g?.flagsDir,
      get gatewayPid() {
        return g?.pid();
      },
      watch: s.watch,
      get rollouts() {
        return rollouts;
      },
      set rollouts(r: Rollouts) {
        rollouts = r;
      },
      setRollout: (ctx, pct) =>
        flip(g ? { url: g.url, token: g.adminToken, actor: opts.actor ?? 'load-test' } : undefined, g?.flagsDir, ctx, pct, rollouts, (r) => (rollouts = r)),
      logBytes: () => {
        try {
          return g ? statSync(g.logPath).size : 0;
        } catch {
          return 0;
        }
      },
      probeLines: () => readProbe(g?.probeFile),
      logSummary: () => summarizeLog(g?.logPath),
      toggleHeapSampling: () => {
        if (g?.heapProfilePath) process.kill(g.pid(), 'SIGUSR2');
      },
      restartGateway: g?.restart,
      variants: s.variants ?? [],
      cpuProfileDir: g?.cpuProfileDir,
      heapProfilePath: g?.heapProfilePath,
      close: async () => {
        // gateway first (it writes its CPU profile on a clean exit), then its upstreams
        for (const c of [...s.children].reverse()) await stopChild(c);
        await rm(s.dir, { recursive: true, force: true });
      },
    };
  }
}

const LEVELS: Record<number, string> = { 40: 'warn', 50: 'error', 60: 'fatal' };

/** Counts the gateway's warn+ log lines (pino JSON) by what they say, e.g. 812× warn shed eventLoopDelay. */
function summarizeLog(file: string | undefined): { line: string; count: number }[] {
  if (!file) return [];
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const counts = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!/"level":(4|5|6)0/.test(line)) continue;
    try {
      const o = JSON.parse(line) as { level: number; msg?: string; event?: string; code?: string; type?: string; value?: number | null; err?: { code?: string; message?: string } };
      // under-pressure reports an empty delay histogram as Infinity, which JSON writes as null
      const value = 'value' in o ? (o.value === null ? 'value=null (Infinity)' : 'value=' + (o.value! >= 1000 ? '≥1000' : '<1000')) : '';
      // product codes and ids in messages would split one problem into many lines
      const what = (o.event ?? o.msg ?? '').replace(/\d{4,}/g, '…');
      const key = [LEVELS[o.level] ?? String(o.level), what, o.code ?? o.err?.code ?? '', o.type ?? '', value].filter(Boolean).join(' ');
      counts.set(key, (counts.get(key) ?? 0) + 1);
    } catch {}
  }
  return [...counts.entries()].sort((a, b) => b[1] - a[1]).slice(0, 10).map(([line, count]) => ({ line, count }));
}

function readProbe(file: string | undefined): (ProbePoint & { t: number })[] {
  if (!file) return [];
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as ProbePoint & { t: number });
  } catch {
    return [];
  }
}

/**
 * The admin API (PUT /admin/routes/{ctx}, bearer ADMIN_TOKEN, body {"percent": N}, the harness
 * named in `x-actor`) is tried first because that is how an operator flips; while it does not
 * exist (404) or refuses, the flag file is rewritten, which the gateway picks up by polling
 * within a second.
 */
async function flip(
  admin: Admin | undefined,
  flagsDir: string | undefined,
  ctx: ContextName,
  pct: number,
  current: Rollouts,
  save: (r: Rollouts) => void,
  beforeFileWrite: () => Promise<void> = async () => {},
): Promise<FlipResult> {
  let adminNote = 'no admin token';
  if (admin) {
    try {
      const res = await adminCall(admin, 'PUT', `/routes/${ctx}`, { percent: pct, reason: 'load test (load-tests/): flip under load' });
      if (res.status >= 200 && res.status < 300) {
        save({ ...current, [ctx]: pct });
        return { method: 'admin', detail: `PUT /admin/routes/${ctx} {"percent":${pct}} → ${res.status}` };
      }
      adminNote = `admin API answered ${res.status}`;
    } catch (err) {
      adminNote = `admin API failed: ${(err as Error).message}`;
    }
  }
  if (!flagsDir) throw new Error(`${adminNote}, and no FLAGS_DIR to rewrite: cannot change ${ctx}`);
  const next = { ...current, [ctx]: pct };
  await beforeFileWrite();
  await writeFlags(flagsDir, next);
  save(next);
  return { method: 'file', detail: `${adminNote} → rewrote ${flagsDir}/routes.json (${describeRollouts(next)})` };
}

/** What the harness found on an external gateway, and how it puts it back. */
class Restorer {
  /** each context's routing as the admin API showed it before the first change */
  private found: Map<ContextName, RouteView> | undefined;
  /** contexts the harness changed through the admin API */
  private readonly changed = new Set<ContextName>();
  /** routes.json in FLAGS_DIR before the harness first wrote it: its text, or null (no file) */
  private fileBefore: string | null | undefined;
  private done: Promise<void> | undefined;

  constructor(
    private readonly admin: Admin | undefined,
    private readonly flagsDir: string | undefined,
    private readonly log: (m: string) => void,
  ) {}

  /** Reads the gateway's routing through the admin API; false when there is none to use. */
  async readAdmin(): Promise<boolean> {
    if (!this.admin) return false;
    try {
      const res = await adminCall(this.admin, 'GET', '/routes');
      if (res.status !== 200) {
        this.log(`  admin API: GET /admin/routes answered ${res.status}: flags go through FLAGS_DIR, if set`);
        return false;
      }
      this.found = new Map((res.json as RoutesResponse).routes.map((r) => [r.context as ContextName, r]));
      this.log(`  found: ${[...this.found.values()].map(describeView).join(', ')} (put back when the run ends)`);
      return true;
    } catch (err) {
      this.log(`  admin API unreachable (${(err as Error).message}): flags go through FLAGS_DIR, if set`);
      return false;
    }
  }

  /** Whether `ctx` already routes `pct` % (enabled, a plain rollout). */
  routes(ctx: ContextName, pct: number): boolean {
    const v = this.found?.get(ctx);
    return v !== undefined && v.defined && v.enabled && v.rollout === pct;
  }

  changedByAdmin(ctx: ContextName): void {
    this.changed.add(ctx);
  }

  /** Call before the first write of routes.json: keeps its text to write back. */
  async keepFile(): Promise<void> {
    if (!this.flagsDir || this.fileBefore !== undefined) return;
    try {
      this.fileBefore = await readFile(join(this.flagsDir, 'routes.json'), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      this.fileBefore = null;
    }
  }

  /** Puts back what was changed (once, however many times it is called). */
  restore(): Promise<void> {
    this.done ??= this.putBack();
    return this.done;
  }

  private async putBack(): Promise<void> {
    const problems: string[] = [];
    if (this.admin && this.found) {
      for (const ctx of this.changed) {
        const was = this.found.get(ctx);
        try {
          const reason = `load test (load-tests/): put back as found (${was ? describeView(was) : 'no flag'})`;
          // a flag that was off, or not there, routes everything to legacy: a kill does the same
          const res =
            !was || !was.defined || !was.enabled
              ? await adminCall(this.admin, 'POST', `/routes/${ctx}/kill`, { reason })
              : was.rollout !== null
                ? await adminCall(this.admin, 'PUT', `/routes/${ctx}`, { percent: was.rollout, reason })
                : undefined;
          if (!res) problems.push(`${ctx}: was decided by custom strategies only, which the admin API cannot set: put it back by hand`);
          else if (res.status >= 300) problems.push(`${ctx}: admin API answered ${res.status}`);
          else this.log(`  put back ${ctx}: ${was ? describeView(was) : 'off'}`);
        } catch (err) {
          problems.push(`${ctx}: ${(err as Error).message}`);
        }
      }
    }
    if (this.changed.size > 0 && !this.found) problems.push(`${[...this.changed].join(', ')}: changed through the admin API, which did not say how they were before`);
    if (this.flagsDir && this.fileBefore !== undefined) {
      const file = join(this.flagsDir, 'routes.json');
      if (this.fileBefore === null) await rm(file, { force: true });
      else {
        const tmp = join(this.flagsDir, '.routes.json.restore.tmp');
        await writeFile(tmp, this.fileBefore);
        await rename(tmp, file);
      }
      this.log(`  put back ${file} as found`);
    }
    if (problems.length) throw new Error(`could not put the gateway's flags back: ${problems.join('; ')}`);
  }
}

function describeView(v: RouteView): string {
  return `${v.context} ${!v.defined ? 'no flag' : !v.enabled ? 'off' : v.rollout === null ? 'custom' : `${v.rollout}%`}`;
}

async function externalStack(dir: string, gatewayUrl: string, opts: StackOptions): Promise<Stack> {
  const env = process.env;
  const pid = env.GATEWAY_PID ? Number(env.GATEWAY_PID) : undefined;
  opts.log(`using the existing gateway at ${gatewayUrl}; nothing is started`);
  // fail now with a clear message rather than after a run of connection errors
  try {
    await waitForHttp(`${gatewayUrl.replace(/\/+$/, '')}/healthz`, undefined, 10_000);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const token = opts.adminToken ?? env.ADMIN_TOKEN;
  const admin: Admin | undefined = token ? { url: gatewayUrl, token, actor: opts.actor ?? 'load-test' } : undefined;
  const restorer = new Restorer(admin, env.FLAGS_DIR, opts.log);
  const unregister = onInterrupt(() => restorer.restore());
  let rollouts: Rollouts = { ...opts.rollouts };
  try {
    if (await restorer.readAdmin()) {
      // through the admin API, one context at a time, only where the gateway differs: the rest
      // of its flags (and files) stay untouched, and each change is in its audit trail
      for (const ctx of CONTEXTS) {
        const want = opts.rollouts[ctx];
        if (want === undefined || restorer.routes(ctx, want)) continue;
        restorer.changedByAdmin(ctx);
        const res = await adminCall(admin!, 'PUT', `/routes/${ctx}`, { percent: want, reason: 'load test (load-tests/): starting state of the scenario' });
        if (res.status >= 300) throw new Error(`admin API: PUT /admin/routes/${ctx} answered ${res.status}: ${JSON.stringify(res.json).slice(0, 300)}`);
      }
      opts.log(`  flags set through the admin API as ${admin!.actor}: ${describeRollouts(opts.rollouts)}`);
    } else if (env.FLAGS_DIR) {
      await restorer.keepFile();
      await writeFlags(env.FLAGS_DIR, opts.rollouts);
      opts.log(`  flags written to ${env.FLAGS_DIR}: ${describeRollouts(opts.rollouts)}`);
    } else opts.log(`  FLAGS_DIR unset: the gateway's flags stay as they are (wanted: ${describeRollouts(opts.rollouts)})`);
  } catch (err) {
    await restorer.restore().catch((e: unknown) => opts.log(`  ${(e as Error).message}`));
    unregister();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    external: true,
    dir,
    legacyUrl: env.LEGACY_URL,
    pricingUrl: env.PRICING_URL,
    gatewayUrl,
    adminToken: token,
    serviceUrls: Object.fromEntries(contextIdentities().flatMap((c) => (env[c.upstream.urlEnv] ? [[c.name, env[c.upstream.urlEnv]!]] : []))),
    flagsDir: env.FLAGS_DIR,
    gatewayPid: pid,
    watch: pid ? [{ name: 'gateway', pid }] : [],
    get rollouts() {
      return rollouts;
    },
    set rollouts(r: Rollouts) {
      rollouts = r;
    },
    setRollout: async (ctx, pct) => {
      const r = await flip(admin, env.FLAGS_DIR, ctx, pct, rollouts, (next) => (rollouts = next), () => restorer.keepFile());
      if (r.method === 'admin') restorer.changedByAdmin(ctx);
      return r;
    },
    logBytes: () => 0,
    probeLines: () => [],
    logSummary: () => [],
    toggleHeapSampling: () => {},
    restartGateway: undefined,
    variants: [],
    cpuProfileDir: undefined,
    heapProfilePath: undefined,
    close: async () => {
      try {
        await restorer.restore();
      } finally {
        unregister();
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}

/** Waits until the gateway serves what the flags say (hot reload is asynchronous, ≤ 1 s). */
export async function waitForRoute(url: string, path: string, expect: RegExp, timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url + path, { headers: { 'x-user-id': 'load-probe' }, signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (expect.test(res.headers.get('x-strangler-route') ?? '')) return true;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}
