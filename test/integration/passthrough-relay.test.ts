/**
 * The passthrough's relay, against a stand-in monolith that records exactly what reached it
 * and answers as the test says (a plain node:http server, not our simulator): bodies of any type
 * arrive byte for byte, hop-by-hop headers stop at the gateway in both directions, limits hold
 * for streamed bodies, and a client or upstream that goes away mid-exchange is handled.
 */
import t from 'tap';
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { buildGateway } from '../../src/app.js';
import { loadConfig } from '../../src/config/load.js';
import { flagFile } from '../helpers/flags.js';
import { rawExchange } from '../helpers/raw-http.js';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

type Answer = (req: IncomingMessage, res: ServerResponse, seen: Seen) => void;

/** A gateway in front of `legacyUrl` (the other upstreams are never called here). */
async function gatewayBefore(t: { teardown(fn: () => unknown): void }, legacyUrl: string, env: Record<string, string> = {}) {
  const flagsDir = await mkdtemp(join(tmpdir(), 'strangler-relay-'));
  await writeFile(join(flagsDir, 'routes.json'), JSON.stringify(flagFile({})));
  const config = loadConfig({ FLAGS_DIR: flagsDir, LOG_LEVEL: 'silent', SHED_EVENT_LOOP_DELAY_MS: '0', ...env });
  const unused = 'http://127.0.0.1:9';
  const app = await buildGateway({ config, upstreamUrls: { legacy: legacyUrl, pricing: unused, inventory: unused, promotions: unused }, logger: false });
  await app.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(async () => {
    await app.close();
    await rm(flagsDir, { recursive: true, force: true });
  });
  const port = (app.server.address() as AddressInfo).port;
  return { app, base: `http://127.0.0.1:${port}`, port };
}

async function stage(t: { teardown(fn: () => unknown): void }, answer: Answer, env: Record<string, string> = {}) {
  const seen: Seen[] = [];
  const closed: string[] = [];
  const legacy = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const s = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) };
      seen.push(s);
      answer(req, res, s);
    });
    res.on('close', () => {
      if (!res.writableFinished) closed.push(req.url ?? '');
    });
  });
  await new Promise<void>((r) => legacy.listen(0, '127.0.0.1', r));
  t.teardown(async () => {
    legacy.closeAllConnections();
    await new Promise((r) => legacy.close(r));
  });
  const gw = await gatewayBefore(t, `http://127.0.0.1:${(legacy.address() as AddressInfo).port}`, env);
  return { ...gw, seen, closed };
}

const ok: Answer = (_req, res, s) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ method: s.method, url: s.url, bytes: s.body.length }));
};

t.test('bodies of any content type reach the monolith byte for byte, declared or chunked', async (t) => {
  const w = await stage(t, ok);
  // an OCC form post, exactly as a storefront sends it (the gateway's own parsers stay out)
  const form = 'code=1000001&qty=2&note=caf%C3%A9+%26+cr%C3%A8me';
  const r1 = await request(`${w.base}/occ/v2/electronics-spa/forms?x=1&x=2&y=a%20b`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: form,
  });
  t.equal(r1.statusCode, 200);
  await r1.body.dump();
  t.equal(w.seen[0]?.body.toString(), form, 'form body unchanged');
  t.equal(w.seen[0]?.url, '/occ/v2/electronics-spa/forms?x=1&x=2&y=a%20b', 'query string as sent, not re-encoded');
  t.equal(w.seen[0]?.headers['content-type'], 'application/x-www-form-urlencoded');

  // JSON with insignificant whitespace and key order: relayed, not parsed and re-serialized
  const json = '{ "b": 1,\n  "a": [1, 2.50] }';
  const r2 = await request(`${w.base}/occ/v2/x`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: json });
  await r2.body.dump();
  t.equal(w.seen[1]?.body.toString(), json, 'JSON bytes unchanged');

  // binary, streamed with chunked transfer encoding (no content-length)
  const bytes = Buffer.from(Array.from({ length: 70_000 }, (_, i) => i % 256));
  const r3 = await request(`${w.base}/occ/v2/upload`, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream' },
    body: Readable.from(
      (function* () {
        for (let i = 0; i < bytes.length; i += 10_000) yield bytes.subarray(i, i + 10_000);
      })(),
    ),
  });
  t.equal(r3.statusCode, 200);
  await r3.body.dump();
  t.ok(w.seen[2]?.body.equals(bytes), 'chunked binary body unchanged');
});

