/**
 * `/metrics` across cluster workers (GATEWAY_WORKERS > 1). Whichever worker a scrape reaches
 * asks the primary; the primary collects the registries of every worker that is listening and
 * aggregates them with prom-client's `AggregatorRegistry.aggregate`, so a scraper sees one
 * gateway, not the share of the worker the kernel happened to pick. Counters and histograms add
 * up; each family says how it aggregates (families.ts). A worker that does not answer within the
 * timeout (stuck, or dying) is left out of that scrape rather than failing it.
 */
import cluster, { type Worker } from 'node:cluster';
import { aggregateFamilies, type FamilyJson } from './metrics.js';

const ASK = 'gateway:metrics-request';
const ANSWER = 'gateway:metrics-response';
const COLLECT = 'gateway:metrics-collect';
const COLLECTED = 'gateway:metrics-collected';

type MetricsJson = FamilyJson[];
interface Ask {
  type: typeof ASK;
  id: number;
}
interface Answer {
  type: typeof ANSWER;
  id: number;
  text?: string;
  error?: string;
}
interface Collect {
  type: typeof COLLECT;
  id: number;
}
interface Collected {
  type: typeof COLLECTED;
  id: number;
  metrics: MetricsJson[];
}

const is =
  <M extends { type: string }>(type: M['type']) =>
  (m: unknown): m is M =>
    typeof m === 'object' && m !== null && (m as { type?: unknown }).type === type;
const isAsk = is<Ask>(ASK);
const isAnswer = is<Answer>(ANSWER);
const isCollect = is<Collect>(COLLECT);
const isCollected = is<Collected>(COLLECTED);

/**
 * In a worker: report `registries` when the primary collects, and return the function that asks
 * the primary for the aggregate over every worker.
 */
export function workerMetrics(collect: () => Promise<MetricsJson[]>, timeoutMs = 5000): () => Promise<string> {
  let next = 0;
  const pending = new Map<number, { resolve: (text: string) => void; reject: (err: Error) => void; timer: NodeJS.Timeout }>();
  process.on('message', (m: unknown) => {
    if (isCollect(m)) {
      void collect().then((metrics) => {
        if (process.connected) process.send?.({ type: COLLECTED, id: m.id, metrics } satisfies Collected);
      });
      return;
    }
    if (!isAnswer(m)) return;
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    clearTimeout(p.timer);
    if (m.error !== undefined || m.text === undefined) p.reject(new Error(`metrics aggregation failed: ${m.error ?? 'no answer'}`));
    else p.resolve(m.text);
  });
  return () =>
    new Promise<string>((resolve, reject) => {
      if (!process.send || !process.connected) return reject(new Error('metrics aggregation failed: not connected to the primary'));
      const id = next++;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`metrics aggregation failed: no answer from the primary within ${timeoutMs} ms`));
      }, timeoutMs);
      timer.unref();
      pending.set(id, { resolve, reject, timer });
      process.send({ type: ASK, id } satisfies Ask);
    });
}

/**
 * In the primary: answer each worker's request with the aggregate over the workers `listening()`
 * returns (those serving: a worker still starting has no registries yet).
 */
export function serveClusterMetrics(listening: () => Iterable<Worker>, timeoutMs = 2000): void {
  let next = 0;
  const collections = new Map<number, { waiting: Set<number>; got: MetricsJson[]; finish: () => void }>();
  cluster.on('message', (worker, m: unknown) => {
    if (isCollected(m)) {
      const c = collections.get(m.id);
      if (!c || !c.waiting.delete(worker.id)) return;
      c.got.push(...m.metrics);
      if (c.waiting.size === 0) c.finish();
      return;
    }
    if (!isAsk(m)) return;
    const reply = (answer: Omit<Answer, 'type' | 'id'>) => {
      if (worker.isConnected()) worker.send({ type: ANSWER, id: m.id, ...answer } satisfies Answer);
    };
    const id = next++;
    const targets = [...listening()].filter((w) => w.isConnected());
    const c = {
      waiting: new Set(targets.map((w) => w.id)),
      got: [] as MetricsJson[],
      finish: () => {
        if (!collections.delete(id)) return;
        clearTimeout(timer);
        aggregateFamilies(c.got)
          .metrics()
          .then(
            (text) => reply({ text }),
            (err: Error) => reply({ error: err.message }),
          );
      },
    };
    const timer = setTimeout(c.finish, timeoutMs);
    collections.set(id, c);
    for (const w of targets) w.send({ type: COLLECT, id } satisfies Collect);
    if (targets.length === 0) c.finish();
  });
}
