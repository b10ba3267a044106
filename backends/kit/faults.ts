/**
 * Fault injection for every simulated backend (CONTRACTS.md "Fault injection"). The gateway's
 * resilience (timeouts, breakers, ACL validation) is only believable if it is exercised against
 * real sockets that stall, reset, truncate and drift, so each fault happens on the wire.
 *
 * Not a fastify plugin on purpose: hooks must land on the root instance (no encapsulation) and
 * installing it is one call.
 */
import { Readable } from 'node:stream';
import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

const Rate = Type.Number({ minimum: 0, maximum: 1 });
const Millis = Type.Integer({ minimum: 0, maximum: 120_000 });

export const FaultConfigSchema = Type.Object(
  {
    latencyMs: Type.Optional(Millis),
    jitterMs: Type.Optional(Millis),
    errorRate: Type.Optional(Rate),
    resetRate: Type.Optional(Rate),
    malformedRate: Type.Optional(Rate),
    driftRate: Type.Optional(Rate),
    slowBodyMs: Type.Optional(Millis),
    /** share of the prices, stock levels and promotion lists in 2xx JSON answers made wrong, the payload still valid (see skewJson) */
    valueSkewRate: Type.Optional(Rate),
    /** by how many minor units a skewed price is off (default 1: a cent) */
    valueSkewMinor: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
  },
  { additionalProperties: false },
);
export type FaultConfigInput = Static<typeof FaultConfigSchema>;
export type FaultConfig = Required<FaultConfigInput>;

// Compiled TypeBox check rather than fastify's Ajv: fastify's Ajv is configured with
// removeAdditional, which would silently drop unknown keys instead of rejecting them.
const checkConfig = TypeCompiler.Compile(FaultConfigSchema);

export const NO_FAULTS: Readonly<FaultConfig> = Object.freeze({
  latencyMs: 0,
  jitterMs: 0,
  errorRate: 0,
  resetRate: 0,
  malformedRate: 0,
  driftRate: 0,
  slowBodyMs: 0,
  valueSkewRate: 0,
  valueSkewMinor: 1,
});

export interface ErrorBody {
  contentType: string;
  body: string;
}

export interface FaultOptions {
  /** the service's own error format for a status (500 for injected errors, 400 for a bad PUT) */
  errorBody: (status: number, detail?: string) => ErrorBody;
  /** injectable for tests; defaults to Math.random (faults need not be reproducible) */
  random?: () => number;
}

export interface FaultHandle {
  get(): FaultConfig;
  set(config: FaultConfigInput): void;
  reset(): void;
}

type DriftMode = 'rename' | 'retype' | 'drop';

/** Per-request decisions taken in onRequest and carried out in onSend. */
interface Plan {
  malformed: boolean;
  drift: DriftMode | undefined;
  /** a value fault: the payload stays valid, some values in it are wrong */
  skew: { rate: number; minor: number } | undefined;
}

const SLOW_CHUNKS = 5;

