/**
 * Metrics and traces of one gateway, and the two places they attach to traffic: the inbound
 * request (its server span starts with fastify's per-request logger, see `childLoggerFactory`)
 * and every outbound call (a `CallObserver` per upstream: `Upstream.call()` and the passthrough
 * proxy).
 */
import type { IncomingMessage } from 'node:http';
import type { FastifyBaseLogger, FastifyRequest } from 'fastify';
import type { Bindings, ChildLoggerOptions } from 'pino';
import { SpanStatusCode, type Attributes } from '@opentelemetry/api';
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_REQUEST_RESEND_COUNT,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
} from '@opentelemetry/semantic-conventions';
import type { CallObserver, CallOptions, CallOutcome, Method, ObservedCall } from '../upstream/http.js';
import { flagOf, isContextName } from '../contexts/names.js';
import { GatewayMetrics, OUTCOMES } from './metrics.js';
import { Tracing, normalizeTracestate, parseTraceparent, type SpanHandle } from './tracing.js';
import type { HistogramSeries, Scalar } from './families.js';
import { RequestLogger } from './request-logger.js';

/** Span attribute names of the strangler's own facts (OpenTelemetry semconv for the HTTP ones). */
export const ATTR = Object.freeze({
  context: 'strangler.context',
  backend: 'strangler.backend',
  flag: 'strangler.flag',
  /** the `x-strangler-route` value of the response, e.g. `pricing=new, inventory=legacy` */
  route: 'strangler.route',
  upstream: 'strangler.upstream',
  outcome: 'strangler.outcome',
  requestId: 'strangler.request_id',
});

const SERVER_SPAN = Symbol('strangler.serverSpan');
type TracedMessage = IncomingMessage & { [SERVER_SPAN]?: SpanHandle };

export interface TelemetryOptions {
  serviceName: string;
  /** OTLP/HTTP traces URL; undefined: spans are not exported (ids are still made and propagated) */
  tracesUrl?: string | undefined;
  /** where export failures are reported */
  log?: (msg: string, err: Error | undefined) => void;
}

export class Telemetry {
  readonly metrics = new GatewayMetrics();
  readonly tracing: Tracing;
  private readonly observers = new Map<string, UpstreamTelemetry>();

  constructor(opts: TelemetryOptions) {
    this.tracing = new Tracing({
      serviceName: opts.serviceName,
      tracesUrl: opts.tracesUrl,
      onExportError: (err) => opts.log?.('span export to the OTLP endpoint failed; spans are being dropped', err),
    });
  }

  /** The observer of one upstream's calls (one per upstream, shared by its client and the proxy). */
  upstream(name: string, origin: string): UpstreamTelemetry {
    let o = this.observers.get(name);
    if (!o) {
      o = new UpstreamTelemetry(name, new URL(origin), this.metrics, this.tracing);
      this.observers.set(name, o);
    }
    return o;
  }

  /**
   * fastify's `childLoggerFactory`: the one per-request callback that sees the raw request before
   * anything is logged for it. The server span starts here so that its trace id is a binding of
   * the request's logger: on every line, "incoming request" included, with no second child logger.
   *
   * The request's `traceparent` header is then set to the server span: W3C's parent-id is "the
   * span of the caller", and every handler that forwards the request's `traceparent` (OCC cart
   * writes, the passthrough proxy) thereby forwards the gateway's span, not the client's. The
   * `tracestate` header is replaced by what may travel on (normalizeTracestate) and dropped when
   * nothing may, or when there is no valid `traceparent` (W3C §3.3: it must not travel alone).
   */
  readonly childLoggerFactory = (logger: FastifyBaseLogger, bindings: Bindings, opts: ChildLoggerOptions, rawReq: IncomingMessage): FastifyBaseLogger => {
    const req = rawReq as TracedMessage;
    const parent = parseTraceparent(req.headers.traceparent);
    const sent = req.headers.tracestate;
    const tracestate = parent && sent !== undefined ? normalizeTracestate(sent) : undefined;
    if (tracestate !== undefined) req.headers.tracestate = tracestate;
    else if (sent !== undefined) delete req.headers.tracestate;
    const span = this.tracing.startServer(
      req.method ?? 'HTTP',
      parent,
      tracestate,
      this.tracing.exporting ? { [ATTR_HTTP_REQUEST_METHOD]: req.method ?? 'GET' } : undefined,
    );
    req[SERVER_SPAN] = span;
    req.headers.traceparent = span.traceparent;
    bindings.trace_id = span.traceId;
    bindings.span_id = span.spanId;
    // the pino child is made only if something besides the access line is logged (request-logger.ts)
    return new RequestLogger(logger, bindings, opts);
  };

