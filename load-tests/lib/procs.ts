/**
 * Child processes of the harness: spawned in their own process group, tracked, and killed on
 * every way out (normal end, error, SIGINT/SIGTERM, process exit), so that a benchmark never
 * leaves a gateway, a backend or an nginx behind on the machine.
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { createServer } from 'node:net';
import { readFileSync } from 'node:fs';

export interface Child {
  readonly name: string;
  readonly proc: ChildProcess;
  readonly pid: number;
  /** resolves with the exit code (or signal) once the process has gone */
  readonly exited: Promise<string>;
  /** the last lines the child wrote to a piped stderr, for error messages */
  stderrTail(): string;
}

const live = new Set<Child>();

export interface SpawnOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** stdout target: 'pipe' (read it), 'ignore', or an open file descriptor */
  stdout?: 'pipe' | 'ignore' | number;
}

export function spawnChild(name: string, command: string, args: readonly string[], opts: SpawnOptions = {}): Child {
  // stdin is a pipe so children written for the harness can notice the harness is gone;
  // detached puts each child in its own process group: a terminal ^C reaches only the harness,
  // which then shuts the children down in order (the gateway must exit cleanly to write its
  // --cpu-prof profile), and killing the group also reaches any grandchild (nginx workers).
  const stdio: StdioOptions = ['pipe', opts.stdout ?? 'ignore', 'pipe'];
  const proc = spawn(command, [...args], { env: opts.env ?? process.env, cwd: opts.cwd, stdio, detached: true });
  if (proc.pid === undefined) throw new Error(`${name}: could not spawn ${command}`);
  const tail: string[] = [];
  proc.stderr?.setEncoding('utf8');
  proc.stderr?.on('data', (chunk: string) => {
    tail.push(chunk);
    if (tail.length > 40) tail.shift();
  });
  const exited = new Promise<string>((resolve) => {
    proc.once('exit', (code, signal) => resolve(signal ?? String(code)));
    proc.once('error', (err) => resolve(`error: ${err.message}`));
  });
  const child: Child = { name, proc, pid: proc.pid, exited, stderrTail: () => tail.join('').split('\n').slice(-20).join('\n') };
  live.add(child);
  void exited.then(() => live.delete(child));
  return child;
}

function signalGroup(child: Child, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.proc.kill(signal);
    } catch {}
  }
}

/**
 * A child that is replaced by a new process on demand (compare mode starts every proxy afresh
 * each round). `spawn` starts a process (`first`: the very first one), `ready` waits until it
 * serves. The new child is in `live` (the children stopped on the way out) from its spawn, so one
 * that never gets ready is still stopped; the one it replaces is stopped and removed. `proc.pid`
 * follows the current process. Returns `restart`.
 */
export async function restartable(
  proc: { pid: number },
  live: Child[],
  spawn: (first: boolean) => Child | Promise<Child>,
  ready: (child: Child) => Promise<unknown> = async () => undefined,
): Promise<() => Promise<void>> {
  let current: Child | undefined;
  const start = async (first: boolean): Promise<void> => {
    current = await spawn(first);
    live.push(current);
    proc.pid = current.pid;
    await ready(current);
  };
  await start(true);
  return async () => {
    if (current) {
      await stopChild(current);
      const i = live.indexOf(current);
      if (i >= 0) live.splice(i, 1);
    }
    await start(false);
  };
}

/** SIGTERM (or the given signal), then SIGKILL to the whole group if it has not left in time. */
export async function stopChild(child: Child, signal: NodeJS.Signals = 'SIGTERM', graceMs = 8000): Promise<void> {
  if (!live.has(child)) return;
  signalGroup(child, signal);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), graceMs)));
  const result = await Promise.race([child.exited, timedOut]);
  clearTimeout(timer);
  if (result === 'timeout') {
    signalGroup(child, 'SIGKILL');
    await child.exited;
  }
  // nginx workers and other grandchildren may outlive their parent by a moment
  signalGroup(child, 'SIGKILL');
  live.delete(child);
}

export async function stopAll(): Promise<void> {
  await Promise.all([...live].reverse().map((c) => stopChild(c)));
}

const cleanups = new Set<() => Promise<void>>();
/**
 * Work to do before the harness leaves on SIGINT/SIGTERM (e.g. putting an external gateway's
 * flags back); the normal and error paths run it themselves. Returns the unregister function.
 */
export function onInterrupt(fn: () => Promise<void>): () => void {
  cleanups.add(fn);
  return () => cleanups.delete(fn);
}

