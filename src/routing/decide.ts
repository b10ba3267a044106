/**
 * The routing decision: pure, computed once per request, shared by every surface, so one
 * request never mixes arms of a context. It covers every context of the list
 * (src/contexts/names.ts), so it imports that bottom layer only, never the full registry.
 */
import type { Context } from 'unleash-client';
import { CONTEXTS, flagOf, type ContextName } from '../contexts/names.js';

export type Backend = 'legacy' | 'new';
/** every context of the list has its backend (a registered one too: index it with `!`) */
export type RoutingDecision = Readonly<Record<ContextName, Backend>>;

export type IsEnabled = (flag: string, ctx: Context) => boolean;

/** The backend serving one context for a flag context: its route flag on means the new service. */
export function backendOf(isEnabled: IsEnabled, context: ContextName, ctx: Context): Backend {
  return isEnabled(flagOf(context), ctx) ? 'new' : 'legacy';
}

export function decide(isEnabled: IsEnabled, ctx: Context): RoutingDecision {
  const d = {} as Record<ContextName, Backend>;
  for (const c of CONTEXTS) d[c] = backendOf(isEnabled, c, ctx);
  return Object.freeze(d);
}

/** `x-strangler-route` value for the contexts a response touched, in a fixed order. */
export function routeHeader(decision: RoutingDecision, touched: ReadonlySet<ContextName>, fallbacks?: ReadonlySet<ContextName>): string {
  const parts: string[] = [];
  for (const c of CONTEXTS) {
    if (!touched.has(c)) continue;
    parts.push(fallbacks?.has(c) ? `${c}=legacy(fallback)` : `${c}=${decision[c]!}`);
  }
  return parts.join(', ');
}
