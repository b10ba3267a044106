/**
 * The operator console (docs/console.md), served under /console: the built single-page app, a
 * login that exchanges ADMIN_TOKEN for a session cookie, a live stream of per-context snapshots
 * and gateway events (Server-Sent Events), and a relay to the admin API for everything it reads
 * and changes. The relay calls the admin routes in-process with the admin token and the
 * operator's name as `x-actor`, so a console action is an admin API call like any other: same
 * validation, same audit trail, under the operator's name.
 *
 * Closed (404, as if absent) when the admin API is disabled (no ADMIN_TOKEN).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest, InjectOptions } from 'fastify';
import type { Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { CONTEXTS, flagOf, type ContextName } from '../contexts/names.js';
import { GatewayError } from '../errors.js';
import type { Gateway } from '../gateway.js';
import { bearerChecker } from '../admin/auth.js';
import { routeStateOf } from '../routing/route-state.js';
import type { ContextArms } from '../observability/arm-traffic.js';
import { LoginBodySchema, type ContextSnapshot, type Session, type Snapshot } from './schemas.js';
import { COOKIE_NAME, SessionKeeper, clearedCookie, cookieValue, sessionCookie, type ConsoleSession } from './session.js';

export interface ConsoleOptions {
  gw: Gateway;
  /** live traffic per arm of a context (the metrics' ArmTraffic) */
  arms: (context: ContextName) => ContextArms;
  /** window of `arms`, in seconds */
  windowSeconds: number;
}

const TICK_MS = 1000;
const MIME: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.woff2': 'font/woff2',
};
/** The SPA loads only its own files and talks only to its own origin. */
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";
const checkLogin = TypeCompiler.Compile(LoginBodySchema);
const ADMIN_PATH = /^[A-Za-z0-9_\-/.]*$/;

function hostOf(origin: string): string | undefined {
  try {
    return new URL(origin).host.toLowerCase().replace(/:(80|443)$/, '');
  } catch {
    return undefined;
  }
}

/** The package's dist/console (made by `npm run build`), found from this module in src/ or dist/src/. */
function defaultAssetsDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'package.json'))) return join(dir, 'dist', 'console');
    dir = dirname(dir);
  }
  return join(process.cwd(), 'dist', 'console');
}

interface Asset {
  body: Buffer;
  type: string;
  immutable: boolean;
}

/** The built SPA, read once: a handful of small files. */
function loadAssets(dir: string): Map<string, Asset> | undefined {
  if (!existsSync(join(dir, 'index.html'))) return undefined;
  const out = new Map<string, Asset>();
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else {
        const rel = relative(dir, p).split(sep).join('/');
        // Vite fingerprints what it puts in assets/: cacheable for ever
        out.set(rel, { body: readFileSync(p), type: MIME[extname(p)] ?? 'application/octet-stream', immutable: rel.startsWith('assets/') });
      }
    }
  };
  walk(dir);
  return out;
}