  async close(): Promise<void> {
    await this.tracing.shutdown();
  }
}

/** The server span of a request (every request has one: see `childLoggerFactory`). */
export function serverSpanOf(request: FastifyRequest): SpanHandle | undefined {
  return (request.raw as TracedMessage)[SERVER_SPAN];
}

/** Per-context series of one upstream: duration and errors indexed by outcome. */
interface ContextSeries {
  readonly name: string;
  readonly duration: (HistogramSeries | undefined)[];
  readonly errors: (Scalar | undefined)[];
  retries: Scalar | undefined;
}

const OUTCOME_INDEX: Readonly<Record<CallOutcome, number>> = Object.fromEntries(OUTCOMES.map((o, i) => [o, i])) as Record<CallOutcome, number>;

export class UpstreamTelemetry implements CallObserver {
  private readonly byContext = new Map<string, ContextSeries>();
  private readonly spanNames = new Map<string, string>();

  constructor(
    readonly name: string,
    private readonly origin: URL,
    private readonly metrics: GatewayMetrics,
    private readonly tracing: Tracing,
  ) {}

  start(method: Method | string, opts: Pick<CallOptions, 'context' | 'backend'>, headers: Record<string, string | string[] | undefined>): ObservedCall {
    const series = this.series(opts.context ?? 'none');
    const span = this.tracing.startClient(this.spanName(method), headers.traceparent, this.tracing.exporting ? this.attributes(method, opts) : undefined);
    headers.traceparent = span.traceparent;
    return new Call(series, this.metrics, this.name, span, performance.now());
  }

  private series(context: string): ContextSeries {
    let s = this.byContext.get(context);
    if (!s) {
      s = {
        name: context,
        duration: OUTCOMES.map(() => undefined),
        errors: OUTCOMES.map(() => undefined),
        retries: undefined,
      };
      this.byContext.set(context, s);
    }
    return s;
  }

  private spanName(method: string): string {
    let n = this.spanNames.get(method);
    if (!n) {
      n = `${method} ${this.name}`;
      this.spanNames.set(method, n);
    }
    return n;
  }

  private attributes(method: string, opts: Pick<CallOptions, 'context' | 'backend'>): Attributes {
    const a: Attributes = {
      [ATTR_HTTP_REQUEST_METHOD]: method,
      [ATTR_SERVER_ADDRESS]: this.origin.hostname,
      [ATTR_SERVER_PORT]: Number(this.origin.port || (this.origin.protocol === 'https:' ? 443 : 80)),
      [ATTR.upstream]: this.name,
      [ATTR.backend]: opts.backend ?? (this.name === 'legacy' ? 'legacy' : 'new'),
    };
    if (opts.context) {
      a[ATTR.context] = opts.context;
      if (isContextName(opts.context)) a[ATTR.flag] = flagOf(opts.context);
    }
    return a;
  }
}

class Call implements ObservedCall {
  private resends = 0;

  constructor(
    private readonly series: ContextSeries,
    private readonly metrics: GatewayMetrics,
    private readonly upstream: string,
    private readonly span: SpanHandle,
    private readonly t0: number,
  ) {}

  retried(): void {
    this.resends++;
    this.series.retries ??= this.metrics.upstreamRetries.child(this.upstream, this.series.name);
    this.series.retries.inc();
  }

  end(outcome: CallOutcome, status: number | undefined): void {
    const i = OUTCOME_INDEX[outcome];
    const seconds = (performance.now() - this.t0) / 1000;
    (this.series.duration[i] ??= this.metrics.upstreamDuration.child(this.upstream, this.series.name, outcome)).observe(seconds);
    // a client that left is not the upstream's failure
    const failed = outcome !== 'ok' && outcome !== '4xx' && outcome !== 'cancelled';
    if (failed) {
      this.series.errors[i] ??= this.metrics.upstreamErrors.child(this.upstream, this.series.name, outcome);
      this.series.errors[i]!.inc();
    }
    const span = this.span.span;
    if (!span) return;
    span.setAttribute(ATTR.outcome, outcome);
    if (status !== undefined) span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
    if (this.resends > 0) span.setAttribute(ATTR_HTTP_REQUEST_RESEND_COUNT, this.resends);
    if (failed) {
      span.setAttribute(ATTR_ERROR_TYPE, outcome);
      span.setStatus({ code: SpanStatusCode.ERROR });
    }
    span.end();
  }
}
