/**
 * The console against the real rollout and parity endpoints (issue 23: "see a rollback caused by
 * an injected fault"), in Debian's chromium driven by playwright-core on the embedded world:
 * pricing shadowed at 100 %, the parity panel shows the comparison counts of /admin/parity; a
 * rollout of pricing is started from the console (steps, hold, reason, confirm), an error fault
 * is injected into the new pricing service (PUT /__faults on the simulator), shoppers keep
 * asking, and the console shows the rollout rolled_back with the breached guardrail named.
 * The controller runs on its own clock (ROLLOUT_TICK_MS); every wait is for a condition.
 */
import t from 'tap';
import { join } from 'node:path';
import { startWorld } from '../helpers/world.js';
import { buildConsole, chromiumPresent, keepShopping, openPage } from '../helpers/browser.js';
import type { AuditResponse } from '../../src/admin/schemas.js';
import type { RolloutState } from '../../src/rollout/schemas.js';
import type { ParityListResponse } from '../../src/parity/schemas.js';

const TOKEN = 'console-admin-token-0123456789';
const AUTH = { authorization: `Bearer ${TOKEN}` };
const PRODUCT = '/api/v1/sites/electronics-spa/products/1000001';

t.setTimeout(120_000);

if (chromiumPresent(t)) {
  t.test('start a rollout from the console, inject a fault, see the rollback and the parity counts', async (t) => {
    const { dir, assets } = await buildConsole(t, 'strangler-console-rollout-');

    const w = await startWorld(t, {}, {
      ADMIN_TOKEN: TOKEN,
      AUDIT_LOG_PATH: join(dir, 'audit.jsonl'),
      CONSOLE_ASSETS_DIR: assets,
      // every pricing read is also asked of the new service and compared
      SHADOW_PRICING_PERCENT: '100',
      SHADOW_MAX_PER_SECOND: '100000',
      SHADOW_MAX_CONCURRENT: '256',
      SHADOW_MAX_EVENT_LOOP_DELAY_MS: '0', // parity counted from the first reads: no shedding on a busy test machine
      // small minimum samples so a few shoppers are enough to judge; the controller ticks by itself
      ROLLOUT_MIN_SAMPLES: '5',
      ROLLOUT_TICK_MS: '250',
      // millisecond latencies of two in-process arms under a busy CPU are noise, not a regression
      ROLLOUT_P99_FLOOR_MS: '1000',
    });
    await w.app.listen({ host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${(w.app.server.address() as { port: number }).port}`;

    const { page, pageErrors } = await openPage(t);

    const shoppers = keepShopping(t, `${base}${PRODUCT}`, (n) => `shopper-${n}`, 10);
    const t0 = Date.now();
    const mark = (s: string) => t.comment(`${s} ${Date.now() - t0} ms`);

    await page.goto(`${base}/console/`);
    await page.getByLabel('Your name').fill('alice');
    await page.getByLabel('Admin token').fill(TOKEN);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.locator('#connection-state[data-state="live"]').waitFor();
    mark('logged in');

    // ---- parity: the panel renders /admin/parity's counts for pricing, shadowed at 100 %
    const counts = page.locator('[data-testid="parity-counts-pricing"]');
    await counts.waitFor({ timeout: 30_000 });
    await page.waitForFunction(() => /match (\d+)/.exec(document.querySelector('[data-testid="parity-counts-pricing"]')?.textContent ?? '')?.[1] !== '0', undefined, { timeout: 30_000 });
    const shown = (await counts.textContent()) ?? '';
    t.match(shown, /^shadow 100 % · match \d+ · mismatch 0 · noise 0 · error 0 · shed \d+$/, `parity panel: ${shown}`);
    const parity = (await w.app.inject({ url: '/admin/parity', headers: AUTH })).json<ParityListResponse>();
    const pricing = parity.contexts.find((c) => c.context === 'pricing')!;
    const shownMatch = Number(/match (\d+)/.exec(shown)![1]);
    t.ok(shownMatch > 0 && shownMatch <= pricing.counts.match, `the panel's match count (${shownMatch}) is the endpoint's, at most as new (${pricing.counts.match} now)`);
    t.equal(pricing.counts.mismatch, 0, 'no fault yet: no mismatch');
    mark(`parity shown (${shown})`);

    // ---- start a rollout of pricing from the console: steps, a hold, a reason, a confirmation
    await page.locator('#steps-pricing').fill('10,50,100');
    await page.locator('#hold-pricing').fill('10m'); // held at 10 % for the whole test: only a breach moves it
    // this rollout's own limits, as the CLI takes them: a wrong name is refused before anything is sent
    await page.locator('#guardrails-pricing').fill('latency=2');
    await page.getByRole('form', { name: 'Start a rollout of pricing' }).getByRole('button', { name: 'Start…' }).click();
    await page.locator('#action-status-pricing', { hasText: 'Guardrails: no guardrail "latency"' }).waitFor();
    t.equal((await w.app.inject({ url: '/admin/rollouts/pricing', headers: AUTH })).statusCode, 404, 'nothing started');
    await page.locator('#guardrails-pricing').fill('p99Ratio=3:500');
    await page.locator('#p99-floor-pricing').fill('250');
    await page.getByRole('form', { name: 'Start a rollout of pricing' }).getByRole('button', { name: 'Start…' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Reason').fill('pricing service GA, first step');
    await dialog.getByRole('button', { name: 'Start' }).click();
    await page.locator('#action-status-pricing', { hasText: 'Start: done.' }).waitFor();
    await page.locator('[data-testid="rollout-status-pricing"]', { hasText: 'running at 10 %' }).waitFor({ timeout: 15_000 });
    const started = (await w.app.inject({ url: '/admin/rollouts/pricing', headers: AUTH })).json<RolloutState>();
    t.match(started, { status: 'running', steps: [10, 50, 100], holdMs: 600_000, actor: 'alice', history: [{ type: 'started', percent: 10, actor: 'alice', reason: 'pricing service GA, first step' }] }, 'started as the operator, through the admin API');
    t.match(started, { limits: { p99Ratio: { threshold: 3, minSamples: 500 }, p99FloorMs: 250 } }, "with the rollout's own limits");
    await page.locator('#rollout-pricing tr[data-guardrail="fallbackRate"]').waitFor();
    const p99Row = (await page.locator('#rollout-pricing tr[data-guardrail="p99Ratio"]').innerText()).replace(/\s+/g, ' ');
    t.match(p99Row, /3× \(floor 250 ms\) \d+\/500/, `the console shows them: ${p99Row}`);
    mark('rollout started');

    // ---- the new pricing service starts failing every request
    const f = await fetch(`${w.backends.pricing.url}/__faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ errorRate: 1 }) });
    t.equal(f.status, 200, 'fault injected');
    const faultAt = Date.now();

    // ---- shoppers keep asking: the controller rolls back, the console shows it and names the guardrail
    await page.locator('[data-testid="rollout-status-pricing"]', { hasText: 'rolled_back at 0 %' }).waitFor({ timeout: 40_000 });
    const fault2shown = Date.now() - faultAt;
    const text = (await page.locator('[data-testid="rollout-status-pricing"]').textContent()) ?? '';
    const s = (await w.app.inject({ url: '/admin/rollouts/pricing', headers: AUTH })).json<RolloutState>();
    t.equal(s.status, 'rolled_back');
    t.equal(s.percent, 0);
    const breached: string[] = s.guardrails.filter((g) => g.ok === false).map((g) => g.name);
    t.ok(breached.length > 0, `a guardrail breached: ${breached.join(', ')}`);
    t.match(s.reason, new RegExp(`^rolled back at 10 %: (${breached.join('|')}) `), 'the reason names a breached guardrail');
    const named = /rolled back at 10 %: (\w+) /.exec(text)?.[1];
    t.ok(named && breached.includes(named), `the console names the guardrail: ${text}`);
    await page.locator(`#rollout-pricing tr[data-guardrail="${named}"][data-state="breached"]`).waitFor();
    const row = (await page.locator(`#rollout-pricing tr[data-guardrail="${named}"]`).innerText()).replace(/\s+/g, ' ');
    t.comment(`rollback shown ${fault2shown} ms after the fault: ${text} | ${row}`);
    // routing is back on legacy: the next shopper gets legacy
    await page.locator('#route-pricing', { hasText: '0 %' }).waitFor();
    const r = await fetch(`${base}${PRODUCT}`, { headers: { 'x-user-id': 'after-rollback' } });
    t.match(r.headers.get('x-strangler-route'), /pricing=legacy/, 'the next request goes to legacy');
    // the audit trail lists the controller's steps: to 10 % for the operator's start, then back to 0 %
    await page.locator('#audit-rows tr[data-context="pricing"] td.actor', { hasText: 'rollout-controller' }).first().waitFor();
    const audit = (await w.app.inject({ url: '/admin/audit?context=pricing', headers: AUTH })).json<AuditResponse>();
    t.match(audit.entries[0], { actor: 'rollout-controller', after: { rollout: 0 } }, 'the rollback in the audit trail');
    t.ok(audit.entries.some((e) => e.after.rollout === 10), 'the first step in the audit trail');
    // with the new service failing, the shadow comparisons count errors, and the panel shows them
    await page.waitForFunction(() => /error (\d+)/.exec(document.querySelector('[data-testid="parity-counts-pricing"]')?.textContent ?? '')?.[1] !== '0', undefined, { timeout: 30_000 });
    mark(`parity errors shown (${await counts.textContent()})`);

    await shoppers.stop();
    t.same(pageErrors, [], 'no script errors on the page');
  });
}
