/**
 * One autocannon run with a per-second timeline: every response's latency, status and
 * `x-strangler-route` lands in the bucket of the second it completed in, every connection error
 * too, and the processes under test are sampled (RSS, CPU) once a second. Scheduled actions (a
 * flag flip, a fault) run mid-load and leave a marker on the timeline, so the report can show
 * what happened around them rather than an average that hides them.
 */
import autocannon, { type Client, type RequestParams } from 'autocannon';
import { performance } from 'node:perf_hooks';
import { latencyStats, round, secondsLatency, type LatencyStats } from './stats.js';
import { machineBusyS, sampleProc, sampleProcTree } from './procs.js';

export interface RequestShape {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

/** returns request number `i` of the run (the harness rotates codes, users, bodies with it) */
export type RequestGen = (i: number) => RequestShape;

export interface Action {
  /** seconds after the measured run started */
  atS: number;
  label: string;
  /** what was done, for the marker's detail (e.g. "admin API 404 → flag file") */
  run: () => Promise<string>;
}

export interface Watched {
  name: string;
  pid: number;
  /** include direct children (nginx master + workers) */
  tree?: boolean;
}

export interface LoadSpec {
  /** origin to load, e.g. http://127.0.0.1:18080 */
  url: string;
  connections: number;
  durationS: number;
  request: RequestGen;
  actions?: readonly Action[];
  watch?: readonly Watched[];
  /** per-request timeout in seconds (autocannon counts it as an error) */
  timeoutS?: number;
  /** a substring that marks a 2xx body as failed anyway (GraphQL answers errors with 200) */
  bodyErrorMarker?: string;
  /** open loop: total requests per second; latencies then exclude time queued in the client */
  rate?: number;
  /**
   * Splits every second by arm: the name of the arm that served a response, from its
   * `x-strangler-route` value ('' when it had none), e.g. `pricing=new` → 'new' (rehearse).
   */
  armOf?: (route: string) => string;
  /** ends the run before `durationS` (autocannon's stop) */
  stop?: AbortSignal;
}

/** One arm's responses within one second (LoadSpec.armOf) */
export interface ArmSecond {
  requests: number;
  non2xx: number;
  latency: LatencyStats;
}

export interface ProcPoint {
  rssMb: number;
  cpuPct: number;
}

export interface Second {
  /** second index since the measured start: requests completed in [t, t+1) */
  t: number;
  requests: number;
  latency: LatencyStats;
  non2xx: number;
  errors: number;
  /** 2xx responses whose body carried `bodyErrorMarker` */
  bodyErrors: number;
  statuses: Record<string, number>;
  routes: Record<string, number>;
  procs: Record<string, ProcPoint>;
  /** the gateway's own view of that second (load-tests/probe.ts), when it ran */
  probe?: ProbePoint;
  /** per arm, when the run had `armOf` */
  arms?: Record<string, ArmSecond>;
}

export interface ProbePoint {
  elu: number;
  loopDelayP99Ms: number;
  heapUsedMb: number;
  /** the young generation's size (MB) */
  newSpaceMb?: number;
  gcCount: number;
  gcMs: number;
}

export interface Marker {
  /** seconds since the measured start (fractional) */
  t: number;
  label: string;
  detail: string;
}

export interface RunResult {
  startedAt: string;
  /** Date.now() at the measured start, to place the probe's wall-clock lines */
  wallStartMs: number;
  /** CLOCK_MONOTONIC in microseconds at start and end (same clock as V8's profiles) */
  monoStartUs: number;
  monoEndUs: number;
  durationS: number;
  requests: number;
  rps: number;
  latency: LatencyStats;
  non2xx: number;
  errors: number;
  bodyErrors: number;
  timeouts: number;
  statuses: Record<string, number>;
  routes: Record<string, number>;
  seconds: Second[];
  markers: Marker[];
  /** when each distinct x-strangler-route value was first seen (seconds since start) */
  routeFirstSeen: Record<string, number>;
  /** raw per-second latencies, kept for window statistics (not written to the JSON report) */
  latenciesBySecond: number[][];
  /** every response's arm (`armOf`), completion time (s since start), latency and status, for exact windows; not in the JSON */
  armResponses: { t: number; arm: string; ms: number; status: number }[];
  /** when each of those responses arrived (seconds since start), index for index: windows that do not start on a whole second */
  arrivalsBySecond: number[][];
  /** autocannon's own figures, for cross-checking (its latency histogram counts 2xx only) */
  autocannon: { requestsTotal: number; latencyP50: number; latencyP99: number; latencyMax: number; rpsAverage: number };
}

const ROUTE_HEADER = 'x-strangler-route';

export async function runLoad(spec: LoadSpec): Promise<RunResult> {
  let counter = 0;
  const latencies: number[][] = [];
  const buckets: Omit<Second, 'latency' | 't' | 'arms'>[] = [];
  const armBuckets: Record<string, { requests: number; non2xx: number; latencies: number[] }>[] = [];
  const armResponses: RunResult['armResponses'] = [];
  const arrivals: number[][] = [];
  const lastRoute = new WeakMap<Client, string>();
  const bodyFailed = new WeakSet<Client>();
  const marker = spec.bodyErrorMarker;
  const routeFirstSeen: Record<string, number> = {};
  const markers: Marker[] = [];
  const bucket = (t: number) => {
    while (buckets.length <= t) {
      buckets.push({ requests: 0, non2xx: 0, errors: 0, bodyErrors: 0, statuses: {}, routes: {}, procs: {} });
      armBuckets.push({});
      latencies.push([]);
      arrivals.push([]);
    }
    return buckets[t]!;
  };

  const wallStartMs = Date.now();
  const startedAt = new Date(wallStartMs).toISOString();
  const t0 = performance.now();
  const monoStartUs = Number(process.hrtime.bigint() / 1000n);
  const instance = autocannon({
    url: spec.url,
    connections: spec.connections,
    duration: spec.durationS,
    timeout: spec.timeoutS ?? 10,
    ...(spec.rate ? { overallRate: spec.rate } : {}),
    requests: [
      {
        setupRequest: (req: RequestParams): RequestParams => {
          const r = spec.request(counter++);
          return { ...req, method: r.method ?? 'GET', path: r.path, headers: r.headers ?? {}, ...(r.body !== undefined ? { body: r.body } : {}) };
        },
      },
    ],
    // the route header is only visible on the connection's `headers` event; with pipelining 1
    // the next `response` on that connection is the one these headers belong to
    setupClient: (client: Client) => {
      client.on('headers', (info) => {
        const h = info.headers;
        let route = '';
        for (let i = 0; i < h.length; i += 2) {
          if (h[i]?.toLowerCase() === ROUTE_HEADER) route = h[i + 1] ?? '';
        }
        lastRoute.set(client, route);
      });
      if (marker) {
        client.on('body', (...args: unknown[]) => {
          const chunk = args[0] as Buffer;
          if (chunk.includes(marker)) bodyFailed.add(client);
        });
      }
    },
  });

  instance.on('response', (client, statusCode, _bytes, responseTime) => {
    const now = (performance.now() - t0) / 1000;
    const t = Math.floor(now);
    const b = bucket(t);
    b.requests++;
    latencies[t]!.push(responseTime);
    arrivals[t]!.push(now);
    const s = String(statusCode);
    b.statuses[s] = (b.statuses[s] ?? 0) + 1;
    if (statusCode < 200 || statusCode > 299) b.non2xx++;
    const route = lastRoute.get(client);
    if (spec.armOf) {
      const arm = spec.armOf(route ?? '');
      const a = (armBuckets[t]![arm] ??= { requests: 0, non2xx: 0, latencies: [] });
      a.requests++;
      a.latencies.push(responseTime);
      if (statusCode < 200 || statusCode > 299) a.non2xx++;
      armResponses.push({ t: now, arm, ms: responseTime, status: statusCode });
    }
    if (route) {
      if (b.routes[route] === undefined && routeFirstSeen[route] === undefined) routeFirstSeen[route] = round(now, 3);
      b.routes[route] = (b.routes[route] ?? 0) + 1;
    }
    if (bodyFailed.has(client)) {
      if (statusCode >= 200 && statusCode <= 299) b.bodyErrors++;
      bodyFailed.delete(client);
    }
    // the header belongs to this response only: a later response without one must not inherit it
    lastRoute.delete(client);
  });
  instance.on('reqError', () => {
    bucket(Math.floor((performance.now() - t0) / 1000)).errors++;
  });

  // once a second: RSS and CPU of every watched process, of the harness itself (the load
  // generator: near 100 % means autocannon, not the target, is the limit) and of everything else
  // on the machine (other work on a shared machine skews a benchmark; the report says so)
  const prevCpu = new Map<string, { cpuS: number; at: number }>();
  const selfCpuS = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  };
  const sampleAll = (at: number) => {
    const t = Math.max(0, Math.floor((at - t0) / 1000) - 1);
    let watchedPct = 0;
    const point = (name: string, cpuS: number, rssMb: number) => {
      const prev = prevCpu.get(name);
      prevCpu.set(name, { cpuS, at });
      if (!prev) return;
      const dt = (at - prev.at) / 1000;
      const cpuPct = round(dt > 0 ? ((cpuS - prev.cpuS) / dt) * 100 : 0, 1);
      if (name !== 'other') watchedPct += cpuPct;
      bucket(t).procs[name] = { rssMb: round(rssMb, 1), cpuPct };
    };
    for (const w of spec.watch ?? []) {
      const s = w.tree ? sampleProcTree(w.pid) : sampleProc(w.pid);
      if (s) point(w.name, s.cpuS, s.rssMb);
    }
    point('harness', selfCpuS(), process.memoryUsage().rss / 1048576);
    const busy = machineBusyS();
    if (busy !== undefined) {
      const prev = prevCpu.get('machine');
      prevCpu.set('machine', { cpuS: busy, at });
      if (prev && buckets[t]) {
        const dt = (at - prev.at) / 1000;
        const machinePct = dt > 0 ? ((busy - prev.cpuS) / dt) * 100 : 0;
        buckets[t]!.procs.other = { rssMb: 0, cpuPct: round(Math.max(0, machinePct - watchedPct), 1) };
      }
    }
  };
  sampleAll(t0);
  const sampler = setInterval(() => sampleAll(performance.now()), 1000);

