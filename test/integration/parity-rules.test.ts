/**
 * An operator's comparison rules (SHADOW_<CTX>_IGNORE, _UNORDERED, _TOLERANCE; docs/parity.md):
 * added to the context's own policy, honoured wherever comparisons run (the gateway's loop and
 * the shadow process), shown by GET /admin/parity/<ctx> and `strangler parity`, and refused at
 * startup when they are not field patterns. Real simulators, a real value fault.
 */
import t from 'tap';
import { request } from 'undici';
import { startWorld, type World } from '../helpers/world.js';
import { loadConfig } from '../../src/config/load.js';
import { formatParity } from '../../src/cli/parity-format.js';
import type { ParityCounts } from '../../src/parity/types.js';
import type { ParityDetailResponse } from '../../src/parity/schemas.js';

const SITE = 'electronics-spa';
const TOKEN = 'parity-rules-admin-token';
const SKUS = Array.from({ length: 12 }, (_, i) => String(1000001 + i));
const ENV = { ADMIN_TOKEN: TOKEN, SHADOW_PRICING_PERCENT: '100', SHADOW_MAX_PER_SECOND: '100000', SHADOW_MAX_EVENT_LOOP_DELAY_MS: '0' };

const total = (c: ParityCounts) => c.match + c.mismatch + c.noise + c.error + c.shed;

async function compare(w: World, skewMinor: number): Promise<ParityCounts> {
  const r = await request(`${w.backends.pricing.url}/__faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ valueSkewRate: 1, valueSkewMinor: skewMinor }) });
  await r.body.dump();
  if (r.statusCode !== 200) throw new Error(`PUT /__faults: ${r.statusCode}`);
  for (const sku of SKUS) {
    const res = await w.app.inject({ url: `/api/v1/sites/${SITE}/products/${sku}` });
    if (res.statusCode !== 200) throw new Error(`read ${sku}: ${res.statusCode}`);
  }
  for (let until = Date.now() + 20_000; ; ) {
    const c = w.app.gw.parity!.counts('pricing');
    if (total(c) >= SKUS.length) return c;
    if (Date.now() > until) throw new Error(`waited for ${SKUS.length} verdicts: ${JSON.stringify(c)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const detail = async (w: World): Promise<ParityDetailResponse> => (await w.app.inject({ url: '/admin/parity/pricing', headers: { authorization: `Bearer ${TOKEN}` } })).json();

for (const isolation of ['inline', 'process'] as const) {
  t.test(`${isolation}: a price a cent off is within SHADOW_PRICING_TOLERANCE, two cents are not`, async (t) => {
    const w = await startWorld(t, {}, { ...ENV, SHADOW_ISOLATION: isolation, SHADOW_PRICING_TOLERANCE: 'prices.*.amount=1' });
    t.same((await compare(w, 1)).match, SKUS.length, 'every price a minor unit off: all match');
    const w2 = await startWorld(t, {}, { ...ENV, SHADOW_ISOLATION: isolation, SHADOW_PRICING_TOLERANCE: 'prices.*.amount=1' });
    t.same((await compare(w2, 2)).mismatch, SKUS.length, 'two minor units off: all mismatch');
    const d = await detail(w);
    t.same(d.rules, { ignore: [], unordered: [], tolerance: { 'prices.*.amount': 1 } }, 'the rules shown');
    t.match(formatParity(d), /rules: tolerance prices\.\*\.amount ±1/);
  });
}

t.test('SHADOW_PRICING_IGNORE: an ignored field is never a mismatch; without it, the same fault is', async (t) => {
  const off = await startWorld(t, {}, ENV);
  t.equal((await compare(off, 5)).mismatch, SKUS.length, 'no rule: every skewed price a mismatch');
  const w = await startWorld(t, {}, { ...ENV, SHADOW_PRICING_IGNORE: ' prices.*.amount , prices.*.note' });
  t.equal((await compare(w, 5)).match, SKUS.length, 'ignored: all match');
  t.same((await detail(w)).rules?.ignore, ['prices.*.amount', 'prices.*.note']);
  t.match(formatParity(await detail(w)), /rules: ignored prices\.\*\.amount, prices\.\*\.note/);
});

t.test('rules that are not field patterns stop the gateway at startup, naming the variable', async (t) => {
  const base = { FLAGS_DIR: '/tmp' };
  t.throws(() => loadConfig({ ...base, SHADOW_PRICING_IGNORE: 'prices.*.amount; DROP' }), /SHADOW_PRICING_IGNORE/);
  t.throws(() => loadConfig({ ...base, SHADOW_PRICING_TOLERANCE: 'prices.*.amount' }), /SHADOW_PRICING_TOLERANCE/, 'a tolerance needs =N');
  t.throws(() => loadConfig({ ...base, SHADOW_INVENTORY_UNORDERED: 'levels[],,x' }), /SHADOW_INVENTORY_UNORDERED/);
  const ok = loadConfig({ ...base, SHADOW_INVENTORY_UNORDERED: 'stock.*.warehouses[]', SHADOW_PRICING_TOLERANCE: 'prices.*.amount=1, prices.*.rate=0.005' });
  t.same(ok.shadow.rules.inventory, { ignore: [], unordered: ['stock.*.warehouses[]'], tolerance: {} });
  t.same(ok.shadow.rules.pricing?.tolerance, { 'prices.*.amount': 1, 'prices.*.rate': 0.005 });
  t.equal(ok.shadow.rules.promotions, undefined, 'a context with none has none');
});
