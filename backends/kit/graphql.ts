/**
 * What the new services' federation subgraphs share: registration (@mercuriusjs/federation on
 * the service's own fastify instance, at `/graphql`) and the entity key every extension of
 * `Product` receives: `{sku, site}` (the SDL `@requires` the site: SKUs are unique per site only).
 * The SDL is the services' own (backends/contract/sdl.ts), written from docs/CONTRACTS.md.
 */
import type { FastifyInstance } from 'fastify';
import { mercuriusFederationPlugin } from '@mercuriusjs/federation';
import type { IResolvers, MercuriusLoaders } from 'mercurius';

export interface EntityKey {
  sku: string;
  site: string;
}

export function entityKey(obj: unknown): EntityKey | undefined {
  const o = obj as { sku?: unknown; site?: unknown } | null;
  return o && typeof o.sku === 'string' && typeof o.site === 'string' ? { sku: o.sku, site: o.site } : undefined;
}

/** Batched per field and request (mercurius loaders): one lookup pass however many products. */
export function entityLoader<V>(resolve: (key: EntityKey) => V | null): (queries: { obj: unknown }[]) => Promise<(V | null)[]> {
  return async (queries) =>
    queries.map(({ obj }) => {
      const key = entityKey(obj);
      return key ? resolve(key) : null;
    });
}

export async function registerSubgraph(app: FastifyInstance, schema: string, resolvers: IResolvers, loaders: MercuriusLoaders): Promise<void> {
  await app.register(mercuriusFederationPlugin, { schema, resolvers, loaders, graphiql: false, path: '/graphql' });
}
