/**
 * The shadow process (SHADOW_ISOLATION=process, docs/parity.md "Where comparisons run"): shadow
 * calls and comparisons run in a child process at the configured niceness, with upstream clients of
 * its own, so the gateway's loop makes none of those calls; a process that dies costs the
 * comparisons in flight (errors) and those sampled while it restarts (shed), never a client's
 * answer; `inline` keeps them on the gateway's loop; closing the gateway ends the process.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { request } from 'undici';
import { startWorld, type World } from '../helpers/world.js';
import type { ParityCounts } from '../../src/parity/types.js';

const SITE = 'electronics-spa';
const TOKEN = 'shadow-process-admin-token';
const AUTH = { authorization: `Bearer ${TOKEN}` };
const SKUS = Array.from({ length: 20 }, (_, i) => String(1000001 + i));
const ENV = {
  ADMIN_TOKEN: TOKEN,
  SHADOW_PRICING_PERCENT: '100',
  SHADOW_MAX_PER_SECOND: '100000',
  SHADOW_MAX_CONCURRENT: '256',
  SHADOW_MAX_EVENT_LOOP_DELAY_MS: '0',
  SHADOW_ISOLATION: 'process',
};

const total = (c: ParityCounts) => c.match + c.mismatch + c.noise + c.error + c.shed;

async function settled(w: World, n: number, timeoutMs = 30_000): Promise<ParityCounts> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const c = w.app.gw.parity!.counts('pricing');
    if (total(c) >= n) return c;
    if (Date.now() > until) throw new Error(`${total(c)} verdicts, waited for ${n}: ${JSON.stringify(c)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function faults(w: World, body: object): Promise<void> {
  const r = await request(`${w.backends.pricing.url}/__faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  await r.body.dump();
  if (r.statusCode !== 200) throw new Error(`PUT /__faults ${JSON.stringify(body)}: ${r.statusCode}`);
}

const read = async (w: World, sku: string, id = `sp-${sku}-${Math.random().toString(36).slice(2)}`) => {
  const r = await w.app.inject({ url: `/api/v1/sites/${SITE}/products/${sku}`, headers: { 'x-request-id': id } });
  return { status: r.statusCode, price: (r.json() as { price?: unknown }).price, id };
};

interface ComparedIn {
  mode: 'process' | 'inline';
  pid?: number;
  nice?: number;
}
const comparedIn = async (w: World): Promise<ComparedIn> => (await w.app.inject({ url: '/admin/parity/pricing', headers: AUTH })).json().comparedIn as ComparedIn;

/** The niceness of every thread of a process (Linux: field 19 of /proc/<pid>/task/<tid>/stat). */
function threadNices(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).map((tid) => {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
  });
}

/** Pricing calls in an exposition (the upstream histogram's count). */
function pricingCalls(exposition: string): number {
  let n = 0;
  for (const m of exposition.matchAll(/^gateway_upstream_call_duration_seconds_count\{[^}]*upstream="pricing"[^}]*\} (\d+)$/gm)) n += Number(m[1]);
  return n;
}
/** Calls the gateway's own pricing client made: its own registry, without the shadow process's. */
const gatewayPricingCalls = async (w: World) => pricingCalls(await w.app.telemetry.metrics.registry.metrics());
/** Pricing calls on /metrics: the gateway's and the shadow process's. */
const scrapedPricingCalls = async (w: World) => pricingCalls((await w.app.inject({ url: '/metrics' })).body);
const sample = (exposition: string, name: string): number | undefined => {
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(exposition);
  return m ? Number(m[1]) : undefined;
};
const promtool = spawnSync('promtool', ['--version']).error === undefined;

const linux = existsSync('/proc/self/task') ? false : 'needs Linux /proc to read thread priorities';

t.test('shadow calls run in a process of their own, every thread at the configured niceness; the gateway makes none of them', { skip: linux }, async (t) => {
  const w = await startWorld(t, {}, { ...ENV, SHADOW_PROCESS_NICE: '19' }); // pricing served by legacy: the new arm is the shadow
  const where = await comparedIn(w);
  t.equal(where.mode, 'process');
  t.ok(where.pid !== undefined && where.pid !== process.pid, `a process of its own (${where.pid})`);
  t.equal(where.nice, 19);
  const inventory = (await w.app.inject({ url: '/admin/parity/inventory', headers: AUTH })).json();
  t.same(inventory.comparedIn, { mode: 'none' }, 'a context nobody shadows is compared nowhere');
  const nices = threadNices(where.pid!);
  t.ok(nices.length > 1, `${nices.length} threads`);
  t.same([...new Set(nices)], [19], 'every thread of it at niceness 19, those node started before it lowered itself too');

  await faults(w, { valueSkewRate: 1 }); // every price of the new service off by a cent
  const reads = await Promise.all(SKUS.map((sku) => read(w, sku)));
  t.same([...new Set(reads.map((r) => r.status))], [200]);
  const c = await settled(w, SKUS.length);
  t.same(c, { match: 0, mismatch: SKUS.length, noise: 0, error: 0, shed: 0 }, 'every skewed price flagged by the shadow process');
  t.equal(await gatewayPricingCalls(w), 0, "the gateway's own pricing client made no call: the shadow process did");
  const metrics = (await w.app.inject({ url: '/metrics' })).body;
  t.ok(pricingCalls(metrics) > 0, `its calls are on the gateway's /metrics, as inline shadow calls are (${pricingCalls(metrics)}: concurrent ones coalesce)`);
  t.match(metrics, /^gateway_shadow_breaker_state\{upstream="pricing"\} 0$/m, 'its own breakers under their own name');
  t.ok((sample(metrics, 'gateway_shadow_process_cpu_seconds_total') ?? 0) > 0, 'its CPU');
  t.ok((sample(metrics, 'gateway_shadow_process_resident_memory_bytes') ?? 0) > 10e6, 'its memory');
  if (promtool) {
    const r = spawnSync('promtool', ['check', 'metrics'], { input: metrics, encoding: 'utf8' });
    t.same(`${r.stdout}${r.stderr}`.split('\n').filter(Boolean), [], 'promtool check metrics: no finding');
  }
  const detail = (await w.app.inject({ url: '/admin/parity/pricing', headers: AUTH })).json();
  const ids = new Set(reads.map((r) => r.id));
  t.ok(detail.samples.length > 0 && detail.samples.every((s: { requestId: string }) => ids.has(s.requestId)), 'samples carry the requests’ ids');
  t.same(detail.fields[0].path, 'prices.*.amount');

  await w.app.close();
  for (let i = 0; i < 150 && existsSync(`/proc/${where.pid}`); i++) await new Promise((r) => setTimeout(r, 20));
  t.notOk(existsSync(`/proc/${where.pid}`), 'closing the gateway ends the shadow process');
});

