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
 * Every check is linear in the document's size (a fragment is measured once, however often it
 * is spread). Depth, aliases and a lower bound of complexity depend on the document only and are
 * checked before validation (which is quadratic in the worst case); complexity and list sizes
 * depend on the variables and are checked again on the operation about to run.
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
import type { GraphqlLimits } from '../config/graphql.js';

type Variables = Readonly<Record<string, unknown>> | undefined;

function fragmentsOf(document: DocumentNode): Map<string, FragmentDefinitionNode> {
  const out = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) out.set(d.name.value, d);
  return out;
}

/**
 * Depth of every fragment, each computed once (a fragment spread twice is not walked twice: a
 * document of n fragments each spreading the next twice would otherwise cost 2^n). A fragment
 * cycle (invalid, not yet validated) counts as infinite.
 */
function fragmentDepths(fragments: Map<string, FragmentDefinitionNode>): (set: SelectionSetNode | undefined) => number {
  const memo = new Map<string, number>();
  const visiting = new Set<string>();
  const depthOf = (set: SelectionSetNode | undefined): number => {
    if (!set) return 0;
    let max = 0;
    for (const s of set.selections) {
      let d = 0;
      if (s.kind === Kind.FIELD) d = 1 + depthOf(s.selectionSet);
      else if (s.kind === Kind.INLINE_FRAGMENT) d = depthOf(s.selectionSet);
      else {
        const name = s.name.value;
        const known = memo.get(name);
        if (known !== undefined) d = known;
        else {
          const f = fragments.get(name);
          if (!f) continue;
          if (visiting.has(name)) return Infinity;
          visiting.add(name);
          d = depthOf(f.selectionSet);
          visiting.delete(name);
          memo.set(name, d);
        }
      }
      if (d > max) max = d;
      if (max === Infinity) return max;
    }
    return max;
  };
  return depthOf;
}

/**
 * Document-level limits, each linear in the document's size and checked before validation:
 * depth of every operation, aliases in the whole document, and the complexity each operation
 * has at least (lists whose size is in a variable counted once: the exact figure, which needs
 * the variables, is checked again by `checkOperation`). graphql-js' validation walks every
 * spread of a fragment, so a document that fans fragments out must be refused before it runs.
 */
export function checkDocument(document: DocumentNode, limits: Pick<GraphqlLimits, 'depth' | 'aliases'> & Partial<GraphqlLimits>): void {
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
  const depthOf = fragmentDepths(fragments);
  for (const d of document.definitions) {
    if (d.kind !== Kind.OPERATION_DEFINITION) continue;
    const depth = depthOf(d.selectionSet);
    if (depth > limits.depth) {
      const what = depth === Infinity ? 'fragments that spread each other forever' : `depth ${depth}`;
      throw new LimitError('depth', `query too deep: ${d.name ? `operation ${d.name.value} has` : 'the operation has'} ${what}, the limit is ${limits.depth}`);
    }
  }
  if (limits.complexity !== undefined && limits.listSize !== undefined) {
    const full = limits as GraphqlLimits;
    const costs = fragmentCosts(fragments, undefined, full);
    for (const d of document.definitions) {
      if (d.kind === Kind.OPERATION_DEFINITION && costs(d.selectionSet) > full.complexity) throw tooComplex(full);
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

/**
 * Cost of a selection set resolved once: each field counts once per element of the lists above
 * it. Cost is linear in how many times a set is resolved (no multiplier depends on it), so each
 * fragment's cost is computed once and multiplied where it is spread. A fragment cycle (refused
 * by the depth check already) adds nothing.
 */
function fragmentCosts(fragments: Map<string, FragmentDefinitionNode>, variables: Variables, limits: GraphqlLimits): (set: SelectionSetNode | undefined) => number {
  const memo = new Map<string, number>();
  const visiting = new Set<string>();
  const cost = (set: SelectionSetNode | undefined): number => {
    let total = 0;
    for (const s of set?.selections ?? []) {
      if (s.kind === Kind.FIELD) {
        const m = multiplier(s.arguments, variables, limits);
        total += m + m * cost(s.selectionSet);
      } else if (s.kind === Kind.INLINE_FRAGMENT) {
        total += cost(s.selectionSet);
      } else {
        const name = s.name.value;
        let c = memo.get(name);
        if (c === undefined) {
          const f = fragments.get(name);
          if (!f || visiting.has(name)) continue;
          visiting.add(name);
          c = cost(f.selectionSet);
          visiting.delete(name);
          memo.set(name, c);
        }
        total += c;
      }
    }
    return total;
  };
  return cost;
}

function tooComplex(limits: GraphqlLimits): LimitError {
  return new LimitError('complexity', `query too complex: it may resolve more than ${limits.complexity} fields (lists counted by the size asked); split it or ask for fewer SKUs or fields`);
}

/** Operation-level limits (complexity, list sizes); returns the complexity for logging. */
export function checkOperation(operation: OperationDefinitionNode, document: DocumentNode, variables: Variables, limits: GraphqlLimits): number {
  const complexity = fragmentCosts(fragmentsOf(document), variables, limits)(operation.selectionSet);
  if (complexity > limits.complexity) throw tooComplex(limits);
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
