/**
 * Closing an HTTP/1.1 server without resetting a request (src/serve.ts drives it on SIGTERM).
 *
 * A keep-alive connection is "idle" to the server between two requests, but the client may have
 * sent its next request already: it is on the wire or in the kernel's receive buffer, unread.
 * Destroying such a socket (what node's `server.closeIdleConnections()` does, and `server.close()`
 * calls it) resets the connection under a request the client cannot know whether to retry. So
 * while draining, the `ConnectionTracker`:
 *
 * - answers every request that arrives, on any connection, with `Connection: close` (node then
 *   closes the socket after the response: the client itself stops reusing it);
 * - closes a socket only once it is quiet: nothing in flight, and not one byte received for
 *   `quietMs` (a kept-alive socket) or `freshQuietMs` (a socket that never carried a request,
 *   whose client is still expected to send one) — and only at a quiet moment of the event loop
 *   (`atQuietMoment`), right after a poll phase has read whatever the kernel had received;
 * - replaces the server's `closeIdleConnections()` so that `server.close()` does the same rather
 *   than destroying every socket idle at that instant.
 *
 * What remains is a request the client sends in the instant the gateway closes a socket that has
 * been silent for `quietMs`: HTTP/1.1 keep-alive has that race by design (node's own
 * keepAliveTimeout has it too); clients retry a request on a reused connection that closed.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import cluster from 'node:cluster';

/**
 * Resolves in the check phase right after a poll phase: what the kernel had queued (received
 * bytes, connections) has been handled. Given a listening server, waits for a poll phase in
 * which it accepted no connection (its accept queue was empty), for at most `maxWaitMs`: closing
 * the listener then resets no connection the kernel had queued for it.
 */
export function atQuietMoment(server?: Server, maxWaitMs = 1000): Promise<void> {
  if (server === undefined) return new Promise((resolve) => setImmediate(resolve));
  return new Promise((resolve) => {
    let accepted = 0;
    const onConnection = (): void => void accepted++;
    server.prependListener('connection', onConnection);
    const deadline = Date.now() + maxWaitMs;
    const check = (): void => {
      if (accepted > 0 && Date.now() < deadline) {
        accepted = 0;
        setImmediate(check);
        return;
      }
      server.off('connection', onConnection);
      resolve();
    };
    // the first check comes after one whole poll phase
    setImmediate(() => {
      accepted = 0;
      setImmediate(check);
    });
  });
}

/**
 * Lowers the listening socket's accept backlog to its minimum (listen(2) again, which Linux
 * allows on a listening socket): from now on the kernel queues at most one connection the
 * process has not accepted yet and drops further SYNs, which their clients retry a second later
 * (then served, or refused once the listener is closed). Closing the listener right after a
 * poll phase that found the queue empty (`atQuietMoment(server)`) then resets no connection,
 * even under a load that kept the queue full. Only where this process owns the listening
 * socket: not in a cluster worker, whose connections the primary accepts. Returns whether it did.
 */
export function shrinkAcceptBacklog(server: Server): boolean {
  const handle = (server as unknown as { _handle?: { listen?: (backlog: number) => number } | null })._handle;
  if (cluster.isWorker || typeof handle?.listen !== 'function') return false;
  return handle.listen(0) === 0;
}

interface Tracked {
  /** requests received on the socket whose response has not finished */
  inFlight: number;
  /** requests the socket has carried */
  served: number;
  /** when a byte was last seen arriving or a response last finished */
  lastActive: number;
  /** socket.bytesRead when it last became idle (accepted, or a response finished) */
  idleBytes: number;
  /** socket.bytesRead when last looked at */
  seenBytes: number;
  /** responses in flight */
  responses: Set<ServerResponse>;
}

export interface TrackerOptions {
  /** a kept-alive socket silent this long is closed while draining */
  quietMs: number;
  /** a socket that has carried no request yet, silent this long, is closed while draining */
  freshQuietMs: number;
  /** how often the drain looks for quiet sockets */
  sweepMs?: number;
  /** the clock (tests) */
  now?: () => number;
}

export class ConnectionTracker {
  private readonly sockets = new Map<Socket, Tracked>();
  private readonly now: () => number;
  private draining = false;
  private sweeper: NodeJS.Timeout | undefined;

  constructor(
    private readonly server: Server,
    private readonly opts: TrackerOptions,
  ) {
    this.now = opts.now ?? Date.now;
    // prepended: before the request handler writes anything, so a drain answer says close
    server.prependListener('connection', (socket: Socket) => this.track(socket));
    server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => this.onRequest(req, res));
  }

  /** Open sockets. */
  get open(): number {
    return this.sockets.size;
  }

  /** Sockets with a request in flight. */
  get busy(): number {
    let n = 0;
    for (const t of this.sockets.values()) if (t.inFlight > 0) n++;
    return n;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /**
   * Start draining: every answer from now on closes its connection, sockets already quiet are
   * closed at the next quiet moment and the others as they become quiet, and `server.close()`
   * closes quiet sockets only.
   */
  drain(): void {
    if (this.draining) return;
    this.draining = true;
    // responses in flight whose headers are still to be written say close too
    for (const t of this.sockets.values()) for (const res of t.responses) if (!res.headersSent) res.shouldKeepAlive = false;
    this.server.closeIdleConnections = () => void this.closeQuiet();
    const sweep = (): void => void atQuietMoment().then(() => this.closeQuiet());
    sweep();
    this.sweeper = setInterval(sweep, this.opts.sweepMs ?? Math.max(10, Math.floor(this.opts.quietMs / 4)));
    this.sweeper.unref();
    this.server.once('close', () => clearInterval(this.sweeper));
  }

  /**
   * Closes every socket that is quiet now; returns how many. Call it at a quiet moment. Quiet:
   * no request in flight and no byte received for `quietMs` after a response, or for
   * `freshQuietMs` on a socket that has not yet carried a request or holds part of one (node's
   * headers timeout no longer runs once the listener is closed).
   */
  closeQuiet(): number {
    const now = this.now();
    let closed = 0;
    for (const [socket, t] of this.sockets) {
      if (t.inFlight > 0 || socket.destroyed) continue;
      const bytes = socket.bytesRead;
      if (bytes !== t.seenBytes) {
        // bytes arrived since: a request is on its way in (node parses it before 'request')
        t.seenBytes = bytes;
        t.lastActive = now;
        continue;
      }
      const betweenRequests = t.served > 0 && bytes === t.idleBytes;
      if (now - t.lastActive < (betweenRequests ? this.opts.quietMs : this.opts.freshQuietMs)) continue;
      socket.destroy();
      this.sockets.delete(socket);
      closed++;
    }
    return closed;
  }

  private track(socket: Socket): void {
    this.sockets.set(socket, { inFlight: 0, served: 0, lastActive: this.now(), idleBytes: socket.bytesRead, seenBytes: socket.bytesRead, responses: new Set() });
    socket.once('close', () => this.sockets.delete(socket));
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    // held here: by the response's close, node may have detached the socket (req.socket null)
    const socket = req.socket;
    const t = this.sockets.get(socket);
    if (this.draining) res.shouldKeepAlive = false; // node writes `Connection: close` and closes after
    if (t === undefined) return;
    t.inFlight++;
    t.served++;
    t.lastActive = this.now();
    t.responses.add(res);
    res.once('close', () => {
      t.responses.delete(res);
      t.inFlight--;
      t.lastActive = this.now();
      t.idleBytes = t.seenBytes = socket.bytesRead;
    });
  }
}