  const onStop = () => instance.stop();
  if (spec.stop?.aborted) onStop();
  else spec.stop?.addEventListener('abort', onStop, { once: true });

  const timers = (spec.actions ?? []).map((a) =>
    setTimeout(() => {
      const at = (performance.now() - t0) / 1000;
      a.run().then(
        (detail) => markers.push({ t: round(at, 2), label: a.label, detail }),
        (err: unknown) => markers.push({ t: round(at, 2), label: a.label, detail: `FAILED: ${(err as Error).message}` }),
      );
    }, a.atS * 1000),
  );

  let result;
  try {
    result = await instance;
  } finally {
    clearInterval(sampler);
    spec.stop?.removeEventListener('abort', onStop);
    for (const tm of timers) clearTimeout(tm);
  }
  const monoEndUs = Number(process.hrtime.bigint() / 1000n);
  const elapsedS = (performance.now() - t0) / 1000;

  // autocannon stops a moment after `duration`; a last partial second would read as a drop
  const full = Math.max(1, Math.floor(elapsedS));
  const seconds: Second[] = buckets.slice(0, full).map((b, t) => ({
    t,
    ...b,
    latency: latencyStats(latencies[t] ?? []),
    ...(spec.armOf
      ? { arms: Object.fromEntries(Object.entries(armBuckets[t] ?? {}).map(([arm, a]) => [arm, { requests: a.requests, non2xx: a.non2xx, latency: latencyStats(a.latencies) }])) }
      : {}),
  }));
  const all = latencies.flat();
  const total = (k: 'requests' | 'non2xx' | 'errors' | 'bodyErrors') => buckets.reduce((n, b) => n + b[k], 0);
  const merge = (k: 'statuses' | 'routes') => {
    const out: Record<string, number> = {};
    for (const b of buckets) for (const [key, n] of Object.entries(b[k])) out[key] = (out[key] ?? 0) + n;
    return out;
  };
  const requests = total('requests');
  return {
    startedAt,
    wallStartMs,
    monoStartUs,
    monoEndUs,
    durationS: round(elapsedS, 2),
    requests,
    rps: round(requests / elapsedS, 1),
    latency: latencyStats(all),
    non2xx: total('non2xx'),
    errors: Math.max(total('errors'), result.errors),
    bodyErrors: total('bodyErrors'),
    timeouts: result.timeouts,
    statuses: merge('statuses'),
    routes: merge('routes'),
    seconds,
    markers: markers.sort((a, b) => a.t - b.t),
    routeFirstSeen,
    latenciesBySecond: latencies.slice(0, full),
    armResponses,
    arrivalsBySecond: arrivals.slice(0, full),
    autocannon: {
      requestsTotal: result.requests.total,
      latencyP50: result.latency.p50,
      latencyP99: result.latency.p99,
      latencyMax: result.latency.max,
      rpsAverage: result.requests.average,
    },
  };
}

