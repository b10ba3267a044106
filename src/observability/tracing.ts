/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/) for every request, and OpenTelemetry
 * spans exported over OTLP when an endpoint is configured.
 *
 * Contexts are passed explicitly (the request's span rides on the request and, as a
 * `traceparent` header value, on every outbound call) rather than through a global context
 * manager: on Node 20 the AsyncLocalStorage behind one puts a hook on every promise of the hot
 * path, and the gateway already carries per-request state explicitly (its Scope).
 *
 * Without an exporter no OpenTelemetry SDK runs at all: a span is a pair of ids, enough for
 * `traceparent` propagation and log correlation, at the cost of two random numbers. The
 * `sampled` flag a client sent is passed on unchanged (W3C: a participant that does not record
 * still propagates the caller's decision); a trace the gateway starts itself is not sampled,
 * since nothing records it. Level 2's `random` flag (bit 1: the trace id is random) travels with
 * the caller's trace, and is set on a trace the gateway starts (its ids are random); flags no
 * version defines are cleared. A `tracestate` is forwarded only when valid (normalizeTracestate).
 */
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  createTraceState,
  trace,
  type Attributes,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import { BasicTracerProvider, BatchSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';

export { SpanKind, SpanStatusCode };

/** One started span: its ids, its `traceparent` for the next hop, and the SDK span when recorded. */
export interface SpanHandle {
  readonly traceId: string;
  readonly spanId: string;
  /** this span as a W3C `traceparent` value: what the next hop sees as its parent */
  readonly traceparent: string;
  /** the recording OpenTelemetry span (export on); undefined when nothing records it */
  readonly span: Span | undefined;
}

export interface ParsedTraceparent {
  traceId: string;
  spanId: string;
  sampled: boolean;
  /** W3C Trace Context level 2 `random` flag (bit 1): the trace id's right 7 bytes are random */
  random: boolean;
}

const FLAG_SAMPLED = 0x01;
const FLAG_RANDOM = 0x02;

const ZERO_TRACE = '00000000000000000000000000000000';
const ZERO_SPAN = '0000000000000000';

/** Lowercase hex only (W3C §3.2.2: uppercase is invalid). */
function isHex(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

/**
 * Parses a `traceparent` header (W3C §3.2): `version-traceid-parentid-flags`, lowercase hex,
 * version `ff` forbidden, version 00 exactly 55 characters, later versions possibly longer
 * (`-` then more), all-zero ids invalid. Anything else is undefined: the request then starts a
 * new trace (and its `tracestate` must be ignored, §3.3). Hand-written rather than a regex: it
 * runs for every request and every upstream call.
 */
export function parseTraceparent(value: string | string[] | undefined): ParsedTraceparent | undefined {
  if (typeof value !== 'string' || value.length < 55) return undefined;
  if (value.charCodeAt(2) !== 45 || value.charCodeAt(35) !== 45 || value.charCodeAt(52) !== 45) return undefined; // '-'
  if (!isHex(value, 0, 2) || !isHex(value, 3, 35) || !isHex(value, 36, 52) || !isHex(value, 53, 55)) return undefined;
  const version = value.slice(0, 2);
  if (version === 'ff') return undefined;
  if (value.length > 55 && (version === '00' || value.charCodeAt(55) !== 45)) return undefined;
  const traceId = value.slice(3, 35);
  const spanId = value.slice(36, 52);
  if (traceId === ZERO_TRACE || spanId === ZERO_SPAN) return undefined;
  const flags = parseInt(value.slice(53, 55), 16);
  return { traceId, spanId, sampled: (flags & FLAG_SAMPLED) !== 0, random: (flags & FLAG_RANDOM) !== 0 };
}

const FLAGS_HEX = ['00', '01', '02', '03'] as const;

/** A version-00 `traceparent`; only the flags level 2 defines (sampled, random) are set. */
export function formatTraceparent(traceId: string, spanId: string, sampled: boolean, random = false): string {
  return `00-${traceId}-${spanId}-${FLAGS_HEX[(sampled ? FLAG_SAMPLED : 0) | (random ? FLAG_RANDOM : 0)]}`;
}

/** W3C §3.3.1: at most 32 list members. */
export const TRACESTATE_MAX_MEMBERS = 32;
// §3.3.1.3.1 key: a simple key (lcalpha, then up to 255 of lcalpha / digit / _ - * /) or a
// multi-tenant key (tenant id of 1-241 from lcalpha / digit first, "@", system id of 1-14 with
// lcalpha first). §3.3.1.3.2 value: 1-256 printable ASCII characters other than "," and "=",
// not ending in a space.
const TRACESTATE_KEY = /^(?:[a-z][a-z0-9_\-*/]{0,255}|[a-z0-9][a-z0-9_\-*/]{0,240}@[a-z][a-z0-9_\-*/]{0,13})$/;
const TRACESTATE_VALUE = /^[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;

/**
 * The `tracestate` to pass on (W3C Trace Context level 2, §3.3), or undefined when none should
 * be: an absent or empty header, more than 32 members, or any member that breaks the key/value
 * grammar (§3.3.1.1 lets a participant that cannot parse the header discard all of it, rather
 * than guess which vendor's entry is broken). Optional whitespace and empty members are dropped;
 * repeated headers arrive joined by commas, which is how the list combines them.
 */
export function normalizeTracestate(value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  const raw = typeof value === 'string' ? value : value.join(',');
  const members: string[] = [];
  for (const part of raw.split(',')) {
    const member = part.replace(/^[ \t]+|[ \t]+$/g, '');
    if (member === '') continue;
    const eq = member.indexOf('=');
    if (eq === -1 || !TRACESTATE_KEY.test(member.slice(0, eq)) || !TRACESTATE_VALUE.test(member.slice(eq + 1))) return undefined;
    if (members.push(member) > TRACESTATE_MAX_MEMBERS) return undefined;
  }
  return members.length === 0 ? undefined : members.join(',');
}

// Ids as OpenTelemetry's RandomIdGenerator makes them (Math.random into a reused buffer): trace
// ids need uniqueness, not secrecy, and this costs no syscall.
const idBuf = Buffer.allocUnsafe(16);
function randomId(bytes: 8 | 16): string {
  let nonZero = 0;
  for (let i = 0; i < bytes; i += 4) {
    const word = (Math.random() * 0x1_0000_0000) >>> 0;
    idBuf.writeUInt32BE(word, i);
    nonZero |= word;
  }
  if (nonZero === 0) idBuf[bytes - 1] = 1; // an all-zero id is invalid (W3C §3.2.2.3)
  return idBuf.toString('hex', 0, bytes);
}

export interface TracingOptions {
  serviceName: string;
  /** full OTLP/HTTP traces URL (…/v1/traces); undefined: nothing is exported */
  tracesUrl?: string | undefined;
  /** an exporter to use instead of OTLP (tests of the export path itself may pass one) */
  exporter?: SpanExporter;
  /** told when an export fails (at most once a minute), so a dead collector is not silent */
  onExportError?: (err: Error | undefined) => void;
}

export class Tracing {
  /** whether spans are recorded and exported (an OTLP endpoint is configured) */
  readonly exporting: boolean;
  private readonly provider: BasicTracerProvider | undefined;
  private readonly tracer: Tracer | undefined;

  constructor(opts: TracingOptions) {
    const exporter = opts.exporter ?? (opts.tracesUrl ? new OTLPTraceExporter({ url: opts.tracesUrl }) : undefined);
    this.exporting = exporter !== undefined;
    if (!exporter) return;
    // No sampler given: the provider reads OTEL_TRACES_SAMPLER(_ARG), default parentbased_always_on,
    // so a client's `sampled=0` is respected and operators can sample with the standard variables.
    // Not registered as the global provider: several gateways (tests) can live in one process.
    this.provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: opts.serviceName }),
      spanProcessors: [new BatchSpanProcessor(opts.onExportError ? new ReportingExporter(exporter, opts.onExportError) : exporter)],
    });
    this.tracer = this.provider.getTracer('strangler-gateway');
  }

  /**
   * The span of an inbound request, continuing the caller's trace when it sent a valid
   * `traceparent` (`parent`, see parseTraceparent); its tracestate (normalizeTracestate's
   * output) goes with it.
   */
  startServer(name: string, parent: ParsedTraceparent | undefined, tracestate: string | undefined, attributes?: Attributes): SpanHandle {
    const handle = this.start(name, SpanKind.SERVER, parent, parent ? tracestate : undefined, attributes);
    this.lastServer = handle;
    return handle;
  }

  /**
   * The span of an outbound call, a child of `parentTraceparent` (the request's span, as the
   * header the call would carry). Without a parent (a health probe, a background refresh) the
   * call starts a trace of its own.
   */
  startClient(name: string, parentTraceparent: string | string[] | undefined, attributes?: Attributes): SpanHandle {
    // The passthrough relays in the tick its server span started: that span's header is the
    // parent, already known, not parsed again (1.5 us of a passthrough's CPU).
    const last = this.lastServer;
    const parent = last !== undefined && parentTraceparent === last.traceparent ? last.parsed : parseTraceparent(parentTraceparent);
    return this.start(name, SpanKind.CLIENT, parent, undefined, attributes);
  }

  /** the server span started last, with its `traceparent` as parseTraceparent would read it */
  private lastServer: (SpanHandle & { parsed: ParsedTraceparent }) | undefined;

  private start(name: string, kind: SpanKind, parent: ParsedTraceparent | undefined, tracestate: string | undefined, attributes: Attributes | undefined): SpanHandle & { parsed: ParsedTraceparent } {
    // random: the parent's, or set for a trace this span starts (its ids are random)
    const random = parent ? parent.random : true;
    if (!this.tracer) {
      const traceId = parent ? parent.traceId : randomId(16);
      const spanId = randomId(8);
      const sampled = parent ? parent.sampled : false;
      return { traceId, spanId, traceparent: formatTraceparent(traceId, spanId, sampled, random), span: undefined, parsed: { traceId, spanId, sampled, random } };
    }
    const ctx = parent
      ? trace.setSpanContext(ROOT_CONTEXT, {
          traceId: parent.traceId,
          spanId: parent.spanId,
          traceFlags: parent.sampled ? TraceFlags.SAMPLED : TraceFlags.NONE,
          isRemote: true,
          ...(tracestate ? { traceState: createTraceState(tracestate) } : {}),
        })
      : ROOT_CONTEXT;
    const span = this.tracer.startSpan(name, { kind, ...(attributes ? { attributes } : {}) }, ctx);
    const sc = span.spanContext();
    const recording = span.isRecording();
    // the SDK keeps only the sampled bit
    const sampled = (sc.traceFlags & TraceFlags.SAMPLED) === TraceFlags.SAMPLED;
    return {
      traceId: sc.traceId,
      spanId: sc.spanId,
      traceparent: formatTraceparent(sc.traceId, sc.spanId, sampled, random),
      span: recording ? span : undefined,
      parsed: { traceId: sc.traceId, spanId: sc.spanId, sampled, random },
    };
  }

  /** Exports what is buffered and stops (gateway close). */
  async shutdown(): Promise<void> {
    await this.provider?.shutdown();
  }

  async flush(): Promise<void> {
    await this.provider?.forceFlush();
  }
}

/** Passes exports through and reports failures, at most once a minute. */
class ReportingExporter implements SpanExporter {
  private lastReport = 0;

  constructor(
    private readonly inner: SpanExporter,
    private readonly report: (err: Error | undefined) => void,
  ) {}

  export(spans: ReadableSpan[], done: Parameters<SpanExporter['export']>[1]): void {
    this.inner.export(spans, (result) => {
      if (result.code !== 0 && Date.now() - this.lastReport > 60_000) {
        this.lastReport = Date.now();
        this.report(result.error);
      }
      done(result);
    });
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}
