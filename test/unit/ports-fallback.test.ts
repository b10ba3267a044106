/**
 * The fallback arm of a context (src/composition/ports.ts): one wrapper, built at startup, serves
 * every request, so whatever it records must land on the scope of the request that failed, and
 * every method of the new arm must be covered, inherited ones included.
 */
import t from 'tap';
import { GatewayError } from '../../src/errors.js';
import { withFallback, type Arms } from '../../src/composition/ports.js';
import { Scope } from '../../src/upstream/scope.js';
import type { RoutingDecision } from '../../src/routing/decide.js';

const NEW: RoutingDecision = Object.freeze({ pricing: 'new', inventory: 'new', promotions: 'new' });

interface Lines {
  warn: object[];
}
function scope(lines: Lines = { warn: [] }): Scope {
  return new Scope(NEW, { 'x-request-id': 'r' }, { info() {}, warn: (o: object) => lines.warn.push(o), error() {} });
}

interface PricesPort {
  prices(scope: Scope, sku: string): Promise<string>;
  single(scope: Scope, sku: string): Promise<string>;
  readonly label: string;
}

class BaseNewPricing {
  // inherited by the arm below: must be wrapped too
  async single(_scope: Scope, sku: string): Promise<string> {
    if (sku === 'boom') throw new GatewayError(503, 'GW_ERR_UPSTREAM_UNAVAILABLE', 'pricing upstream (new) is unavailable', { context: 'pricing', backend: 'new' });
    return `new:${sku}`;
  }
}
class NewPricing extends BaseNewPricing implements PricesPort {
  readonly label = 'new arm';
  calls = 0;
  async prices(_scope: Scope, sku: string): Promise<string> {
    this.calls++; // `this` is the arm itself, not the wrapper
    if (sku === 'boom') throw new GatewayError(502, 'GW_ERR_UPSTREAM_FAILED', 'pricing upstream (new) failed with status 500', { context: 'pricing', backend: 'new' });
    if (sku === 'bad') throw new GatewayError(400, 'GW_ERR_REQUEST_INVALID', 'unknown currency');
    return `new:${sku}`;
  }
}
const legacy: PricesPort = {
  label: 'legacy arm',
  prices: async (_s, sku) => `legacy:${sku}`,
  single: async (_s, sku) => `legacy-single:${sku}`,
};

function arms(): { arms: Arms<PricesPort>; fresh: NewPricing; events: { context: string; code: string }[]; port: PricesPort } {
  const fresh = new NewPricing();
  const a: Arms<PricesPort> = { legacy, new: fresh };
  const events: { context: string; code: string }[] = [];
  return { arms: a, fresh, events, port: withFallback('pricing', a, (e) => events.push({ context: e.context, code: e.code })) };
}

t.test('a failed new-arm call is answered by legacy and marked on that request only', async (t) => {
  const { port, events, fresh } = arms();
  const failingLines: Lines = { warn: [] };
  const failing = scope(failingLines);
  const fine = scope();
  const [a, b] = await Promise.all([port.prices(failing, 'boom'), port.prices(fine, 'A1')]);
  t.equal(a, 'legacy:boom', 'legacy answers the failed call');
  t.equal(b, 'new:A1', 'the concurrent request is still served by new');
  t.same([...failing.fallbacks], ['pricing'], 'the failing request says pricing=legacy(fallback)');
  t.same([...fine.fallbacks], [], 'the other request, sharing the same wrapper, is not marked');
  t.match(failingLines.warn, [{ event: 'fallback', context: 'pricing', code: 'GW_ERR_UPSTREAM_FAILED' }], 'the fallback is logged on the failing request');
  t.same(events, [{ context: 'pricing', code: 'GW_ERR_UPSTREAM_FAILED' }], 'and counted once');
  t.equal(fresh.calls, 2, 'methods run with the new arm as `this`');
});

t.test('inherited methods are covered; a client error is not fallen back; properties read through', async (t) => {
  const { port } = arms();
  const s = scope();
  t.equal(await port.single(s, 'boom'), 'legacy-single:boom', 'a method of a base class falls back too');
  t.same([...s.fallbacks], ['pricing']);
  const s2 = scope();
  await t.rejects(port.prices(s2, 'bad'), { code: 'GW_ERR_REQUEST_INVALID' }, 'a 4xx is the caller’s error, not upstream trouble');
  t.same([...s2.fallbacks], [], 'and leaves no fallback mark');
  t.equal(port.label, 'new arm', 'non-method properties are the new arm’s');
});

t.test('the wrapper is the same object for every request', async (t) => {
  const { port } = arms();
  const first = port.prices;
  await port.prices(scope(), 'A1');
  t.equal(port.prices, first, 'no per-request wrapping');
});

t.test("another context's failure inside a call is not this context's fallback", async (t) => {
  // The new promotions engine asks the pricing port for unit prices: when new pricing fails,
  // that is pricing's failure (pricing has its own fallback), not a reason to move promotions
  // to legacy and say `promotions=legacy(fallback)`.
  interface Evaluate {
    evaluate(scope: Scope, sku: string): Promise<string>;
  }
  const fresh: Evaluate = {
    evaluate: async (_s, sku) => {
      if (sku === 'pricing-down') throw new GatewayError(503, 'GW_ERR_UPSTREAM_UNAVAILABLE', 'pricing upstream (new) is unavailable', { context: 'pricing', backend: 'new' });
      if (sku === 'promotions-down') throw new GatewayError(503, 'GW_ERR_UPSTREAM_UNAVAILABLE', 'promotions upstream (new) is unavailable', { context: 'promotions', backend: 'new' });
      return `new:${sku}`;
    },
  };
  const events: string[] = [];
  const port = withFallback<Evaluate>('promotions', { legacy: { evaluate: async (_s, sku) => `legacy:${sku}` }, new: fresh }, (e) => events.push(e.context));
  const s = scope();
  await t.rejects(port.evaluate(s, 'pricing-down'), { code: 'GW_ERR_UPSTREAM_UNAVAILABLE', context: 'pricing' }, "pricing's failure reaches the caller");
  t.same([...s.fallbacks], [], 'promotions is not marked as fallen back');
  const s2 = scope();
  t.equal(await port.evaluate(s2, 'promotions-down'), 'legacy:promotions-down', "the context's own failure still falls back");
  t.same([...s2.fallbacks], ['promotions']);
  t.same(events, ['promotions'], 'only the real fallback is counted');
});
