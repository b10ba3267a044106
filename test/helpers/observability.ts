/**
 * For the observability suites: the embedded world with a listening gateway (real sockets, so
 * the headers a backend receives are the ones the gateway sent), every request each backend
 * receives recorded from its own server, optionally the gateway's log lines, and a reader for
 * the Prometheus exposition.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { startBackends, upstreamUrlsOf, type BackendName, type Backends, type Running } from '../../backends/index.js';
import { CONTEXTS } from '../../src/contexts/names.js';
import { buildGateway } from '../../src/app.js';
import { loadConfig } from '../../src/config/load.js';
import { flagFile, type Rollouts } from './flags.js';

export interface Received {
  backend: BackendName;
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

export interface ObservedWorld {
  app: FastifyInstance;
  backends: Backends;
  /** the listening gateway, e.g. http://127.0.0.1:41234 */
  base: string;
  /** every request the backends received, in arrival order */
  received: Received[];
  /** the gateway's log lines, parsed (only with `logs: true`) */
  logs: Record<string, unknown>[];
  /** the raw log text, to search for what must never appear */
  logText(): string;
}

interface Teardown {
  teardown(fn: () => unknown): void;
}

export async function startObservedWorld(
  t: Teardown,
  opts: { rollouts?: Rollouts; env?: Record<string, string>; logs?: boolean } = {},
): Promise<ObservedWorld> {
  const backends = await startBackends();
  const received: Received[] = [];
  for (const name of ['legacy', ...CONTEXTS]) {
    // every upstream of the registry that the embedded world runs
    const backend = (backends as unknown as Partial<Record<string, Running>>)[name];
    backend?.app.server.on('request', (req) => received.push({ backend: name as BackendName, method: req.method ?? '', url: req.url ?? '', headers: req.headers }));
  }
  const flagsDir = await mkdtemp(join(tmpdir(), 'strangler-obs-'));
  await writeFile(join(flagsDir, 'routes.json'), JSON.stringify(flagFile(opts.rollouts ?? {})));
  const config = loadConfig({ FLAGS_DIR: flagsDir, LOG_LEVEL: opts.logs ? 'info' : 'silent', SHED_EVENT_LOOP_DELAY_MS: '0', ...opts.env });
  const chunks: string[] = [];
  const logStream = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  const app = await buildGateway({
    config,
    upstreamUrls: upstreamUrlsOf(backends),
    ...(opts.logs ? { logStream } : { logger: false }),
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  t.teardown(async () => {
    await app.close();
    await backends.close();
    await rm(flagsDir, { recursive: true, force: true });
  });
  return {
    app,
    backends,
    base: `http://127.0.0.1:${port}`,
    received,
    get logs() {
      return chunks
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    },
    logText: () => chunks.join(''),
  };
}

export const put = (url: string, body: object) =>
  fetch(`${url}/__faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a Prometheus text exposition (comments skipped). */
export function parseExposition(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/** The sum of the samples of `name` whose labels include `labels` (0 when there are none). */
export function sum(samples: readonly Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((acc, s) => acc + s.value, 0);
}

/** One metric of a gateway, summed over the series that carry `labels`, read from its /metrics. */
export async function metricOf(app: FastifyInstance, name: string, labels: Record<string, string> = {}): Promise<number> {
  return sum(parseExposition((await app.inject('/metrics')).body), name, labels);
}

/** Polls `ok` until it holds; throws naming `what` after `timeoutMs`. */
export async function until(what: string, ok: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export async function scrape(base: string): Promise<{ text: string; samples: Sample[]; contentType: string | null }> {
  const r = await fetch(`${base}/metrics`);
  if (r.status !== 200) throw new Error(`/metrics answered ${r.status}`);
  const text = await r.text();
  return { text, samples: parseExposition(text), contentType: r.headers.get('content-type') };
}