let installed = false;
/** Kill every child on the way out, however the harness leaves. */
export function installCleanup(): void {
  if (installed) return;
  installed = true;
  const onSignal = (signal: NodeJS.Signals) => {
    process.stderr.write(`\n${signal}: ${cleanups.size ? 'putting things back, ' : ''}stopping ${live.size} child process(es)…\n`);
    const pending = [...cleanups].map((fn) =>
      fn().catch((err: unknown) => process.stderr.write(`cleanup failed: ${err instanceof Error ? err.message : String(err)}\n`)),
    );
    void Promise.all(pending)
      .then(stopAll)
      .finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  // last resort (uncaught error, process.exit): synchronous, so only a SIGKILL to each group
  process.on('exit', () => {
    for (const c of live) signalGroup(c, 'SIGKILL');
  });
}

export function liveChildren(): number {
  return live.size;
}

/** Reads the first JSON line a child prints on stdout that has the given key. */
export function readReadyLine<T>(child: Child, key: string, timeoutMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => done(new Error(`${child.name} did not report ready within ${timeoutMs} ms\n${child.stderrTail()}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      buf += chunk.toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          const parsed = JSON.parse(line) as Record<string, unknown>;
          if (key in parsed) return done(undefined, parsed[key] as T);
        } catch {}
      }
    };
    const onExit = () => done(new Error(`${child.name} exited before it was ready\n${child.stderrTail()}`));
    function done(err: Error | undefined, value?: T) {
      clearTimeout(timer);
      child.proc.stdout?.off('data', onData);
      child.proc.off('exit', onExit);
      if (err) reject(err);
      else resolve(value as T);
    }
    child.proc.stdout?.on('data', onData);
    child.proc.once('exit', onExit);
  });
}

/** Polls a URL until it answers 2xx (the child is listening), or fails when the child dies. */
export async function waitForHttp(url: string, child: Child | undefined, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void child?.exited.then(() => (exited = true));
  let last = '';
  while (Date.now() < deadline) {
    if (exited) throw new Error(`${child?.name} exited before answering ${url}\n${child?.stderrTail()}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.ok) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`${url} not ready within ${timeoutMs} ms (${last})${child ? `\n${child.stderrTail()}` : ''}`);
}

/** An ephemeral loopback port that was free a moment ago (the child binds it right after). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface ProcSample {
  rssMb: number;
  /** CPU time (user + system) used so far, in seconds */
  cpuS: number;
}

const CLK_TCK = 100; // Linux USER_HZ; /proc/<pid>/stat times are in these ticks

/** RSS and CPU time of a process from /proc (Linux); undefined when it is gone or not Linux. */
export function sampleProc(pid: number): ProcSample | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rss = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // fields after the parenthesised command name; utime and stime are fields 14 and 15
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(rest[11]);
    const stime = Number(rest[12]);
    return { rssMb: rss ? Number(rss[1]) / 1024 : 0, cpuS: (utime + stime) / CLK_TCK };
  } catch {
    return undefined;
  }
}

/** Sum over a process and its direct children (nginx: master + workers). */
export function sampleProcTree(pid: number): ProcSample | undefined {
  const own = sampleProc(pid);
  if (!own) return undefined;
  try {
    const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    for (const k of kids) {
      const s = sampleProc(k);
      if (s) {
        own.rssMb += s.rssMb;
        own.cpuS += s.cpuS;
      }
    }
  } catch {}
  return own;
}

/** CPU seconds the whole machine has been busy (all cores, /proc/stat), for "who else was running". */
export function machineBusyS(): number | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal: busy = everything but idle and iowait
    const busy = v.reduce((a, b) => a + b, 0) - (v[3] ?? 0) - (v[4] ?? 0);
    return busy / CLK_TCK;
  } catch {
    return undefined;
  }
}

/**
 * On a shared machine (other sessions' test suites, builds), waits until the rest of the
 * machine uses less than `maxPct` % CPU (100 = one core) for 3 seconds in a row, or `timeoutS`
 * passes. Returns the last reading, so the report can say how busy the machine was.
 */
export async function waitForQuietMachine(maxPct: number, timeoutS: number, log: (m: string) => void): Promise<number> {
  const end = Date.now() + timeoutS * 1000;
  let calm = 0;
  let last = 0;
  let said = false;
  while (Date.now() < end) {
    const a = machineBusyS();
    await new Promise((r) => setTimeout(r, 1000));
    const b = machineBusyS();
    if (a === undefined || b === undefined) return 0;
    last = Math.round((b - a) * 100);
    calm = last < maxPct ? calm + 1 : 0;
    if (calm >= 3) return last;
    if (!said && last >= maxPct) {
      log(`waiting up to ${timeoutS}s for the machine to calm down (other CPU ${last} % ≥ ${maxPct} %)…`);
      said = true;
    }
  }
  log(`the machine stayed busy (other CPU ${last} %): measuring anyway`);
  return last;
}
