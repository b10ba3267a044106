/**
 * Outbound HTTP to one upstream: a keep-alive undici Pool, a per-call timeout bounded by the
 * request's own budget, a circuit breaker (./breaker.ts), and retries with jittered backoff for safe
 * calls only (idempotent method or an Idempotency-Key) under a retry budget. Transport failures
 * become the gateway's error model here; adapters never see sockets or raw undici errors.
 */
import { Pool, errors as undiciErrors, type Dispatcher } from 'undici';
import type { IncomingHttpHeaders } from 'node:http';
import { GatewayError } from '../errors.js';
import { RetryBudget } from './retry-budget.js';
import { Breaker, DEFAULT_BREAKER, type BreakerOptions, type BreakerState } from './breaker.js';

export type { BreakerOptions, BreakerState };

export interface UpstreamOptions {
  name: string;
  baseUrl: string;
  timeoutMs: number;
  connections: number;
  breaker?: BreakerOptions;
  retry?: { max: number; budgetPercent: number };
  /** metrics and client spans of every call (src/observability); none: calls are not observed */
  observer?: CallObserver;
}

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface CallOptions {
  method?: Method;
  body?: unknown;
  headers?: Record<string, string>;
  /** which bounded context this call serves, for errors and logs */
  context?: string;
  backend?: 'legacy' | 'new';
  /** absolute time (ms since epoch) by which the inbound request must be answered */
  deadline?: number;
  /** a body forwarded as received (e.g. an OCC form post) instead of `body` as JSON */
  rawBody?: { contentType: string; text: string };
}

export interface UpstreamResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** parsed JSON, or undefined for an empty body */
  body: unknown;
}


/** How a call ended, as metrics and spans report it. A 4xx is an answer, not a failure. */
/** `cancelled`: the inbound client left before the upstream answered (the passthrough stops reading). */
export type CallOutcome = 'ok' | '4xx' | '5xx' | 'timeout' | 'unavailable' | 'breaker_open' | 'invalid_payload' | 'cancelled';

/** One call being observed; `end` is called exactly once. */
export interface ObservedCall {
  /** the call is about to be sent again (a safe retry) */
  retried(): void;
  end(outcome: CallOutcome, status: number | undefined): void;
}

/**
 * Watches every call of an upstream. `start` sees the outbound headers before the first attempt
 * and may set `traceparent` to a client span of its own (the value there on entry, the request's
 * span, is its parent).
 */
export interface CallObserver {
  start(method: Method, opts: CallOptions, headers: Record<string, string>): ObservedCall;
}

const IDEMPOTENT = new Set<Method>(['GET', 'PUT', 'DELETE']);
/** the connection broke: the request may or may not have reached the upstream */
const MAYBE_SENT = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);
/** the request certainly did not reach the upstream */
const NOT_SENT = new Set(['ECONNREFUSED']);

interface Attempt {
  path: string;
  method: Method;
  headers: Record<string, string>;
  body: string | undefined;
  timeoutMs: number;
  opts: CallOptions;
}

/**
 * How a failed call ended, recorded where the failure is known (the attempt, the breaker, the
 * budget) and read once by the observer; the errors thrown are unchanged.
 */
const failureOutcome = new WeakMap<object, { outcome: CallOutcome; status: number | undefined }>();
function marked<E extends object>(err: E, outcome: CallOutcome, status?: number): E {
  failureOutcome.set(err, { outcome, status });
  return err;
}

/** The reason a call's own timer aborts it with (named like AbortSignal.timeout's). */
class TimeoutError extends Error {
  override name = 'TimeoutError';
}

/** Whether a transport error is a timeout: undici's connect, headers or body timeout, or a call's own timer. */
export function isTimeout(err: unknown): boolean {
  return (
    (typeof err === 'object' && err !== null && (err as { name?: unknown }).name === 'TimeoutError') ||
    err instanceof undiciErrors.HeadersTimeoutError ||
    err instanceof undiciErrors.BodyTimeoutError ||
    err instanceof undiciErrors.ConnectTimeoutError
  );
}

/** A transport-level failure, kept apart so the retry policy can see what happened. */
class TransportFailure extends Error {
  constructor(
    readonly gatewayError: GatewayError,
    readonly delivery: 'not-sent' | 'maybe-sent' | 'timed-out' | 'other',
  ) {
    super(gatewayError.message);
  }
}

export class Upstream {
  readonly name: string;
  readonly origin: string;
  readonly basePath: string;
  readonly pool: Pool;
  private readonly timeoutMs: number;
  private readonly breaker: Breaker;
  private readonly resetMs: number;
  private readonly maxRetries: number;
  private readonly budget: RetryBudget;
  private readonly observer: CallObserver | undefined;