function isExempt(url: string): boolean {
  const path = url.split('?', 1)[0] ?? url;
  return path === '/healthz' || path === '/__faults' || path.startsWith('/__faults/') || path.startsWith('/__changes/');
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function installFaults(app: FastifyInstance, opts: FaultOptions): FaultHandle {
  const random = opts.random ?? Math.random;
  let config: FaultConfig = { ...NO_FAULTS };
  const plans = new WeakMap<FastifyRequest, Plan>();
  const roll = (rate: number) => rate > 0 && random() < rate;

  app.addHook('onRequest', async (request, reply) => {
    if (isExempt(request.url)) return;
    const c = config; // a PUT mid-request must not change this request's faults halfway
    const delay = c.latencyMs + (c.jitterMs > 0 ? Math.floor(random() * (c.jitterMs + 1)) : 0);
    if (delay > 0) await sleep(delay);
    if (roll(c.resetRate)) {
      reply.hijack();
      request.raw.socket?.destroy();
      return;
    }
    if (roll(c.errorRate)) {
      const e = opts.errorBody(500, 'Injected fault');
      return reply.code(500).header('content-type', e.contentType).send(e.body);
    }
    const plan: Plan = { malformed: roll(c.malformedRate), drift: undefined, skew: undefined };
    if (!plan.malformed && roll(c.driftRate)) plan.drift = pickDrift(random);
    if (!plan.malformed && !plan.drift && c.valueSkewRate > 0) plan.skew = { rate: c.valueSkewRate, minor: c.valueSkewMinor };
    if (plan.malformed || plan.drift || plan.skew || c.slowBodyMs > 0) plans.set(request, plan);
  });

  app.addHook('onSend', async (request, reply, payload) => {
    const plan = plans.get(request);
    if (!plan) return payload;
    let out = payload;
    if ((plan.malformed || plan.drift) && isJsonSuccess(reply) && isText(out)) {
      const text = typeof out === 'string' ? out : out.toString('utf8');
      if (plan.malformed) out = truncate(text);
      else if (plan.drift) out = driftJson(text, plan.drift);
      reply.code(200);
    } else if (plan.skew && isJsonSuccess(reply) && isText(out)) {
      out = skewJson(typeof out === 'string' ? out : out.toString('utf8'), plan.skew.minor, plan.skew.rate, random);
    }
    if (config.slowBodyMs > 0 && isText(out)) {
      reply.removeHeader('content-length');
      out = slowStream(Buffer.from(out), config.slowBodyMs);
    }
    return out;
  });

  const handle: FaultHandle = {
    get: () => ({ ...config }),
    set: (input) => {
      config = { ...NO_FAULTS, ...input };
    },
    reset: () => {
      config = { ...NO_FAULTS };
    },
  };
  registerRoutes(app, opts, handle);
  return handle;
}

function registerRoutes(app: FastifyInstance, opts: FaultOptions, handle: FaultHandle): void {
  const badRequest = (reply: FastifyReply, detail: string) => {
    const e = opts.errorBody(400, detail);
    return reply.code(400).header('content-type', e.contentType).send(e.body);
  };
  app.get('/__faults', async () => handle.get());
  app.delete('/__faults', async () => {
    handle.reset();
    return handle.get();
  });
  // PUT replaces the whole configuration: keys left out are off
  app.put('/__faults', async (request, reply) => {
    const body = request.body ?? {};
    if (!checkConfig.Check(body)) {
      const first = checkConfig.Errors(body).First();
      const where = first?.path ? `${first.path}: ` : '';
      return badRequest(reply, `Invalid fault configuration: ${where}${first?.message ?? 'invalid'}`);
    }
    handle.set(body);
    return handle.get();
  });
}

function pickDrift(random: () => number): DriftMode {
  const modes: DriftMode[] = ['rename', 'retype', 'drop'];
  return modes[Math.floor(random() * modes.length)] ?? 'drop';
}

function isJsonSuccess(reply: FastifyReply): boolean {
  const type = String(reply.getHeader('content-type') ?? '');
  return reply.statusCode >= 200 && reply.statusCode < 300 && type.includes('json');
}

function isText(payload: unknown): payload is string | Buffer {
  return typeof payload === 'string' || Buffer.isBuffer(payload);
}

/** A proper prefix of a JSON object or array is never valid JSON. */
function truncate(text: string): string {
  return text.slice(0, Math.max(1, Math.floor(text.length / 2)));
}

function slowStream(body: Buffer, totalMs: number): Readable {
  const size = Math.max(1, Math.ceil(body.length / SLOW_CHUNKS));
  const chunks: Buffer[] = [];
  for (let i = 0; i < body.length; i += size) chunks.push(body.subarray(i, i + size));
  const gap = Math.floor(totalMs / Math.max(1, chunks.length));
  return Readable.from(
    (async function* () {
      for (const [i, chunk] of chunks.entries()) {
        if (i > 0) await sleep(gap);
        yield chunk;
      }
      await sleep(gap); // the last gap makes the whole body take ~totalMs
    })(),
  );
}

// ---------------------------------------------------------------------------------------------
// Drift: the way an upstream release breaks its consumers. Each mode is applied recursively; if
// the chosen one leaves the payload unchanged (no camelCase keys, no numbers) the next is tried,
// and `drop` always changes a non-empty object, so every drift is observable.

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Field names consumers require (canonical model and OCC); dropped first by the `drop` mode. */
const REQUIRED_KEYS = new Set([
  'price', 'prices', 'amount', 'currency', 'value', 'currencyIso', 'stock', 'stockLevelStatus', 'stockLevel',
  'availability', 'status', 'quantity', 'sku', 'code', 'items', 'missing', 'promotions', 'entries',
  'total', 'totalPrice', 'subTotal', 'products', 'pagination', 'baseSites', 'catalogs', 'name',
]);

interface DriftResult {
  value: Json;
  changed: boolean;
}

export function driftJson(text: string, first: DriftMode): string {
  let value: Json;
  try {
    value = JSON.parse(text) as Json;
  } catch {
    return text;
  }
  const order: DriftMode[] = ['rename', 'retype', 'drop'];
  const start = order.indexOf(first);
  for (let i = 0; i < order.length; i++) {
    const mode = order[(start + i) % order.length] as DriftMode;
    const r = applyDrift(value, mode);
    if (r.changed) return JSON.stringify(r.value);
  }
  return text;
}

function applyDrift(value: Json, mode: DriftMode): DriftResult {
  if (mode === 'rename') return mapJson(value, (key) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), (v) => v);
  if (mode === 'retype') return mapJson(value, (key) => key, (v) => (typeof v === 'number' ? String(v) : v));
  const dropped = dropKeys(value, (key) => REQUIRED_KEYS.has(key));
  return dropped.changed ? dropped : dropKeys(value, (_key, index) => index === 0);
}

