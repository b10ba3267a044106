/**
 * Outbound HTTP to one upstream: a keep-alive undici Pool, a per-call timeout, and the
 * translation of transport failures into the gateway's error model. Adapters call `getJson`
 * / `sendJson`; they never see sockets or raw undici errors.
 */
import { Pool, errors as undiciErrors } from 'undici';
import { GatewayError } from '../errors.js';

export interface UpstreamOptions {
  name: string;
  baseUrl: string;
  timeoutMs: number;
  connections: number;
}

export interface CallOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  body?: unknown;
  headers?: Record<string, string>;
  /** which bounded context this call serves, for errors and logs */
  context?: string;
  backend?: 'legacy' | 'new';
}

export interface UpstreamResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** parsed JSON, or undefined for an empty body */
  body: unknown;
}

export class Upstream {
  readonly name: string;
  readonly origin: string;
  readonly basePath: string;
  readonly pool: Pool;
  private readonly timeoutMs: number;

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
      headersTimeout: opts.timeoutMs,
      bodyTimeout: opts.timeoutMs,
      connectTimeout: Math.min(opts.timeoutMs, 5_000),
    });
  }

  /** JSON call; resolves with any HTTP status, rejects only with a GatewayError. */
  async call(path: string, opts: CallOptions = {}): Promise<UpstreamResponse> {
    const headers: Record<string, string> = { accept: 'application/json', ...opts.headers };
    let body: string | undefined;
    if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['content-type'] = 'application/json';
    }
    const signal = AbortSignal.timeout(this.timeoutMs);
    let res: Awaited<ReturnType<Pool['request']>>;
    let text: string;
    try {
      res = await this.pool.request({ method: opts.method ?? 'GET', path: this.basePath + path, headers, body, signal });
      text = await res.body.text();
    } catch (err) {
      throw this.transportError(err, opts);
    }
    if (text.length === 0) return { status: res.statusCode, headers: res.headers, body: undefined };
    try {
      return { status: res.statusCode, headers: res.headers, body: JSON.parse(text) };
    } catch {
      if (res.statusCode >= 500) throw this.statusError(res.statusCode, opts);
      throw new GatewayError(502, 'GW_ERR_UPSTREAM_INVALID_PAYLOAD', `${this.describe(opts)} returned a body that is not JSON`, {
        ...ctx(opts),
        errors: [{ path: '', message: 'body is not valid JSON' }],
      });
    }
  }

  /** Like `call`, but a 5xx becomes a GatewayError too: the common case for reads. */
  async getJson(path: string, opts: CallOptions = {}): Promise<UpstreamResponse> {
    const r = await this.call(path, opts);
    if (r.status >= 500) throw this.statusError(r.status, opts);
    return r;
  }

  statusError(status: number, opts: CallOptions): GatewayError {
    if (status === 503) return new GatewayError(503, 'GW_ERR_UPSTREAM_UNAVAILABLE', `${this.describe(opts)} is unavailable`, { ...ctx(opts), retryAfterSeconds: 1 });
    if (status === 504) return new GatewayError(504, 'GW_ERR_UPSTREAM_TIMEOUT', `${this.describe(opts)} timed out`, ctx(opts));
    return new GatewayError(502, 'GW_ERR_UPSTREAM_FAILED', `${this.describe(opts)} failed with status ${status}`, ctx(opts));
  }

  private transportError(err: unknown, opts: CallOptions): GatewayError {
    const e = err as { name?: string; code?: string };
    const timedOut =
      e.name === 'TimeoutError' ||
      err instanceof undiciErrors.HeadersTimeoutError ||
      err instanceof undiciErrors.BodyTimeoutError ||
      err instanceof undiciErrors.ConnectTimeoutError;
    if (timedOut) {
      return new GatewayError(504, 'GW_ERR_UPSTREAM_TIMEOUT', `${this.describe(opts)} did not answer within ${this.timeoutMs} ms`, { ...ctx(opts), cause: err });
    }
    return new GatewayError(503, 'GW_ERR_UPSTREAM_UNAVAILABLE', `${this.describe(opts)} is unreachable`, {
      ...ctx(opts),
      retryAfterSeconds: 1,
      cause: err,
    });
  }

  private describe(opts: CallOptions): string {
    return opts.context ? `${opts.context} upstream (${opts.backend ?? this.name})` : `upstream ${this.name}`;
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

function ctx(opts: CallOptions): { context?: string; backend?: string } {
  const out: { context?: string; backend?: string } = {};
  if (opts.context) out.context = opts.context;
  if (opts.backend) out.backend = opts.backend;
  return out;
}
