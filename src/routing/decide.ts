/**
 * The routing decision: pure, computed once per request, shared by every surface, so one
 * request never mixes arms of a context (DESIGN §4.5).
 */
import type { Context } from 'unleash-client';
import { CONTEXTS, type ContextName } from '../config/load.js';

export type Backend = 'legacy' | 'new';
export type RoutingDecision = Readonly<Record<ContextName, Backend>>;

export const FLAG_OF: Readonly<Record<ContextName, string>> = Object.freeze({
  pricing: 'route.pricing',
  inventory: 'route.inventory',
  promotions: 'route.promotions',
});

export function decide(isEnabled: (flag: string, ctx: Context) => boolean, ctx: Context): RoutingDecision {
  return Object.freeze({
    pricing: isEnabled(FLAG_OF.pricing, ctx) ? 'new' : 'legacy',
    inventory: isEnabled(FLAG_OF.inventory, ctx) ? 'new' : 'legacy',
    promotions: isEnabled(FLAG_OF.promotions, ctx) ? 'new' : 'legacy',
  });
}

/** `x-strangler-route` value for the contexts a response touched, in a fixed order. */
export function routeHeader(decision: RoutingDecision, touched: ReadonlySet<ContextName>, fallbacks?: ReadonlySet<ContextName>): string {
  const parts: string[] = [];
  for (const c of CONTEXTS) {
    if (!touched.has(c)) continue;
    parts.push(fallbacks?.has(c) ? `${c}=legacy(fallback)` : `${c}=${decision[c]}`);
  }
  return parts.join(', ');
}
