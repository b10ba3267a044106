/**
 * The pure half of admin writes: how a route change rewrites a flag's strategies, and how a
 * flag definition reads as a route state. Both sources (files, Unleash) go through these.
 */
import t from 'tap';
import type { StrategyLike } from '../../src/routing/flag-provider.js';
import { applyRouteChange, routeStateOf } from '../../src/routing/route-state.js';

const flex = (rollout: string, extra: Partial<StrategyLike> & Record<string, unknown> = {}): StrategyLike & Record<string, unknown> => ({
  name: 'flexibleRollout',
  parameters: { rollout, stickiness: 'default', groupId: 'route.pricing' },
  constraints: [],
  ...extra,
});

t.test('route state: what a flag does, read like Unleash evaluates it', async (t) => {
  t.same(routeStateOf(undefined), { defined: false, enabled: false, rollout: 0, stickiness: null, constraints: [], strategies: 0 });
  t.match(routeStateOf({ enabled: true, strategies: [] }), { rollout: 100, stickiness: null, strategies: 0 }, 'no strategies: on for everyone');
  t.match(routeStateOf({ enabled: true, strategies: [{ name: 'default' }] }), { rollout: 100 }, 'an unconstrained default strategy: everyone');
  t.match(routeStateOf({ enabled: true, strategies: [{ name: 'userWithId', parameters: { userIds: 'a,b' } }] }), { rollout: null }, 'custom strategies: no single percentage');
  t.match(
    routeStateOf({ enabled: true, strategies: [flex('80', { disabled: true }), flex('30', { parameters: { rollout: '30', stickiness: 'sessionId' } })] }),
    { rollout: 30, stickiness: 'sessionId', strategies: 1 },
    'disabled strategies do not count',
  );
  t.match(routeStateOf({ enabled: true, strategies: [flex('abc')] }), { rollout: null }, 'a rollout that is not 0..100 is not invented');
  const d = new Date('2026-01-01T00:00:00Z');
  t.same(
    routeStateOf({ enabled: true, strategies: [flex('5', { constraints: [{ contextName: 'x', operator: 'DATE_AFTER', value: d, inverted: true, caseInsensitive: true }] })] }).constraints,
    [{ contextName: 'x', operator: 'DATE_AFTER', value: '2026-01-01T00:00:00.000Z', inverted: true, caseInsensitive: true }],
  );
});

t.test('route change: percent, stickiness, site; everything else kept', async (t) => {
  const feature = {
    enabled: false,
    strategies: [
      flex('10', {
        title: 'canary',
        segments: [3],
        constraints: [
          { contextName: 'currency', operator: 'IN', values: ['USD'] },
          { contextName: 'baseSiteId', operator: 'IN', values: ['apparel-uk'] },
        ],
      }),
      { name: 'userWithId', parameters: { userIds: 'qa-1' } },
    ],
  };
  const r = applyRouteChange('route.pricing', feature, { percent: 40, stickiness: 'userId', site: 'electronics-spa' });
  t.equal(r.enabled, true, 'a percent above 0 enables the flag');
  t.same(r.changed, [0]);
  t.same(r.strategies[0], {
    name: 'flexibleRollout',
    parameters: { rollout: '40', stickiness: 'userId', groupId: 'route.pricing' },
    title: 'canary',
    segments: [3],
    constraints: [
      { contextName: 'currency', operator: 'IN', values: ['USD'] },
      { contextName: 'baseSiteId', operator: 'IN', values: ['electronics-spa'] },
    ],
  });
  t.same(r.strategies[1], feature.strategies[1], 'other strategies untouched');
  t.equal(feature.strategies[0]!.parameters!.rollout, '10', 'the input is not mutated');

  const allSites = applyRouteChange('route.pricing', feature, { percent: 0, site: null });
  t.same(allSites.strategies[0]!.constraints, [{ contextName: 'currency', operator: 'IN', values: ['USD'] }], 'site null: only the site constraint goes');
  t.equal(allSites.enabled, false, 'percent 0 leaves enabled as it was');
  const keep = applyRouteChange('route.pricing', feature, { percent: 5 });
  t.same(keep.strategies[0]!.constraints, feature.strategies[0]!.constraints, 'site absent: constraints unchanged');
  t.equal(keep.strategies[0]!.parameters!.stickiness, 'default', 'stickiness absent: unchanged');
});

t.test('route change on a flag without a rollout strategy appends one (indexes stay valid)', async (t) => {
  const r = applyRouteChange('route.inventory', { enabled: true, strategies: [{ name: 'default', disabled: true }] }, { percent: 25 });
  t.equal(r.strategies.length, 2);
  t.same(r.changed, [1]);
  t.same(r.strategies[1], { name: 'flexibleRollout', parameters: { rollout: '25', stickiness: 'default', groupId: 'route.inventory' }, constraints: [] });
});

t.test('kill: disabled, and every rollout strategy at 0 so re-enabling restores nothing', async (t) => {
  const r = applyRouteChange(
    'route.pricing',
    {
      enabled: true,
      strategies: [flex('60'), { name: 'gradualRolloutUserId', parameters: { percentage: '30', groupId: 'g' } }, flex('90', { disabled: true }), { name: 'default' }],
    },
    { percent: 0, kill: true },
  );
  t.equal(r.enabled, false);
  t.same(r.changed, [0, 1]);
  t.equal(r.strategies[0]!.parameters!.rollout, '0');
  t.same(r.strategies[1]!.parameters, { percentage: '0', groupId: 'g' });
  t.equal(r.strategies[2]!.parameters!.rollout, '90', 'disabled strategies are left alone');
  t.equal(routeStateOf(r).enabled, false);
});
