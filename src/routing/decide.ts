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

export type IsEnabled = (flag: string, ctx: Context) => boolean;

/** The backend serving one context for a flag context: its route flag on means the new service. */
export function backendOf(isEnabled: IsEnabled, context: ContextName, ctx: Context): Backend {
  return isEnabled(FLAG_OF[context], ctx) ? 'new' : 'legacy';
}

export function decide(isEnabled: IsEnabled, ctx: Context): RoutingDecision {
  return Object.freeze({
    pricing: backendOf(isEnabled, 'pricing', ctx),
    inventory: backendOf(isEnabled, 'inventory', ctx),
    promotions: backendOf(isEnabled, 'promotions', ctx),
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
