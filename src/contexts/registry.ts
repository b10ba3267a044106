/**
 * The context registry: the one list of bounded contexts, above their descriptors. The names
 * layer below it (./names.ts) carries what routing, config and the request scope need; this
 * layer adds each context's port, GraphQL part and policy, for the composition root, the GraphQL
 * surface and the CLI. Nothing under src/routing, src/config or src/upstream/scope.ts imports
 * this file (that would close scope → decide → registry → ports → scope).
 *
 * A context outside this repository's list (a test fixture, a plugin) is added with
 * `registerContext()` before the gateway is built: see docs/adding-a-context.md and its worked
 * example, test/fixtures/tax/ (test/integration/fourth-context.test.ts).
 */
import type { ContextDescriptor } from './descriptor.js';
import { addIdentity, checkedName, CONTEXTS, type ContextName } from './names.js';
import { pricingContext } from './pricing/index.js';
import { inventoryContext } from './inventory/index.js';
import { promotionsContext } from './promotions/index.js';

const descriptors = new Map<ContextName, ContextDescriptor>([
  [pricingContext.name, pricingContext],
  [inventoryContext.name, inventoryContext],
  [promotionsContext.name, promotionsContext],
]);

/** Every context's descriptor, in the list's order. */
export function contexts(): readonly ContextDescriptor[] {
  return CONTEXTS.map((c) => descriptorOf(c));
}

export function descriptorOf(context: ContextName): ContextDescriptor {
  const d = descriptors.get(context);
  if (!d) throw new Error(`context "${context}" has no descriptor`);
  return d;
}

/**
 * Adds a context to the list, before a gateway is built. Its name is checked (lowercase, no
 * clash with a context, `legacy` or `catalog`), so the returned descriptor's name is a
 * ContextName from here on.
 */
export function registerContext<P extends object>(descriptor: ContextDescriptor<P>): ContextDescriptor<P> {
  checkedName(descriptor.name);
  addIdentity({ name: descriptor.name, flag: descriptor.flag, upstream: descriptor.upstream });
  descriptors.set(descriptor.name, descriptor as unknown as ContextDescriptor);
  return descriptor;
}
