/**
 * The drain's connection handling (src/graceful-close.ts) on a real listening node server and
 * raw client sockets, with the tracker's clock in the test's hands: which sockets it closes,
 * which it leaves alone, and what an answer during the drain says.
 */
import t from 'tap';
import { createServer, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { ConnectionTracker, atQuietMoment, shrinkAcceptBacklog } from '../../src/graceful-close.js';

const QUIET = 500;
const FRESH = 10_000;

interface Rig {
  server: Server;
  tracker: ConnectionTracker;
  port: number;
  advance(ms: number): void;
}

async function rig(t: { teardown(fn: () => unknown): void }): Promise<Rig> {
  let clock = 1_000_000;
  const server = createServer((req, res) => {
    // `/slow` answers when told to; anything else at once
    if (req.url === '/slow') return void server.once('release', () => res.end('slow'));
    res.end('ok');
  });
  const tracker = new ConnectionTracker(server, { quietMs: QUIET, freshQuietMs: FRESH, sweepMs: 60_000, now: () => clock });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  const address = server.address();
  return { server, tracker, port: typeof address === 'object' && address ? address.port : 0, advance: (ms) => (clock += ms) };
}

/** A raw client socket that collects what it receives; `closed` resolves with it once the server closes. */
async function client(port: number): Promise<{ socket: Socket; text(): string; closed: Promise<string> }> {
  const socket = connect(port, '127.0.0.1');
  await new Promise((r) => socket.once('connect', r));
  let text = '';
  socket.on('data', (d) => (text += d.toString()));
  const closed = new Promise<string>((resolve) => {
    socket.on('error', () => {});
    socket.on('close', () => resolve(text));
  });
  return { socket, text: () => text, closed };
}

const GET = (path: string) => `GET ${path} HTTP/1.1\r\nHost: gateway\r\n\r\n`;

async function until(cond: () => boolean): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`never true: ${cond.toString()}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

t.test('a kept-alive socket silent for quietMs is closed; one with recent traffic is not', async (t) => {
  const { tracker, port, advance } = await rig(t);
  const quiet = await client(port);
  const recent = await client(port);
  quiet.socket.write(GET('/'));
  recent.socket.write(GET('/'));
  await until(() => quiet.text().includes('ok') && recent.text().includes('ok'));
  t.match(quiet.text(), /keep-alive/i, 'before the drain, answers keep the connection');
  await until(() => tracker.busy === 0);
  advance(QUIET);
  recent.socket.write(GET('/')); // traffic on one of them...
  await until(() => (recent.text().match(/HTTP\/1\.1 200/g) ?? []).length === 2 && recent.text().endsWith('ok'));
  await until(() => tracker.busy === 0);
  await atQuietMoment();
  t.equal(tracker.closeQuiet(), 1, '...the other, silent for quietMs, is the one closed');
  await quiet.closed;
  t.notOk(recent.socket.destroyed, 'the socket that just carried a request stays open');
  t.equal(tracker.open, 1);
});

t.test('during the drain every answer says `Connection: close`, and the socket closes after it', async (t) => {
  const { tracker, port } = await rig(t);
  const c = await client(port);
  c.socket.write(GET('/'));
  await until(() => c.text().includes('ok'));
  tracker.drain();
  c.socket.write(GET('/'));
  const text = await c.closed;
  t.match(text, /^HTTP\/1\.1 200 OK[^]*\r\n\r\nok(\r\n)?HTTP\/1\.1 200 OK[^]*Connection: close[^]*ok$/i, 'the next request on a kept-alive socket is answered, then the socket closes');
});

t.test('a response in flight when the drain starts says close, and its socket is never closed under it', async (t) => {
  const { server, tracker, port, advance } = await rig(t);
  const c = await client(port);
  c.socket.write(GET('/slow'));
  await until(() => tracker.busy === 1);
  tracker.drain();
  advance(FRESH * 2);
  t.equal(tracker.closeQuiet(), 0, 'a request in flight keeps its socket');
  server.emit('release');
  const text = await c.closed;
  t.match(text, /^HTTP\/1\.1 200 OK[^]*Connection: close[^]*slow$/i, 'answered with connection: close');
});

t.test('a socket receiving a request is not closed, however long it has been idle', async (t) => {
  const { tracker, port, advance } = await rig(t);
  const c = await client(port);
  c.socket.write(GET('/'));
  await until(() => c.text().includes('ok'));
  await until(() => tracker.busy === 0);
  advance(QUIET * 10);
  // the next request's first bytes have arrived, not yet a whole request: node reports no request
  const before = c.text().length;
  c.socket.write('GET / HTTP/1.1\r\nHost: gat');
  await new Promise((r) => setTimeout(r, 50));
  await atQuietMoment();
  t.equal(tracker.closeQuiet(), 0, 'bytes arrived since the last look: not quiet');
  advance(QUIET);
  t.equal(tracker.closeQuiet(), 0, 'part of a request waits freshQuietMs (the headers timeout), not quietMs');
  c.socket.write('eway\r\n\r\n');
  await until(() => c.text().length > before);
  await until(() => c.text().slice(before).includes('ok'));
  t.match(c.text().slice(before), /^HTTP\/1\.1 200 OK/, 'and the request is served');
  await until(() => tracker.busy === 0);
  advance(FRESH);
  t.equal(tracker.closeQuiet(), 1, 'a socket holding part of a request, silent for freshQuietMs, is closed');
});

t.test('a fresh connection gets freshQuietMs to send its first request; server.close() while draining closes only quiet sockets', async (t) => {
  const { server, tracker, port, advance } = await rig(t);
  const fresh = await client(port);
  const kept = await client(port);
  kept.socket.write(GET('/'));
  await until(() => kept.text().includes('ok'));
  await until(() => tracker.busy === 0 && tracker.open === 2);
  tracker.drain(); // nothing quiet yet: the sweep at the next quiet moment closes nothing
  await atQuietMoment();
  await atQuietMoment();
  t.equal(tracker.open, 2);
  // node's close() calls closeIdleConnections(), which would destroy the kept-alive socket now
  const closed = new Promise((r) => server.close(r));
  t.equal(tracker.open, 2, 'server.close() destroyed no socket that is not quiet');
  kept.socket.write(GET('/'));
  t.match(await kept.closed, /Connection: close[^]*ok$/i, 'a request after the listener closed, on a kept-alive socket, is served');
  advance(QUIET);
  t.equal(tracker.closeQuiet(), 0, 'a fresh connection is not closed after quietMs');
  advance(FRESH);
  t.equal(tracker.closeQuiet(), 1, 'it is after freshQuietMs');
  await fresh.closed;
  await closed;
  t.equal(tracker.open, 0);
});

t.test('atQuietMoment(server) waits for a poll phase that accepted no connection, at most maxWaitMs', async (t) => {
  const { server, port } = await rig(t);
  t.ok(shrinkAcceptBacklog(server), 'the backlog can be shrunk on a listening server');
  const c = await client(port);
  c.socket.write(GET('/'));
  await until(() => c.text().includes('ok'));
  t.pass('and the server still accepts and answers');
  // a connection arriving every few ms, for longer than maxWaitMs
  let open = true;
  const sockets: Socket[] = [];
  const opening = (async () => {
    while (open) {
      const s = connect(port, '127.0.0.1');
      s.on('error', () => {});
      sockets.push(s);
      await new Promise((r) => setImmediate(r));
    }
  })();
  const started = Date.now();
  await atQuietMoment(server, 300);
  const waited = Date.now() - started;
  open = false;
  await opening;
  for (const s of sockets) s.destroy();
  t.ok(waited < 10_000, `it resolves (after ${waited} ms) even when connections keep arriving`);
  await new Promise((r) => setTimeout(r, 50));
  const quietStart = Date.now();
  await atQuietMoment(server, 60_000);
  t.ok(Date.now() - quietStart < 5_000, 'with no connection arriving, at once');
});