export default async function consoleRoutes(app: FastifyInstance, opts: ConsoleOptions): Promise<void> {
  const { gw } = opts;
  const token = gw.config.adminToken;
  if (!token) {
    // closed exactly like a path the gateway does not serve
    const closed = async (request: FastifyRequest) => {
      throw new GatewayError(404, 'GW_ERR_ROUTE_NOT_FOUND', `no route for ${request.method} ${request.url.split('?')[0]}`);
    };
    app.all('/', { schema: { hide: true } }, closed);
    app.all('/*', { schema: { hide: true } }, closed);
    return;
  }
  const checkToken = bearerChecker(token);
  const sessions = new SessionKeeper(token, gw.config.console.sessionTtlS);
  const assetsDir = gw.config.console.assetsDir ?? defaultAssetsDir();
  const assets = loadAssets(assetsDir);
  if (!assets) app.log.warn({ event: 'console.not_built', dir: assetsDir }, `the console's assets are not built in ${assetsDir} (npm run build): /console answers 503, its API works`);

  // Secure over HTTPS, also behind a TLS-terminating proxy that says so: a forged header only
  // makes the sender's own cookie stricter.
  const secure = (request: FastifyRequest) => request.protocol === 'https' || String(request.headers['x-forwarded-proto'] ?? '').split(',')[0]!.trim() === 'https';

  function sessionOf(request: FastifyRequest): ConsoleSession {
    const v = sessions.verify(cookieValue(request.headers.cookie, COOKIE_NAME));
    if (v.ok) return v.session;
    if (v.reason !== 'missing') request.log.info({ event: 'console.session_refused', reason: v.reason }, 'console session refused');
    throw new GatewayError(401, 'GW_ERR_CONSOLE_UNAUTHORIZED', v.reason === 'expired' ? 'the console session has expired: log in again' : 'no valid console session: log in with the admin token');
  }

  /** Every write: a session, a matching CSRF token, and no foreign Origin. */
  function writer(request: FastifyRequest): ConsoleSession {
    const session = sessionOf(request);
    const origin = request.headers.origin;
    // the host only: behind a TLS-terminating proxy the page is https while the gateway sees http
    if (origin !== undefined && hostOf(origin) !== request.host.toLowerCase().replace(/:(80|443)$/, '')) {
      request.log.warn({ event: 'console.csrf_rejected', reason: 'origin', origin, actor: session.actor }, 'console write from a foreign origin refused');
      throw new GatewayError(403, 'GW_ERR_CONSOLE_CSRF_REJECTED', 'cross-origin write refused');
    }
    const given = request.headers['x-csrf-token'];
    if (!sessions.checkCsrf(session, Array.isArray(given) ? given[0] : given)) {
      request.log.warn({ event: 'console.csrf_rejected', reason: given ? 'mismatch' : 'missing', actor: session.actor }, 'console write without a valid CSRF token refused');
      throw new GatewayError(403, 'GW_ERR_CONSOLE_CSRF_REJECTED', 'missing or invalid x-csrf-token: reload the console');
    }
    return session;
  }

  const sessionView = (s: ConsoleSession): Session => ({ actor: s.actor, expiresAt: new Date(s.exp).toISOString(), csrfToken: sessions.csrfToken(s) });

  app.addHook('onRequest', async (request, reply) => {
    if (request.url.startsWith('/console/api/')) reply.header('cache-control', 'no-store');
    reply.header('x-content-type-options', 'nosniff');
    reply.header('x-frame-options', 'DENY');
    reply.header('referrer-policy', 'no-referrer');
  });

  // ---- the single-page app
  const sendAsset = (reply: FastifyReply, path: string) => {
    if (!assets) throw new GatewayError(503, 'GW_ERR_CONSOLE_NOT_BUILT', 'the console is not built on this gateway: run npm run build');
    const a = assets.get(path);
    if (!a) throw new GatewayError(404, 'GW_ERR_ROUTE_NOT_FOUND', `no console file ${path}`);
    reply.header('content-type', a.type);
    reply.header('cache-control', a.immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
    if (path === 'index.html') reply.header('content-security-policy', CSP);
    return reply.send(a.body);
  };
  app.get('/', { schema: { hide: true } }, async (_request, reply) => sendAsset(reply, 'index.html'));
  app.get<{ Params: { '*': string } }>('/assets/*', { schema: { hide: true } }, async (request, reply) => sendAsset(reply, `assets/${request.params['*']}`));

  // ---- session
  app.post('/api/login', { schema: { hide: true } }, async (request, reply) => {
    const body = request.body as Static<typeof LoginBodySchema> | undefined;
    if (!checkLogin.Check(body)) throw new GatewayError(400, 'GW_ERR_REQUEST_INVALID', 'send {"token": "<ADMIN_TOKEN>", "name": "<your name>"}');
    if (checkToken(`Bearer ${body.token}`) !== 'ok') {
      request.log.warn({ event: 'console.login_failed', remoteAddress: request.ip, name: body.name }, 'console login with a wrong admin token');
      throw new GatewayError(401, 'GW_ERR_CONSOLE_UNAUTHORIZED', 'wrong admin token');
    }
    const { session, cookieValue: value } = sessions.issue(body.name.trim());
    request.log.info({ event: 'console.login', actor: session.actor, remoteAddress: request.ip }, `console login by ${session.actor}`);
    reply.header('set-cookie', sessionCookie(value, sessions.ttlS, secure(request)));
    return sessionView(session);
  });
  app.get('/api/session', { schema: { hide: true } }, async (request) => sessionView(sessionOf(request)));
  app.post('/api/logout', { schema: { hide: true } }, async (request, reply) => {
    const session = writer(request);
    sessions.revoke(session);
    for (const s of streams) if (s.sid === session.sid) s.end('logged-out');
    reply.header('set-cookie', clearedCookie(secure(request)));
    return reply.code(204).send();
  });

  // ---- live state
  function snapshot(): Snapshot {
    const defs = new Map(gw.flags.definitions().map((f) => [f.name, f]));
    return {
      at: new Date().toISOString(),
      flags: { source: gw.flags.source, location: gw.flags.location, writable: gw.flags.writable, stale: gw.flags.lastError ?? null },
      contexts: CONTEXTS.map((context): ContextSnapshot => {
        const flag = flagOf(context);
        const st = routeStateOf(defs.get(flag));
        const arms = opts.arms(context);
        const total = arms.legacy.requests + arms.new.requests + arms.legacy_fallback.requests;
        const share = (n: number) => (total === 0 ? 0 : n / total);
        return {
          context,
          flag,
          route: { defined: st.defined, enabled: st.enabled, rollout: st.rollout, stickiness: st.stickiness, constrained: st.constraints.length > 0 },
          windowSeconds: opts.windowSeconds,
          arms,
          share: { legacy: share(arms.legacy.requests), new: share(arms.new.requests), legacy_fallback: share(arms.legacy_fallback.requests) },
          breakers: { legacy: gw.upstreams.legacy.breakerState, new: gw.upstreams[context]?.breakerState ?? 'unknown' },
          parity: gw.parity ? { ...gw.parity.counts(context) } : null,
        };
      }),
    };
  }
  app.get('/api/snapshot', { schema: { hide: true } }, async (request) => {
    sessionOf(request);
    return snapshot();
  });

  interface Stream {
    sid: string;
    send(event: string, data: unknown): void;
    end(reason: string): void;
  }
  const streams = new Set<Stream>();
  let ticker: NodeJS.Timeout | undefined;
  const tick = () => {
    const s = snapshot();
    for (const st of streams) st.send('snapshot', s);
  };
  const unsubscribe = gw.events.onEmit((e) => {
    for (const st of streams) st.send('gateway-event', e);
  });
  // Streams never end on their own: close them when the gateway closes, or it would wait for ever.
  app.addHook('preClose', async () => {
    unsubscribe();
    for (const s of [...streams]) s.end('closing');
  });

  app.get('/api/stream', { schema: { hide: true } }, async (request, reply) => {
    const session = sessionOf(request);
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
      'x-request-id': String(request.id),
    });
    // reconnect after 2 s when the connection drops (the browser's EventSource does it)
    res.write('retry: 2000\n\n');
    const stream: Stream = {
      sid: session.sid,
      send(event, data) {
        res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      },
      end(reason) {
        if (!streams.delete(stream)) return;
        clearTimeout(expiry);
        if (streams.size === 0 && ticker) {
          clearInterval(ticker);
          ticker = undefined;
        }
        res.end(`event: end\ndata: ${JSON.stringify({ reason })}\n\n`);
      },
    };
    // the stream ends with the session: the page then asks for a new login
    const expiry = setTimeout(() => stream.end('session-expired'), Math.max(0, session.exp - Date.now()));
    streams.add(stream);
    request.raw.on('close', () => stream.end('client-closed'));
    res.on('error', () => stream.end('error'));
    stream.send('snapshot', snapshot());
    ticker ??= setInterval(tick, TICK_MS);
    ticker.unref();
  });

  // ---- the admin API, as the operator
  app.route<{ Params: { '*': string } }>({
    method: ['GET', 'POST', 'PUT', 'DELETE'],
    url: '/api/admin/*',
    schema: { hide: true },
    handler: async (request, reply) => {
      const session = request.method === 'GET' ? sessionOf(request) : writer(request);
      const rest = request.params['*'];
      if (!ADMIN_PATH.test(rest) || rest.split('/').includes('..')) throw new GatewayError(400, 'GW_ERR_REQUEST_PATH_REJECTED', 'not an admin API path');
      const q = request.url.indexOf('?');
      const headers: Record<string, string> = {
        authorization: `Bearer ${token}`,
        'x-actor': session.actor,
        'x-request-id': String(request.id),
      };
      const call: InjectOptions = { method: request.method as 'GET' | 'POST' | 'PUT' | 'DELETE', url: `/admin/${rest}${q >= 0 ? request.url.slice(q) : ''}`, headers, remoteAddress: request.ip };
      if (request.body !== undefined && request.body !== null) {
        headers['content-type'] = 'application/json';
        call.payload = JSON.stringify(request.body);
      }
      const r = await app.inject(call);
      reply.code(r.statusCode);
      const type = r.headers['content-type'];
      if (typeof type === 'string') reply.header('content-type', type);
      if (request.method !== 'GET') request.log.info({ event: 'console.admin_call', actor: session.actor, method: request.method, path: `/admin/${rest}`, status: r.statusCode }, `console: ${request.method} /admin/${rest} by ${session.actor}`);
      return reply.send(r.rawPayload);
    },
  });

  const notFound = async (request: FastifyRequest) => {
    throw new GatewayError(404, 'GW_ERR_ROUTE_NOT_FOUND', `no console route for ${request.method} ${request.url.split('?')[0]}`);
  };
  app.all('/api/*', { schema: { hide: true } }, notFound);
}
