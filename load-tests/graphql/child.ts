/**
 * Child processes of the GraphQL benchmark, one role each, so the backends, our gateway, Apollo
 * and the load generator never share an event loop. Each prints one JSON line `{"ready": ...}`.
 *
 *   backends  the embedded world on ephemeral loopback ports
 *   gateway   our gateway (env: LEGACY_URL, PRICING_URL, ..., FLAGS_DIR, GRAPHQL_*)
 *   apollo    @apollo/gateway + @apollo/server composing SUBGRAPHS (JSON [{name, url}])
 */
import { startBackends } from '../../backends/index.js';
import { buildGateway } from '../../src/app.js';
import { loadConfig } from '../../src/config/load.js';

function ready(value: unknown): void {
  process.stdout.write(JSON.stringify({ ready: value }) + '\n');
}

function exitWithParent(close: () => Promise<unknown>): void {
  const stop = () => void close().finally(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  const parent = process.ppid;
  setInterval(() => process.ppid !== parent && stop(), 1000).unref();
}

async function backends(): Promise<void> {
  const b = await startBackends({ host: '127.0.0.1', logger: false });
  ready({ legacy: b.legacy.url, pricing: b.pricing.url, inventory: b.inventory.url, promotions: b.promotions.url });
  exitWithParent(() => b.close());
}

async function gateway(): Promise<void> {
  const config = loadConfig(process.env);
  const env = (k: string) => {
    const v = process.env[k];
    if (!v) throw new Error(`${k} is required`);
    return v;
  };
  const app = await buildGateway({
    config,
    upstreamUrls: { legacy: env('LEGACY_URL'), pricing: env('PRICING_URL'), inventory: env('INVENTORY_URL'), promotions: env('PROMOTIONS_URL') },
    logger: false,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as { port: number };
  ready(`http://127.0.0.1:${port}`);
  exitWithParent(() => app.close());
}

async function apollo(): Promise<void> {
  const { ApolloServer } = await import('@apollo/server');
  const { startStandaloneServer } = await import('@apollo/server/standalone');
  const { ApolloGateway, IntrospectAndCompose } = await import('@apollo/gateway');
  const subgraphs = JSON.parse(process.env.SUBGRAPHS ?? '[]') as { name: string; url: string }[];
  const server = new ApolloServer({
    gateway: new ApolloGateway({ supergraphSdl: new IntrospectAndCompose({ subgraphs }) }),
    // production-like: no landing page, no introspection, no stack traces
    introspection: false,
    includeStacktraceInErrorResponses: false,
  });
  const { url } = await startStandaloneServer(server, { listen: { host: '127.0.0.1', port: 0 } });
  ready(url.replace(/\/$/, ''));
  exitWithParent(() => server.stop());
}

const roles: Record<string, () => Promise<void>> = { backends, gateway, apollo };
const role = roles[process.argv[2] ?? ''];
if (!role) {
  process.stderr.write(`usage: child.ts ${Object.keys(roles).join('|')}\n`);
  process.exit(2);
}
role().catch((err: unknown) => {
  process.stderr.write(`graphql bench child ${process.argv[2]} failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
