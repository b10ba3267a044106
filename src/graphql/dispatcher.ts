/**
 * How @mercuriusjs/gateway reaches subgraphs. It sends each subgraph request through an undici
 * `Dispatcher` (its `agent` service option) and only ever calls `request()` on it, so the
 * gateway-hosted subgraphs are reached by a dispatcher that executes them in process: no socket,
 * no serialisation to a loopback port, and no new HTTP client (their resolvers call the ports,
 * whose upstream clients carry the breakers, timeouts and budgets).
 *
 * The inbound request travels with each subgraph request under a symbol key of the outgoing
 * headers object: the gateway builds those headers with `rewriteHeaders(headers, context)` (which
 * sees the inbound request) and spreads them, symbols included, into the dispatcher call. It
 * never reaches a wire: both dispatchers below read it and build their own outgoing headers.
 */
import { createRequire } from 'node:module';
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { FastifyRequest } from 'fastify';
import type { Dispatcher } from 'undici';
import type { Upstream } from '../upstream/http.js';
import { asGatewayError, fromGatewayError, INTERNAL_MESSAGE, type WireError } from './errors.js';
import type { SubgraphRequest, SubgraphResponse } from './executor.js';
import type { SubgraphHandler } from './router.js';

const INBOUND = Symbol('strangler.graphql.inbound');

interface GatewayContextLike {
  reply?: { request?: FastifyRequest };
}

/** The `rewriteHeaders` of every service: carries the inbound request to the dispatcher. */
export function carryInbound(_headers: IncomingHttpHeaders, context: GatewayContextLike | undefined): OutgoingHttpHeaders {
  const inbound = context?.reply?.request;
  return (inbound ? { [INBOUND]: inbound } : {}) as unknown as OutgoingHttpHeaders;
}

interface RequestOptions {
  headers?: Record<string | symbol, unknown>;
  body?: unknown;
}

interface DispatchResult {
  statusCode: number;
  headers: Record<string, string>;
  body: { text(): Promise<string> };
}

function reply(result: SubgraphResponse | SubgraphResponse[]): DispatchResult {
  const text = JSON.stringify(result);
  return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: { text: async () => text } };
}

function failure(errors: WireError[]): DispatchResult {
  return reply({ data: null, errors });
}

function parseBody(body: unknown): SubgraphRequest | undefined {
  try {
    const parsed = JSON.parse(typeof body === 'string' ? body : String(body)) as unknown;
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as SubgraphRequest) : undefined;
  } catch {
    return undefined;
  }
}

abstract class RequestOnlyDispatcher {
  abstract request(opts: RequestOptions): Promise<DispatchResult>;
  /** The gateway never destroys a dispatcher it was given; these exist for completeness. */
  async close(): Promise<void> {}
  async destroy(): Promise<void> {}
  /** As the `agent` option: the gateway's types ask for a full undici Dispatcher. */
  asAgent(): Dispatcher {
    return this as unknown as Dispatcher;
  }
}

/** @mercuriusjs/gateway's error for a subgraph answer with errors and no data (what its own sendRequest throws). */
const { FederatedError } = createRequire(import.meta.url)('@mercuriusjs/gateway/lib/errors.js') as { FederatedError: new (errors: unknown[]) => Error };

/** What @mercuriusjs/gateway passes a service's `sendRequest` (lib/gateway/request.js). */
interface SendOptions {
  body: string;
  context?: { reply?: { request?: FastifyRequest }; errors?: unknown[] | null };
}

interface ServiceEntry {
  sendRequest?: unknown;
}

/**
 * Skips the JSON round trip of an in-process subgraph's answer. Through the dispatcher, each
 * answer is serialised by us and parsed back by the gateway (`JSON.parse(await body.text())`),
 * once per subgraph per request: ~5 % of the gateway's CPU on `products(skus: 20)`. The gateway
 * reads answers through its service entry's `sendRequest` ({ statusCode, json, headers }); for
 * the gateway-hosted subgraphs that is replaced by one handing over the executed result itself,
 * with the gateway's own error handling (errors and no data: a FederatedError; errors beside
 * data: added to the request's errors). Returns the names it could not replace (an entry of
 * another shape after an upgrade): those keep working through the dispatcher, only slower.
 */
