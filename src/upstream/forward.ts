/**
 * The passthrough's forwarding engine: one inbound request relayed to one upstream over a
 * keep-alive undici Pool, streamed both ways without a Readable in between. The upstream's
 * status, headers (minus hop-by-hop ones) and body bytes reach the client as they arrive; the
 * request body (when there is one) is streamed to the upstream as the client sends it.
 *
 * It replaces `reply.from()` (@fastify/reply-from) under @fastify/http-proxy's routes: on the
 * gateway's hot path reply-from cost ~45 % more CPU per request than this (a JSON cache key and an
 * LRU lookup per request, a header copy per hop, an undici body stream piped through fastify's
 * send), which alone kept the gateway's passthrough below a bare @fastify/http-proxy once the
 * gateway's own logging, metrics and tracing were added on top.
 *
 * Until the upstream's headers arrive, a failure is the caller's to answer (`onFailure`: a 503 or
 * 504 problem, through the gateway's error handler); from the first byte written the reply is
 * the upstream's, and a failure mid-body ends the client connection abruptly, so the client
 * sees a truncated response, never a silently shortened one.
 */
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';

/**
 * RFC 9110 §7.6.1 connection-specific fields, plus proxy-connection (non-standard, still sent).
 * Never forwarded in either direction; the fields a `Connection` header names are dropped too.
 */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

/** The headers to send upstream: the client's end-to-end headers, without `host`. */
export function forwardedRequestHeaders(incoming: IncomingHttpHeaders): Record<string, string | string[]> {
  return endToEnd(incoming, 'host');
}

/** `headers` minus hop-by-hop fields, the fields their `Connection` header names, and `skip`. */
function endToEnd(headers: IncomingHttpHeaders, skip?: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const name in headers) {
    const v = headers[name];
    if (v === undefined || name === skip || HOP_BY_HOP.has(name)) continue;
    out[name] = v;
  }
  const conn = headers.connection;
  if (typeof conn === 'string' && conn !== 'keep-alive' && conn !== 'close') {
    for (const token of conn.split(',')) {
      const name = token.trim().toLowerCase();
      if (name) delete out[name];
    }
  }
  return out;
}

export interface ForwardTarget {
  /** the client's response */
  res: ServerResponse;
  /** headers the gateway adds to every relayed response (x-request-id, connection: close while draining) */
  extraHeaders(): Record<string, string>;
  /** a `location` prefix to rewrite (the upstream's mount → the gateway's), when they differ */
  rewriteLocation?: { from: string; to: string } | undefined;
  /** the upstream's status line has been received: the response is about to be the upstream's */
  onStart(): void;
  /** the exchange is over: the upstream answered in full (`status`), or it failed (`err`; `status` when it failed mid-body) */
  onEnd(status: number | undefined, err: Error | undefined): void;
  /** the upstream failed before anything was written to the client: answer it some other way */
  onFailure(err: Error): void;
}

export interface ForwardRequest {
  method: string;
  /** path and query, as sent upstream */
  path: string;
  headers: Record<string, string | string[]>;
  body: AsyncIterable<Buffer> | null;
  headersTimeout: number;
  bodyTimeout: number;
}

/** Relays `req` through `dispatcher` to `target`. Returns at once; the target's callbacks say how it went. */
export function forward(dispatcher: Dispatcher, req: ForwardRequest, target: ForwardTarget): void {
  dispatcher.dispatch(
    {
      method: req.method as Dispatcher.HttpMethod,
      path: req.path,
      headers: req.headers,
      body: req.body as Dispatcher.DispatchOptions['body'], // undici streams any async iterable; its types say Readable
      headersTimeout: req.headersTimeout,
      bodyTimeout: req.bodyTimeout,
    },
    new RelayHandler(target),
  );
}

class RelayHandler implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | undefined;
  private status: number | undefined;
  private started = false;
  private done = false;
  private onDrain: (() => void) | undefined;

  constructor(private readonly target: ForwardTarget) {}

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    const res = this.target.res;
    // The client went away before the answer was complete: stop reading from the upstream (undici
    // then discards that connection rather than reusing it half-read).
    res.once('close', () => {
      if (!this.done) controller.abort(new ClientGoneError());
    });
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    if (statusCode < 200) return; // 1xx informational: the final status follows
    const res = this.target.res;
    const out = endToEnd(headers);
    const rl = this.target.rewriteLocation;
    const loc = out.location;
    if (rl && typeof loc === 'string' && loc.startsWith(rl.from)) out.location = rl.to + loc.slice(rl.from.length);
    Object.assign(out, this.target.extraHeaders());
    this.status = statusCode;
    this.started = true;
    this.target.onStart();
    try {
      res.writeHead(statusCode, out);
    } catch (err) {
      // a header value Node refuses to write (ERR_INVALID_CHAR): the upstream's answer is unusable
      this.started = false;
      controller.abort(new InvalidUpstreamHeaderError(err));
    }
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    const res = this.target.res;
    if (res.write(chunk)) return;
    // The client reads slower than the upstream sends: stop reading until it catches up.
    controller.pause();
    if (!this.onDrain) {
      this.onDrain = () => controller.resume();
      res.on('drain', this.onDrain);
    }
  }

  onResponseEnd(): void {
    this.done = true;
    this.cleanup();
    this.target.res.end();
    this.target.onEnd(this.status, undefined);
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    if (this.done) return;
    this.done = true;
    this.cleanup();
    this.target.onEnd(this.status, err);
    if (err instanceof ClientGoneError) return;
    const res = this.target.res;
    if (!this.started && !res.headersSent) this.target.onFailure(err);
    else res.destroy(); // mid-body: the client must see the response cut, not a clean end
  }

  private cleanup(): void {
    if (this.onDrain) this.target.res.off('drain', this.onDrain);
  }
}

/** The client closed its connection before the upstream's answer was relayed. */
export class ClientGoneError extends Error {
  override name = 'ClientGoneError';
  constructor() {
    super('the client closed the connection');
  }
}

/** The upstream answered with a header Node cannot write. */
export class InvalidUpstreamHeaderError extends Error {
  override name = 'InvalidUpstreamHeaderError';
  constructor(cause: unknown) {
    super('the upstream answered with an invalid header', { cause });
  }
}