t.test('a body over BODY_LIMIT is refused with 413, declared or streamed', async (t) => {
  const w = await stage(t, ok, { BODY_LIMIT: '1024' });
  const declared = await request(`${w.base}/occ/v2/upload`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x'.repeat(2048) });
  t.equal(declared.statusCode, 413);
  t.match(await declared.body.json(), { errors: [{ reason: 'GW_ERR_REQUEST_TOO_LARGE' }] });

  const streamed = await request(`${w.base}/occ/v2/upload`, {
    method: 'POST',
    headers: { 'content-type': 'text/plain' },
    body: Readable.from(
      (function* () {
        for (let i = 0; i < 4; i++) yield Buffer.from('y'.repeat(600));
      })(),
    ),
  });
  t.equal(streamed.statusCode, 413, 'a chunked body is counted as it streams');
  t.match(await streamed.body.json(), { errors: [{ reason: 'GW_ERR_REQUEST_TOO_LARGE' }] });
  t.notOk(
    w.seen.some((s) => s.body.length > 1024),
    'the monolith never received more than the limit',
  );
});

t.test('hop-by-hop headers stop at the gateway, both ways; the rest pass unchanged', async (t) => {
  const w = await stage(t, (_req, res) => {
    res.writeHead(200, {
      'content-type': 'text/plain',
      'x-upstream': 'kept',
      'keep-alive': 'timeout=5',
      'x-private-hop': 'secret',
      connection: 'keep-alive, x-private-hop',
      'set-cookie': ['a=1', 'b=2'],
    });
    res.end('hello');
  });
  // a raw request: HTTP clients rewrite the Connection header they are given
  const rawReply = await rawExchange(
    w.port,
    'GET /occ/v2/h HTTP/1.1\r\nHost: x\r\nX-Client: kept\r\nX-Drop-Me: gone\r\nConnection: close, X-Drop-Me\r\n' +
      'TE: trailers\r\nProxy-Connection: keep-alive\r\nAuthorization: Bearer abc\r\n\r\n',
  );
  t.match(rawReply, /^HTTP\/1\.1 200/);
  const up = w.seen[0]!.headers;
  t.equal(up['x-client'], 'kept');
  t.equal(up.authorization, 'Bearer abc', "credentials are the monolith's business: forwarded");
  t.notOk(up['x-drop-me'], 'a header the client named in Connection is not forwarded');
  t.notOk(up.te);
  t.notOk(up['proxy-connection']);
  t.notMatch(String(up.host), String(w.port), "the monolith sees its own host, not the gateway's");
  t.match(up['x-request-id'], /.+/, 'the request id travels');
  t.match(up.traceparent, /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[0-3]$/, 'trace context travels');

  const r = await request(`${w.base}/occ/v2/h`);
  t.equal(await r.body.text(), 'hello');
  t.equal(r.headers['x-upstream'], 'kept');
  t.same(r.headers['set-cookie'], ['a=1', 'b=2'], 'repeated headers stay repeated');
  t.notOk(r.headers['x-private-hop'], 'a header the monolith named in Connection is not relayed');
  t.equal(r.headers['x-request-id'], w.seen[1]!.headers['x-request-id'], 'the same request id both ways');
});

t.test('large responses stream through; a client that leaves stops the upstream read', async (t) => {
  const big = Buffer.alloc(8 * 1024 * 1024, 'z');
  const w = await stage(t, (req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(big.length) });
    if (req.url === '/occ/v2/slow') {
      res.write(big.subarray(0, 1024)); // then nothing: the client gives up
      return;
    }
    res.end(big);
  });
  const r = await request(`${w.base}/occ/v2/big`);
  const got = Buffer.from(await r.body.arrayBuffer());
  t.equal(got.length, big.length, '8 MB relayed in full');
  t.equal(r.headers['content-length'], String(big.length));

  await new Promise<void>((resolve) => {
    const req = httpRequest(`${w.base}/occ/v2/slow`, (res) => {
      res.once('data', () => {
        req.destroy();
        resolve();
      });
    });
    req.end();
  });
  for (let i = 0; i < 50 && w.closed.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
  t.same(w.closed, ['/occ/v2/slow'], 'the upstream exchange was abandoned, not left hanging');
  const metrics = await (await request(`${w.base}/metrics`)).body.text();
  t.match(metrics, /gateway_upstream_call_duration_seconds_count\{upstream="legacy",context="passthrough",outcome="cancelled"\} 1/, 'counted as cancelled, not as an upstream failure');
  t.notMatch(metrics, /gateway_upstream_errors_total\{[^}]*outcome="cancelled"/);
});

t.test('an upstream that breaks mid-body cuts the client\'s response; before the headers it is a 503', async (t) => {
  const w = await stage(t, (req, res) => {
    if (req.url === '/occ/v2/reset') {
      req.socket.destroy();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '100' });
    res.write('only part of it');
    setTimeout(() => res.socket?.destroy(), 20);
  });
  const early = await request(`${w.base}/occ/v2/reset`);
  t.equal(early.statusCode, 503);
  t.match(await early.body.json(), { errors: [{ reason: 'GW_ERR_UPSTREAM_UNAVAILABLE' }] });

  const cut = await request(`${w.base}/occ/v2/cut`);
  t.equal(cut.statusCode, 200, 'the status had already been relayed');
  await t.rejects(cut.body.text(), 'the client sees the body end early, not a complete response');
});

t.test('an upstream header Node cannot write is a 502, not a crash', async (t) => {
  // a raw socket monolith: Node's own server would refuse to send this header
  const rawLegacy = createServer();
  rawLegacy.on('connection', (sock) => {
    sock.once('data', () => sock.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Bad: a\u0001b\r\n\r\nok'));
  });
  await new Promise<void>((r) => rawLegacy.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise((r) => rawLegacy.close(r)));
  const w = await gatewayBefore(t, `http://127.0.0.1:${(rawLegacy.address() as AddressInfo).port}`);
  const text = await rawExchange(w.port, 'GET /occ/v2/bad HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  t.match(text, /^HTTP\/1\.1 50[23] /, 'an error status, and the gateway still answers');
  const again = await request(`${w.base}/healthz`);
  t.equal(again.statusCode, 200, 'the gateway is still up');
});