export function sendInProcess(serviceMap: Record<string, unknown>, subgraphs: readonly SubgraphHandler[]): string[] {
  const missed: string[] = [];
  for (const subgraph of subgraphs) {
    const entry = serviceMap[subgraph.name] as ServiceEntry | undefined;
    if (!entry || typeof entry.sendRequest !== 'function') {
      missed.push(subgraph.name);
      continue;
    }
    entry.sendRequest = async (opts: SendOptions) => {
      const inbound = opts.context?.reply?.request;
      const request = parseBody(opts.body);
      const json: SubgraphResponse =
        inbound && request ? await subgraph.handle(request, inbound) : { data: null, errors: [{ message: INTERNAL_MESSAGE, extensions: { code: 'GW_ERR_INTERNAL_ERROR' } }] };
      if (json.errors?.length) {
        if (json.data === null || json.data === undefined) throw new FederatedError(json.errors);
        const context = opts.context;
        if (context) (context.errors ??= []).push(...json.errors);
      }
      return { statusCode: 200, json, headers: { 'content-type': 'application/json' } };
    };
  }
  return missed;
}

/** Executes a gateway-hosted subgraph in process, bound to the inbound request. */
export class InProcessDispatcher extends RequestOnlyDispatcher {
  constructor(private readonly subgraph: SubgraphHandler) {
    super();
  }

  async request(opts: RequestOptions): Promise<DispatchResult> {
    const inbound = opts.headers?.[INBOUND] as FastifyRequest | undefined;
    const request = parseBody(opts.body);
    if (!inbound || !request) return failure([{ message: INTERNAL_MESSAGE, extensions: { code: 'GW_ERR_INTERNAL_ERROR' } }]);
    return reply(await this.subgraph.handle(request, inbound));
  }
}

/**
 * An extra subgraph a new service exposes (configured by URL), through an upstream client of
 * its own: a breaker, a timeout and the request's budget like any other upstream. Its answers
 * are composed as they are; its error messages are not shown to clients.
 */
export class UpstreamDispatcher extends RequestOnlyDispatcher {
  constructor(
    private readonly name: string,
    private readonly upstream: Upstream,
  ) {
    super();
  }

  async request(opts: RequestOptions): Promise<DispatchResult> {
    const inbound = opts.headers?.[INBOUND] as FastifyRequest | undefined;
    const headers: Record<string, string> = inbound?.gwScope?.propagate ?? (inbound ? { 'x-request-id': String(inbound.id) } : {});
    try {
      const r = await this.upstream.call('', {
        method: 'POST',
        rawBody: { contentType: 'application/json', text: typeof opts.body === 'string' ? opts.body : String(opts.body) },
        headers,
        deadline: inbound?.gwScope?.deadline,
        context: this.name,
        backend: 'new',
      });
      const body = r.body as { data?: unknown; errors?: unknown[] } | undefined;
      if (r.status !== 200 || body === null || typeof body !== 'object') {
        return failure([{ message: `${this.name} subgraph answered with status ${r.status}`, extensions: { code: 'GW_ERR_UPSTREAM_FAILED', context: this.name, backend: 'new' } }]);
      }
      const out: SubgraphResponse = { data: (body.data ?? null) as Record<string, unknown> | null };
      if (Array.isArray(body.errors) && body.errors.length > 0) {
        out.errors = [{ message: `${this.name} subgraph reported an error`, extensions: { code: 'GW_ERR_UPSTREAM_FAILED', context: this.name, backend: 'new' } }];
      }
      return reply(out);
    } catch (err) {
      return failure([fromGatewayError(asGatewayError(err, inbound?.log ?? silent))]);
    }
  }
}

const silent = { error: () => undefined };
