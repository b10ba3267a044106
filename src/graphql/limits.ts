/**
 * What one GraphQL request may ask for (abuse limits), checked before any work is done:
 *   - depth: how deeply fields nest (fragment spreads add no level of their own);
 *   - aliases: aliased fields in the document (aliases are how one request repeats work);
 *   - complexity: how many fields the operation resolves at most, each field counted once per
 *     element of every list above it whose size the request fixes (`skus`, `pageSize`, a cart's
 *     entries), so `products(skus: [...100])` costs 100 × its selection;
 *   - list sizes: at most 100 SKUs per `products` and 100 entries per cart, as on REST.
 * Each violation is a 400 naming the limit, its value and what the request asked for.
 *
 * Depth and aliases depend on the document only and are checked before validation (which is
 * quadratic in the worst case); complexity and list sizes depend on the variables and are
 * checked on the operation about to run.
 */
import {
  Kind,
  type ArgumentNode,
  type DocumentNode,
  type FragmentDefinitionNode,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql';
import { GatewayError } from '../errors.js';
import { LimitError } from './errors.js';
import type { GraphqlLimits } from './config.js';

type Variables = Readonly<Record<string, unknown>> | undefined;

function fragmentsOf(document: DocumentNode): Map<string, FragmentDefinitionNode> {
  const out = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) out.set(d.name.value, d);
  return out;
}

/** Depth of a selection set; a fragment cycle (invalid, not yet validated) counts as infinite. */
function depthOf(set: SelectionSetNode | undefined, fragments: Map<string, FragmentDefinitionNode>, visiting: Set<string>): number {
  if (!set) return 0;
  let max = 0;
  for (const s of set.selections) {
    let d = 0;
    if (s.kind === Kind.FIELD) d = 1 + depthOf(s.selectionSet, fragments, visiting);
    else if (s.kind === Kind.INLINE_FRAGMENT) d = depthOf(s.selectionSet, fragments, visiting);
    else {
      const name = s.name.value;
      const f = fragments.get(name);
      if (!f) continue;
      if (visiting.has(name)) return Infinity;
      visiting.add(name);
      d = depthOf(f.selectionSet, fragments, visiting);
      visiting.delete(name);
    }
    if (d > max) max = d;
    if (max === Infinity) return max;
  }
  return max;
}

/** Document-level limits: depth of every operation, aliases in the whole document. */
export function checkDocument(document: DocumentNode, limits: Pick<GraphqlLimits, 'depth' | 'aliases'>): void {
  // mercurius also accepts a pre-parsed document (any JSON) as `query`: only a real one goes on.
  if (!Array.isArray((document as { definitions?: unknown } | null)?.definitions)) {
    throw new GatewayError(400, 'GW_ERR_REQUEST_INVALID', 'the query must be a GraphQL document (a string)');
  }
  let aliases = 0;
  const count = (set: SelectionSetNode | undefined): void => {
    for (const s of set?.selections ?? []) {
      if (s.kind === Kind.FIELD && s.alias) aliases++;
      if (s.kind !== Kind.FRAGMENT_SPREAD) count(s.selectionSet);
    }
  };
  for (const d of document.definitions) {
    if (d.kind === Kind.OPERATION_DEFINITION || d.kind === Kind.FRAGMENT_DEFINITION) count(d.selectionSet);
  }
  if (aliases > limits.aliases) throw new LimitError('aliases', `too many aliases: the document has ${aliases}, the limit is ${limits.aliases}`);
  const fragments = fragmentsOf(document);
  for (const d of document.definitions) {
    if (d.kind !== Kind.OPERATION_DEFINITION) continue;
    const depth = depthOf(d.selectionSet, fragments, new Set());
    if (depth > limits.depth) {
      const what = depth === Infinity ? 'fragments that spread each other forever' : `depth ${depth}`;
      throw new LimitError('depth', `query too deep: ${d.name ? `operation ${d.name.value} has` : 'the operation has'} ${what}, the limit is ${limits.depth}`);
    }
  }
}

