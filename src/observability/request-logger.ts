/**
 * A request's logger (`request.log`), made only when something logs through it.
 *
 * A pino child costs more than most of what a passthrough request does in the gateway's own
 * code: its log methods are rebuilt for the child (six closures), its bindings serialized, a
 * `level-change` event emitted; about 1 KB allocated per request. Most requests log exactly one
 * line, the access line, and that one is written through the parent with the bindings as its
 * first fields (`accessLine`): the same bytes the child would write, without making the child.
 * Anything else logged for the request (a warning, an error) makes the child then, once.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Bindings, ChildLoggerOptions, LevelWithSilentOrString, LogFn } from 'pino';

/** The fields of the access line (src/request-scope.ts), after the request's bindings. */
export interface AccessFields {
  method: string;
  url: string;
  statusCode: number;
  responseTime: number;
  /** the backend of every context the request touched; absent when none was */
  route: Record<string, string> | undefined;
}

export class RequestLogger implements FastifyBaseLogger {
  private made: FastifyBaseLogger | undefined;

  constructor(
    private readonly parent: FastifyBaseLogger,
    /** reqId, trace_id, span_id (src/observability/telemetry.ts): the fields every line of this request starts with */
    private readonly bindings: Bindings,
    private readonly opts: ChildLoggerOptions,
  ) {}

  /** the pino child, made on first use */
  private get log(): FastifyBaseLogger {
    return (this.made ??= this.parent.child(this.bindings, this.opts));
  }

  /**
   * The access line: through the child when it exists, else through the parent with the
   * bindings first (pino writes a child's bindings right before the line's own fields).
   */
  accessLine(fields: AccessFields, msg: string): void {
    // a route's own level or serializers (fastify's logLevel / logSerializers) live on the child
    if (this.made || this.opts.level !== undefined || this.opts.serializers !== undefined) return this.log.info(fields, msg);
    // One literal of a fixed shape: a spread of the bindings made a dictionary-mode object that
    // cost more to build and to serialize than the child it replaced.
    const b = this.bindings;
    this.parent.info(
      { reqId: b.reqId, trace_id: b.trace_id, span_id: b.span_id, method: fields.method, url: fields.url, statusCode: fields.statusCode, responseTime: fields.responseTime, route: fields.route },
      msg,
    );
  }

  get level(): LevelWithSilentOrString {
    return this.made ? this.made.level : (this.opts.level ?? this.parent.level);
  }

  set level(level: LevelWithSilentOrString) {
    this.log.level = level;
  }

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.log.child(bindings, options);
  }

  fatal(...args: Parameters<LogFn>): void {
    this.log.fatal(...(args as [string]));
  }
  error(...args: Parameters<LogFn>): void {
    this.log.error(...(args as [string]));
  }
  warn(...args: Parameters<LogFn>): void {
    this.log.warn(...(args as [string]));
  }
  info(...args: Parameters<LogFn>): void {
    this.log.info(...(args as [string]));
  }
  debug(...args: Parameters<LogFn>): void {
    this.log.debug(...(args as [string]));
  }
  trace(...args: Parameters<LogFn>): void {
    this.log.trace(...(args as [string]));
  }
  silent(...args: Parameters<LogFn>): void {
    this.log.silent(...(args as [string]));
  }
}

/** The access line of a request: without making its child logger when `log` is a RequestLogger. */
export function logAccess(log: FastifyBaseLogger, fields: AccessFields, msg: string): void {
  if (log instanceof RequestLogger) log.accessLine(fields, msg);
  else log.info(fields, msg);
}