/** Rebuilds the tree with renamed keys and mapped leaves, reporting whether anything differs. */
function mapJson(value: Json, renameKey: (k: string) => string, mapLeaf: (v: Json) => Json): DriftResult {
  if (Array.isArray(value)) {
    const items = value.map((v) => mapJson(v, renameKey, mapLeaf));
    return { value: items.map((r) => r.value), changed: items.some((r) => r.changed) };
  }
  if (value !== null && typeof value === 'object') {
    const out: { [key: string]: Json } = {};
    let changed = false;
    for (const [k, v] of Object.entries(value)) {
      const key = renameKey(k);
      const r = mapJson(v, renameKey, mapLeaf);
      out[key] = r.value;
      changed ||= key !== k || r.changed;
    }
    return { value: out, changed };
  }
  const mapped = mapLeaf(value);
  return { value: mapped, changed: mapped !== value };
}

function dropKeys(value: Json, drop: (key: string, index: number) => boolean): DriftResult {
  if (Array.isArray(value)) {
    const items = value.map((v) => dropKeys(v, drop));
    return { value: items.map((r) => r.value), changed: items.some((r) => r.changed) };
  }
  if (value !== null && typeof value === 'object') {
    const out: { [key: string]: Json } = {};
    let changed = false;
    Object.entries(value).forEach(([k, v], index) => {
      if (drop(k, index)) {
        changed = true;
        return;
      }
      const r = dropKeys(v, drop);
      out[k] = r.value;
      changed ||= r.changed;
    });
    return { value: out, changed };
  }
  return { value, changed: false };
}

// ---------------------------------------------------------------------------------------------
// Value skew: the way a semantic bug in a new service looks. The payload keeps its schema (every
// consumer accepts it) but values in it are wrong: each price, stock level and promotion list of
// the answer is, with probability `rate`, off by `minor` minor units, off by one, or missing its
// last promotion. Per value, not per answer: a client that batches 20 SKUs into one call sees the
// same share of wrong prices as one that asks for each.

type Skew = () => void;

/** A canonical Money (`{ amount: integer, currency: "EUR" }`) or an OCC price (`{ value, currencyIso }`). */
function isPrice(o: { [key: string]: Json }): 'minor' | 'decimal' | undefined {
  if (Number.isInteger(o.amount) && typeof o.currency === 'string') return 'minor';
  if (typeof o.value === 'number' && typeof o.currencyIso === 'string') return 'decimal';
  return undefined;
}

const STOCK_KEYS = new Set(['quantity', 'stockLevel']);

function skewCandidates(value: Json, minor: number, out: Skew[]): void {
  if (Array.isArray(value)) {
    for (const v of value) skewCandidates(v, minor, out);
    return;
  }
  if (value === null || typeof value !== 'object') return;
  const o = value;
  const price = isPrice(o);
  if (price === 'minor') out.push(() => void (o.amount = (o.amount as number) + minor));
  if (price === 'decimal') out.push(() => void (o.value = Math.round(((o.value as number) + minor / 100) * 100) / 100));
  for (const [k, v] of Object.entries(o)) {
    if (STOCK_KEYS.has(k) && Number.isInteger(v)) out.push(() => void (o[k] = (v as number) + 1));
    else if (k === 'promotions' && Array.isArray(v) && v.length > 0) out.push(() => void v.pop());
    else if (!(price === 'minor' && k === 'amount') && !(price === 'decimal' && k === 'value')) skewCandidates(v, minor, out);
  }
}

/** A JSON text with each price, stock level and promotion list made wrong with probability `rate` (unchanged when none is). */
export function skewJson(text: string, minor: number, rate: number, random: () => number = Math.random): string {
  let value: Json;
  try {
    value = JSON.parse(text) as Json;
  } catch {
    return text;
  }
  const candidates: Skew[] = [];
  skewCandidates(value, minor, candidates);
  let changed = false;
  for (const skew of candidates) {
    if (random() < rate) {
      skew();
      changed = true;
    }
  }
  return changed ? JSON.stringify(value) : text;
}
