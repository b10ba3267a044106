/**
 * The context registry's rules: the shipped list, what a name derives (flag, env keys), and the
 * checks that keep a registration from silently shadowing another context.
 */
import t from 'tap';
import { CONTEXTS, checkedName, defineIdentity, embeddedPorts, flagOf, isContextName } from '../../src/contexts/names.js';
import { contexts, registerContext } from '../../src/contexts/registry.js';
import { describeContext } from '../../src/contexts/descriptor.js';
import { envSchema } from '../../src/config/schema.js';
import { decide } from '../../src/routing/decide.js';

const noPort = { legacy: () => ({}), new: () => ({}) };

t.test('the shipped contexts, their flags, env keys and embedded ports', async (t) => {
  t.same([...CONTEXTS], ['pricing', 'inventory', 'promotions']);
  t.same(contexts().map((d) => [d.name, d.flag, d.upstream.urlEnv, d.upstream.timeoutEnv]), [
    ['pricing', 'route.pricing', 'PRICING_URL', 'PRICING_TIMEOUT_MS'],
    ['inventory', 'route.inventory', 'INVENTORY_URL', 'INVENTORY_TIMEOUT_MS'],
    ['promotions', 'route.promotions', 'PROMOTIONS_URL', 'PROMOTIONS_TIMEOUT_MS'],
  ]);
  t.same(embeddedPorts(), { legacy: 8081, pricing: 8082, inventory: 8083, promotions: 8084 });
});

t.test('a registration clashing with a context is refused; a good one reaches every layer', async (t) => {
  t.throws(() => registerContext(describeContext(defineIdentity(checkedName('pricing'), 8190), { description: 'x', port: noPort })), /already registered/);
  t.throws(() => registerContext(describeContext(defineIdentity(checkedName('fees'), 8082), { description: 'x', port: noPort })), /clashes with "pricing"/, 'same embedded port');
  t.throws(() => checkedName('Fees'), /must match/);
  t.throws(() => checkedName('catalog'), /reserved/);

  const fees = registerContext(describeContext(defineIdentity(checkedName('gift-wrap'), 8191), { description: 'gift wrapping', port: noPort }));
  t.ok(isContextName('gift-wrap'));
  t.equal(flagOf(fees.name), 'route.gift-wrap');
  const keys = Object.keys(envSchema().properties);
  t.ok(keys.includes('GIFT_WRAP_URL') && keys.includes('GIFT_WRAP_TIMEOUT_MS'), 'env keys derived');
  const d = decide((flag) => flag === 'route.gift-wrap', {});
  t.same(d, { pricing: 'legacy', inventory: 'legacy', promotions: 'legacy', 'gift-wrap': 'new' }, 'the decision covers it');
});