function valueOf(node: ValueNode, variables: Variables): unknown {
  switch (node.kind) {
    case Kind.VARIABLE:
      return variables?.[node.name.value];
    case Kind.INT:
      return Number(node.value);
    case Kind.STRING:
      return node.value;
    case Kind.LIST:
      return node.values.map((v) => valueOf(v, variables));
    case Kind.OBJECT:
      return Object.fromEntries(node.fields.map((f) => [f.name.value, valueOf(f.value, variables)]));
    default:
      return undefined;
  }
}

function arg(args: readonly ArgumentNode[] | undefined, name: string, variables: Variables): unknown {
  const a = args?.find((x) => x.name.value === name);
  return a ? valueOf(a.value, variables) : undefined;
}

/** How many times a field's selection is resolved, as far as its arguments fix it. */
function multiplier(args: readonly ArgumentNode[] | undefined, variables: Variables, limits: GraphqlLimits): number {
  const skus = arg(args, 'skus', variables);
  if (Array.isArray(skus)) {
    if (skus.length > limits.listSize) throw new LimitError('list', `at most ${limits.listSize} SKUs per request (got ${skus.length})`);
    return Math.max(1, skus.length);
  }
  const cart = arg(args, 'cart', variables) as { entries?: unknown } | undefined;
  if (cart && Array.isArray(cart.entries)) {
    if (cart.entries.length > limits.listSize) throw new LimitError('list', `at most ${limits.listSize} cart entries per request (got ${cart.entries.length})`);
    // a gift-with-purchase may add entries: count each entry twice
    return Math.max(1, 2 * cart.entries.length);
  }
  const pageSize = arg(args, 'pageSize', variables);
  if (typeof pageSize === 'number' && Number.isFinite(pageSize) && pageSize > 0) return Math.min(pageSize, limits.listSize);
  return 1;
}

/** Operation-level limits (complexity, list sizes); returns the complexity for logging. */
export function checkOperation(operation: OperationDefinitionNode, document: DocumentNode, variables: Variables, limits: GraphqlLimits): number {
  const fragments = fragmentsOf(document);
  const cost = (set: SelectionSetNode | undefined, times: number, visiting: Set<string>): number => {
    let total = 0;
    for (const s of set?.selections ?? []) {
      if (s.kind === Kind.FIELD) {
        const m = times * multiplier(s.arguments, variables, limits);
        total += m + cost(s.selectionSet, m, visiting);
      } else if (s.kind === Kind.INLINE_FRAGMENT) {
        total += cost(s.selectionSet, times, visiting);
      } else {
        const f = fragments.get(s.name.value);
        if (!f || visiting.has(f.name.value)) continue;
        visiting.add(f.name.value);
        total += cost(f.selectionSet, times, visiting);
        visiting.delete(f.name.value);
      }
      if (total > limits.complexity) break;
    }
    return total;
  };
  const complexity = cost(operation.selectionSet, 1, new Set());
  if (complexity > limits.complexity) {
    throw new LimitError('complexity', `query too complex: it may resolve more than ${limits.complexity} fields (lists counted by the size asked); split it or ask for fewer SKUs or fields`);
  }
  return complexity;
}

/** The `site` every root field of the operation names (literal or variable), in order of appearance. */
export function rootSites(operation: OperationDefinitionNode, document: DocumentNode, variables: Variables): string[] {
  const fragments = fragmentsOf(document);
  const out: string[] = [];
  const walk = (set: SelectionSetNode, visiting: Set<string>): void => {
    for (const s of set.selections) {
      if (s.kind === Kind.FIELD) {
        const site = arg(s.arguments, 'site', variables);
        if (typeof site === 'string') out.push(site);
      } else if (s.kind === Kind.INLINE_FRAGMENT) walk(s.selectionSet, visiting);
      else {
        const f = fragments.get(s.name.value);
        if (!f || visiting.has(f.name.value)) continue;
        visiting.add(f.name.value);
        walk(f.selectionSet, visiting);
      }
    }
  };
  walk(operation.selectionSet, new Set());
  return out;
}
