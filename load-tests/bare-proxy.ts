/**
 * The baseline of the comparison: a fastify app with nothing but @fastify/http-proxy in front of
 * the same legacy upstream (no logger, no hooks, no path guard, no request ids). The pool is the
 * gateway's default (64 keep-alive connections, no pipelining) so the difference between the two
 * is what the gateway adds per request, not a different upstream pool.
 *
 * usage: LEGACY_URL=http://127.0.0.1:8081 PORT=0 node dist/load-tests/bare-proxy.js   (after npm run build)
 */
import Fastify from 'fastify';
import httpProxy from '@fastify/http-proxy';

async function main(): Promise<void> {
  const upstream = process.env.LEGACY_URL;
  if (!upstream) throw new Error('LEGACY_URL is required');
  const app = Fastify({ logger: false });
  await app.register(httpProxy, {
    upstream,
    prefix: '/occ/v2',
    rewritePrefix: '/occ/v2',
    undici: { connections: 64, pipelining: 1, keepAliveTimeout: 30_000 },
  });
  await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 0) });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  process.stdout.write(JSON.stringify({ ready: `http://127.0.0.1:${port}` }) + '\n');

  const parentPid = process.ppid;
  const close = () => void app.close().then(() => process.exit(0));
  process.on('SIGTERM', close);
  process.on('SIGINT', close);
  // the harness owns this process: leave when it is gone
  setInterval(() => process.ppid !== parentPid && close(), 1000).unref();
}

main().catch((err: unknown) => {
  process.stderr.write(`bare proxy failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