t.test('the shadow process dies: comparisons in flight are errors, those sampled while it restarts are shed, then it compares again; clients see none of it', async (t) => {
  const w = await startWorld(t, {}, { ...ENV, SHADOW_PROCESS_NICE: '0' });
  // one at a time, each compared before the next: one pricing call each (concurrent ones coalesce)
  for (const [i, sku] of SKUS.slice(0, 5).entries()) {
    await read(w, sku);
    await settled(w, i + 1);
  }
  t.equal((await settled(w, 5)).match, 5);
  const first = (await comparedIn(w)).pid!;
  t.equal(await scrapedPricingCalls(w), 5, 'its five calls scraped');

  await faults(w, { latencyMs: 3000 }); // the shadow arm answers after 3 s: five comparisons held in flight
  const held = await Promise.all(SKUS.slice(0, 5).map((sku) => read(w, sku)));
  await new Promise((r) => setTimeout(r, 300));
  process.kill(first, 'SIGKILL');
  const afterKill = await settled(w, 10);
  t.equal(afterKill.error, 5, 'the five in flight: errors, not verdicts');
  await faults(w, { latencyMs: 0 });
  const during = await Promise.all(SKUS.slice(5, 8).map((sku) => read(w, sku)));
  t.equal((await settled(w, 13)).shed, 3, 'sampled while it restarts: shed');

  let back: ComparedIn = { mode: 'inline' };
  for (let i = 0; i < 500; i++) {
    back = await comparedIn(w);
    if (back.pid !== undefined && back.pid !== first) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  t.ok(back.pid !== undefined && back.pid !== first, `restarted (${first} → ${back.pid})`);
  const again = [];
  for (const [i, sku] of SKUS.slice(8, 13).entries()) {
    again.push(await read(w, sku));
    await settled(w, 14 + i);
  }
  const c = await settled(w, 18);
  t.equal(c.match, 10, 'compared again once it is back');
  t.equal(await scrapedPricingCalls(w), 10, 'the counts of the process that died are kept: /metrics counts on from 5, never back to 0');
  t.same([...new Set([...held, ...during, ...again].map((r) => r.status))], [200], 'every client answered');
});

t.test("the new service fails under shadow load: the shadow process's breaker opens, the one clients are served through stays closed, /metrics tells them apart", async (t) => {
  const w = await startWorld(t, {}, { ...ENV, SHADOW_PROCESS_NICE: '0', BREAKER_RESET_MS: '60000' }); // pricing served by legacy: the new arm is the shadow
  await faults(w, { errorRate: 1 });
  for (const [i, sku] of SKUS.slice(0, 8).entries()) {
    t.equal((await read(w, sku)).status, 200, 'the client is served by legacy');
    await settled(w, i + 1);
  }
  const c = w.app.gw.parity!.counts('pricing');
  t.equal(c.error, 8, 'every shadow call failed: errors, not verdicts');
  const metrics = (await w.app.inject({ url: '/metrics' })).body;
  t.match(metrics, /^gateway_shadow_breaker_state\{upstream="pricing"\} 2$/m, "the shadow process's pricing breaker is open");
  t.match(metrics, /^gateway_upstream_breaker_state\{upstream="pricing"\} 0$/m, 'the gateway\'s own, which clients are served through, is closed');
  t.match(metrics, /^gateway_shadow_breaker_transitions_total\{upstream="pricing",state="open"\} 1$/m);
});

t.test('SHADOW_ISOLATION=inline (the default): no process, the gateway compares on its own loop', async (t) => {
  const { SHADOW_ISOLATION: _process, ...defaults } = ENV;
  const w = await startWorld(t, {}, defaults);
  t.same(await comparedIn(w), { mode: 'inline' });
  for (const sku of SKUS.slice(0, 5)) await read(w, sku);
  t.equal((await settled(w, 5)).match, 5);
  t.equal(await gatewayPricingCalls(w), 5, 'the shadow calls went through the gateway’s own pricing client');
});
