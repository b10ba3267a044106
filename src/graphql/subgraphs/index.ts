/**
 * The gateway-hosted subgraphs, in composition order: the catalog first (the monolith's, it owns
 * `Product`), then the GraphQL part of every context of the registry (src/contexts/registry.ts).
 */
import type { SubgraphResolvers } from '../executor.js';
import type { ContextName } from '../../contexts/names.js';
import { contexts } from '../../contexts/registry.js';
import { CATALOG_SDL } from '../sdl.js';
import { catalogResolvers } from './catalog.js';

export const CATALOG_SUBGRAPH = 'catalog';

export interface LocalSubgraphPart {
  readonly name: string;
  readonly sdl: string;
  readonly resolvers: SubgraphResolvers;
  /** the context whose routing decides the subgraph's backend; undefined: the catalog (legacy) */
  readonly context: ContextName | undefined;
}

export function localSubgraphs(): readonly LocalSubgraphPart[] {
  const parts: LocalSubgraphPart[] = [{ name: CATALOG_SUBGRAPH, sdl: CATALOG_SDL, resolvers: catalogResolvers, context: undefined }];
  for (const d of contexts()) if (d.graphql) parts.push({ name: d.name, sdl: d.graphql.sdl, resolvers: d.graphql.resolvers, context: d.name });
  return parts;
}