  constructor(opts: UpstreamOptions) {
    const u = new URL(opts.baseUrl);
    this.name = opts.name;
    this.origin = u.origin;
    this.basePath = u.pathname.replace(/\/+$/, '');
    this.timeoutMs = opts.timeoutMs;
    this.pool = new Pool(this.origin, {
      connections: opts.connections,
      pipelining: 1,
      keepAliveTimeout: 30_000,
      connectTimeout: Math.min(opts.timeoutMs, 5_000),
    });
    const b = opts.breaker ?? DEFAULT_BREAKER;
    this.resetMs = b.resetMs;
    this.breaker = new Breaker(b);
    this.maxRetries = opts.retry?.max ?? 1;
    this.budget = new RetryBudget(opts.retry?.budgetPercent ?? 10);
    this.observer = opts.observer;
  }

  get breakerState(): BreakerState {
    return this.breaker.state;
  }

  onBreakerChange(listener: (state: BreakerState) => void): void {
    this.breaker.onChange(listener);
  }

  /**
   * A JSON call. Resolves with any status below 500; a 5xx, a timeout, an unreachable upstream
   * or an open breaker reject with a GatewayError (502/503/504).
   */
  async call(path: string, opts: CallOptions = {}): Promise<UpstreamResponse> {
    const method = opts.method ?? 'GET';
    const headers: Record<string, string> = { accept: 'application/json', ...opts.headers };
    let body: string | undefined;
    if (opts.rawBody) {
      body = opts.rawBody.text;
      headers['content-type'] = opts.rawBody.contentType;
    } else if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['content-type'] = 'application/json';
    }
    if (!this.observer) return this.send(path, method, headers, body, opts, undefined);
    const observed = this.observer.start(method, opts, headers);
    try {
      const r = await this.send(path, method, headers, body, opts, observed);
      observed.end(r.status >= 400 ? '4xx' : 'ok', r.status);
      return r;
    } catch (err) {
      const known = typeof err === 'object' && err !== null ? failureOutcome.get(err) : undefined;
      observed.end(known?.outcome ?? 'unavailable', known?.status);
      throw err;
    }
  }

  /** The attempts of one call: budget, breaker, retries. */
  private async send(path: string, method: Method, headers: Record<string, string>, body: string | undefined, opts: CallOptions, observed: ObservedCall | undefined): Promise<UpstreamResponse> {
    const idempotent = IDEMPOTENT.has(method);
    const keyed = headers['idempotency-key'] !== undefined;
    // whether an attempt so far may have reached the upstream (and so may have taken effect)
    let mayHaveArrived = false;
    for (let attemptNo = 0; ; attemptNo++) {
      const remaining = opts.deadline === undefined ? this.timeoutMs : opts.deadline - Date.now();
      if (remaining <= 0) {
        throw marked(
          new GatewayError(504, 'GW_ERR_UPSTREAM_TIMEOUT', `${this.describe(opts)}: the request's time budget is spent`, { ...ctx(opts), notApplied: !mayHaveArrived }),
          'timeout',
        );
      }
      if (attemptNo === 0) this.budget.recordCall(); // retries spend the budget, they do not earn it
      const timeoutMs = Math.min(this.timeoutMs, remaining);
      const ticket = this.breaker.admit(timeoutMs);
      if (!ticket) {
        throw marked(
          new GatewayError(503, 'GW_ERR_UPSTREAM_UNAVAILABLE', `${this.describe(opts)}: circuit breaker open`, {
            ...ctx(opts),
            retryAfterSeconds: Math.max(1, Math.ceil(this.resetMs / 1000)),
            notApplied: !mayHaveArrived,
          }),
          'breaker_open',
        );
      }
      try {
        const r = await this.attempt({ path: this.basePath + path, method, headers, body, timeoutMs, opts });
        this.breaker.succeeded(ticket);
        return r;
      } catch (err) {
        // Only upstream trouble counts; a 4xx is an answer, not a failure.
        if (err instanceof TransportFailure || (err instanceof GatewayError && err.status >= 500)) this.breaker.failed(ticket);
        else this.breaker.succeeded(ticket);
        if (err instanceof TransportFailure && err.delivery !== 'not-sent') mayHaveArrived = true;
        // An idempotent call may be retried after any broken connection; a keyed write only when
        // it certainly never arrived (the upstream does not know our keys, so it cannot dedupe).
        const retryable =
          err instanceof TransportFailure &&
          ((idempotent && (err.delivery === 'maybe-sent' || err.delivery === 'not-sent')) || (keyed && err.delivery === 'not-sent'));
        if (retryable && attemptNo < this.maxRetries && this.budget.tryRetry()) {
          // Full jitter (AWS architecture blog): spreads retries of many clients apart.
          await new Promise((r) => setTimeout(r, Math.random() * 25 * 2 ** attemptNo));
          observed?.retried();
          continue;
        }
        const final = err instanceof TransportFailure ? err.gatewayError : err;
        if (final instanceof GatewayError && mayHaveArrived) final.notApplied = false;
        throw final;
      }
    }
  }

  /** Alias kept for readability at call sites that only read. */
  getJson(path: string, opts: CallOptions = {}): Promise<UpstreamResponse> {
    return this.call(path, opts);
  }

  private async attempt(a: Attempt): Promise<UpstreamResponse> {
    let res: Exchanged;
    try {
      res = await exchange(this.pool, a);
    } catch (err) {
      throw this.transportFailure(err, a);
    }
    if (res.status >= 500) throw marked(this.statusError(res.status, a.opts), '5xx', res.status);
    if (res.text.length === 0) return { status: res.status, headers: res.headers, body: undefined };
    try {
      return { status: res.status, headers: res.headers, body: JSON.parse(res.text) };
    } catch {
      throw marked(
        new GatewayError(502, 'GW_ERR_UPSTREAM_INVALID_PAYLOAD', `${this.describe(a.opts)} returned a body that is not JSON`, {
          ...ctx(a.opts),
          errors: [{ path: '', message: 'body is not valid JSON' }],
        }),
        'invalid_payload',
        res.status,
      );
    }
  }

  /** The upstream answered with a 5xx: it refused the request (it was not applied). */
  private statusError(status: number, opts: CallOptions): GatewayError {
    const extra = { ...ctx(opts), notApplied: true };
    if (status === 503) return new GatewayError(503, 'GW_ERR_UPSTREAM_UNAVAILABLE', `${this.describe(opts)} is unavailable`, { ...extra, retryAfterSeconds: 1 });
    if (status === 504) return new GatewayError(504, 'GW_ERR_UPSTREAM_TIMEOUT', `${this.describe(opts)} timed out`, extra);
    return new GatewayError(502, 'GW_ERR_UPSTREAM_FAILED', `${this.describe(opts)} failed with status ${status}`, extra);
  }

  private transportFailure(err: unknown, a: Attempt): TransportFailure {
    const e = err as { name?: string; code?: string; cause?: { code?: string } };
    if (isTimeout(err)) {
      return new TransportFailure(
        marked(new GatewayError(504, 'GW_ERR_UPSTREAM_TIMEOUT', `${this.describe(a.opts)} did not answer within ${a.timeoutMs} ms`, { ...ctx(a.opts), cause: err }), 'timeout'),
        'timed-out',
      );
    }
    const code = e.code ?? e.cause?.code ?? '';
    const notSent = NOT_SENT.has(code);
    return new TransportFailure(
      marked(new GatewayError(503, 'GW_ERR_UPSTREAM_UNAVAILABLE', `${this.describe(a.opts)} is unreachable`, { ...ctx(a.opts), retryAfterSeconds: 1, notApplied: notSent, cause: err }), 'unavailable'),
      notSent ? 'not-sent' : MAYBE_SENT.has(code) ? 'maybe-sent' : 'other',
    );
  }

  private describe(opts: CallOptions): string {
    return opts.context ? `${opts.context} upstream (${opts.backend ?? this.name})` : `upstream ${this.name}`;
  }

  async close(): Promise<void> {
    this.breaker.shutdown();
    await this.pool.close();
  }
}