/** Latency statistics over the seconds [from, to) of a run. */
export function windowStats(run: RunResult, from: number, to: number): LatencyStats & { requests: number; non2xx: number; errors: number; rps: number } {
  const lo = Math.max(0, Math.floor(from));
  const hi = Math.min(run.seconds.length, Math.ceil(to));
  const secs = run.seconds.slice(lo, hi);
  const stats = secondsLatency(run.latenciesBySecond, lo, hi);
  const requests = secs.reduce((n, s) => n + s.requests, 0);
  return {
    ...stats,
    requests,
    non2xx: secs.reduce((n, s) => n + s.non2xx, 0),
    errors: secs.reduce((n, s) => n + s.errors, 0),
    rps: secs.length ? round(requests / secs.length, 1) : 0,
  };
}

/** A short unrecorded run so JIT, connection pools and caches are warm before measuring. */
export async function warmup(spec: Pick<LoadSpec, 'url' | 'connections' | 'request'>, seconds: number): Promise<void> {
  if (seconds <= 0) return;
  let i = 0;
  await autocannon({
    url: spec.url,
    connections: spec.connections,
    duration: seconds,
    requests: [
      {
        setupRequest: (req: RequestParams): RequestParams => {
          const r = spec.request(i++);
          return { ...req, method: r.method ?? 'GET', path: r.path, headers: r.headers ?? {}, ...(r.body !== undefined ? { body: r.body } : {}) };
        },
      },
    ],
  });
}

/** Places the probe's once-a-second lines (each about the second before it) on the timeline. */
export function attachProbe(run: RunResult, lines: readonly (ProbePoint & { t: number })[]): void {
  for (const l of lines) {
    const t = Math.floor((l.t - run.wallStartMs) / 1000) - 1;
    const s = run.seconds[t];
    if (s) s.probe = { elu: l.elu, loopDelayP99Ms: l.loopDelayP99Ms, heapUsedMb: l.heapUsedMb, gcCount: l.gcCount, gcMs: l.gcMs };
  }
}
