/**
 * Route state: what a route flag does (read from any flag definition) and how a route change
 * rewrites a flag's strategies. Pure, shared by both flag sources, the admin API and the audit
 * trail.
 */
import type { ConstraintLike, FeatureLike, RouteChange, RouteState, StrategyLike } from './flag-provider.js';

const ROLLOUT_STRATEGIES = new Set(['flexibleRollout', 'gradualRolloutUserId', 'gradualRolloutSessionId', 'gradualRolloutRandom']);

export function routeStateOf(feature: FeatureLike | undefined): RouteState {
  if (!feature) return { defined: false, enabled: false, rollout: 0, stickiness: null, constraints: [], strategies: 0 };
  const active = (feature.strategies ?? []).filter((s) => !s.disabled);
  const primary = active.find((s) => s.name === 'flexibleRollout');
  let rollout: number | null = null;
  if (primary) rollout = clampPercent(primary.parameters?.rollout);
  // Unleash semantics: an enabled flag without strategies, or with an unconstrained
  // "default" strategy, is on for everyone.
  else if (active.length === 0 || active.some((s) => s.name === 'default' && !(s.constraints ?? []).length)) rollout = 100;
  return {
    defined: true,
    enabled: feature.enabled,
    rollout,
    stickiness: primary ? String(primary.parameters?.stickiness ?? 'default') : null,
    constraints: (primary?.constraints ?? []).map(toRouteConstraint),
    strategies: active.length,
  };
}

export function clampPercent(v: unknown): number | null {
  const n = Number(v);
  return Number.isInteger(n) && n >= 0 && n <= 100 ? n : null;
}

function toRouteConstraint(c: ConstraintLike): RouteState['constraints'][number] {
  const out: RouteState['constraints'][number] = { contextName: c.contextName, operator: String(c.operator) };
  if (c.values) out.values = [...c.values];
  if (c.value !== undefined && c.value !== null) out.value = c.value instanceof Date ? c.value.toISOString() : String(c.value);
  if (c.inverted) out.inverted = true;
  if (c.caseInsensitive) out.caseInsensitive = true;
  return out;
}

/**
 * Applies a route change to a flag's strategies, pure. The first active flexibleRollout is the
 * route's rollout; without one, one is appended (existing indexes stay valid for callers that
 * update strategies by position). Every field the change does not name is kept, including
 * unknown ones. Returns the indexes of the strategies that changed.
 */
export function applyRouteChange<S extends StrategyLike>(
  flag: string,
  feature: { enabled: boolean; strategies: readonly S[] },
  change: RouteChange,
): { enabled: boolean; strategies: (S | StrategyLike)[]; changed: number[] } {
  const strategies: (S | StrategyLike)[] = feature.strategies.map((s) => ({ ...s }));
  const changed = new Set<number>();
  let primary = strategies.findIndex((s) => s.name === 'flexibleRollout' && !s.disabled);
  if (primary < 0) {
    strategies.push({ name: 'flexibleRollout', parameters: { rollout: '0', stickiness: 'default', groupId: flag }, constraints: [] });
    primary = strategies.length - 1;
  }
  const p = strategies[primary]!;
  const parameters: Record<string, unknown> = { ...p.parameters, rollout: String(change.percent) };
  if (change.stickiness) parameters.stickiness = change.stickiness;
  if (parameters.stickiness === undefined) parameters.stickiness = 'default';
  if (parameters.groupId === undefined) parameters.groupId = flag;
  let constraints = [...(p.constraints ?? [])];
  if (change.site !== undefined) {
    constraints = constraints.filter((c) => c.contextName !== 'baseSiteId');
    if (change.site !== null) constraints.push({ contextName: 'baseSiteId', operator: 'IN', values: [change.site] });
  }
  strategies[primary] = { ...p, parameters, constraints };
  changed.add(primary);
  if (change.kill) {
    // Every rollout-type strategy to 0 %, so re-enabling the flag later does not silently
    // restore a rollout someone killed.
    strategies.forEach((s, i) => {
      if (i === primary || s.disabled || !ROLLOUT_STRATEGIES.has(s.name)) return;
      const params: Record<string, unknown> = { ...s.parameters };
      if ('rollout' in params || s.name === 'flexibleRollout') params.rollout = '0';
      if ('percentage' in params) params.percentage = '0';
      strategies[i] = { ...s, parameters: params };
      changed.add(i);
    });
  }
  const enabled = change.kill ? false : change.percent > 0 ? true : feature.enabled;
  return { enabled, strategies, changed: [...changed].sort((a, b) => a - b) };
}

/** Runs tasks one at a time, so two admin writes never interleave their read-modify-write. */
export function serializer(): <T>(task: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(task: () => Promise<T>) => {
    const run = tail.then(task, task);
    tail = run.catch(() => undefined);
    return run;
  };
}