interface Exchanged {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

/**
 * One request/response over the pool, the body collected as text. Straight on undici's dispatch
 * API: `pool.request()` builds a Readable body and an AbortSignal with an EventTarget listener
 * per call, ~40 % of a call's own CPU on a composed product. One timer bounds the whole exchange
 * (a body that trickles in slowly too) and is cleared on the way out.
 */
function exchange(pool: Pool, a: Attempt): Promise<Exchanged> {
  return new Promise<Exchanged>((resolve, reject) => {
    const handler = new CollectHandler(resolve, reject);
    handler.timer = setTimeout(() => handler.abort(new TimeoutError(`no complete answer within ${a.timeoutMs} ms`)), a.timeoutMs);
    pool.dispatch(
      {
        method: a.method,
        path: a.path,
        headers: a.headers,
        body: a.body ?? null,
        headersTimeout: a.timeoutMs,
        bodyTimeout: a.timeoutMs,
      },
      handler,
    );
  });
}

class CollectHandler implements Dispatcher.DispatchHandler {
  timer: NodeJS.Timeout | undefined;
  private controller: Dispatcher.DispatchController | undefined;
  private abortedWith: Error | undefined;
  private settled = false;
  private status = 0;
  private headers: IncomingHttpHeaders = {};
  private chunks: Buffer[] = [];

  constructor(
    private readonly resolve: (r: Exchanged) => void,
    private readonly reject: (err: unknown) => void,
  ) {}

  abort(reason: Error): void {
    this.abortedWith = reason;
    this.fail(reason);
    this.controller?.abort(reason); // not started yet: aborted as soon as it starts
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.abortedWith) controller.abort(this.abortedWith);
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    if (statusCode < 200) return; // 1xx: the final answer follows
    this.status = statusCode;
    this.headers = headers;
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.chunks.push(chunk);
  }

  onResponseEnd(): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    const c = this.chunks;
    const text = c.length === 0 ? '' : c.length === 1 ? c[0]!.toString('utf8') : Buffer.concat(c).toString('utf8');
    this.resolve({ status: this.status, headers: this.headers, text });
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    this.fail(err);
  }

  private fail(err: Error): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    this.reject(err);
  }
}

function ctx(opts: CallOptions): { context?: string; backend?: string } {
  const out: { context?: string; backend?: string } = {};
  if (opts.context) out.context = opts.context;
  if (opts.backend) out.backend = opts.backend;
  return out;
}
