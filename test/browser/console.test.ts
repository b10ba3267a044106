/**
 * The operator console in a real browser (Debian's chromium driven by playwright-core) against
 * the embedded world: log in, watch traffic move when the CLI flips a context, kill the context
 * from the console and see the next request go to legacy, the kill in the audit trail under the
 * operator's name, the rollout and parity panels read from the admin API, and the
 * "gateway unreachable" state once the gateway goes away. Every wait is for a condition.
 *
 * The SPA is built for the test (Vite's API, into a temporary directory), so the test never
 * runs against stale assets. UPDATE_SCREENSHOTS=1 writes docs/img/console.png.
 */
import t from 'tap';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startWorld } from '../helpers/world.js';
import { buildConsole, chromiumPresent, keepShopping, openPage } from '../helpers/browser.js';
import { run as strangler } from '../../src/cli/main.js';
import type { AuditResponse } from '../../src/admin/schemas.js';

const TOKEN = 'console-admin-token-0123456789';
const PRODUCT = '/api/v1/sites/electronics-spa/products/1000001';

t.setTimeout(120_000);

if (chromiumPresent(t)) {
  t.test('log in, see a CLI flip move traffic, kill from the console', async (t) => {
    const { dir, assets } = await buildConsole(t, 'strangler-console-');

    const w = await startWorld(t, {}, { ADMIN_TOKEN: TOKEN, AUDIT_LOG_PATH: join(dir, 'audit.jsonl'), CONSOLE_ASSETS_DIR: assets });
    await w.app.listen({ host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${(w.app.server.address() as { port: number }).port}`;

    const { page, pageErrors } = await openPage(t);

    // shoppers keep asking while the test watches the console
    const shoppers = keepShopping(t, `${base}${PRODUCT}`, (n) => `shopper-${n % 50}`, 20);

    // ---- login: a wrong token is refused on the form, the right one opens the console
    const t0 = Date.now(); const mark = (s: string) => t.comment(`${s} ${Date.now() - t0} ms`);
    await page.goto(`${base}/console/`);
    await page.getByLabel('Your name').fill('alice');
    await page.getByLabel('Admin token').fill('not-the-admin-token-at-all');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.locator('#login-error', { hasText: 'Wrong admin token' }).waitFor();
    await page.getByLabel('Admin token').fill(TOKEN);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.locator('#actor', { hasText: 'alice' }).waitFor();
    await page.locator('#connection-state[data-state="live"]').waitFor();

    // everything on legacy first: the pricing panel shows it
    await page.locator('[data-testid="share-legacy-pricing"]', { hasText: '100 %' }).waitFor();
    t.equal(await page.locator('[data-testid="share-new-pricing"]').textContent(), '0 %');
    // rollouts and parity are on the gateway: no rollout yet (the start form), no shadowing (0 %)
    await page.locator('#steps-pricing').waitFor();
    await page.locator('[data-testid="parity-counts-pricing"]', { hasText: 'shadow 0 %' }).waitFor();

    mark('logged in');
    // gateway events reach the page as they happen (SSE), with their context and actor
    w.app.gw.events.emit('parity.alarm', { mismatchRate: 0.25, window: '1m' }, { context: 'pricing', actor: 'gateway' });
    await page.locator('#events li', { hasText: 'parity.alarm pricing by gateway' }).waitFor();
    // ---- the CLI flips pricing to 100 %: the panel's route and share follow, live
    const out: string[] = [];
    const code = await strangler(['route', 'pricing', '--percent', '100', '--reason', 'canary ok', '--actor', 'bob'], { GATEWAY_URL: base, ADMIN_TOKEN: TOKEN }, { out: (s) => out.push(s), err: (s) => out.push(s) });
    t.equal(code, 0, out.join('\n'));
    await page.locator('#route-pricing', { hasText: '100 %' }).waitFor();
    await page.waitForFunction(() => parseFloat(document.querySelector('[data-testid="share-new-pricing"]')?.textContent ?? '0') > 0);
    // the audit trail shows the CLI's change under its actor
    await page.locator('#audit-rows tr[data-context="pricing"][data-action="route"] td.actor', { hasText: 'bob' }).waitFor();

    mark('flipped');
    // ---- kill pricing from the console: asks for a reason, confirms, goes through the admin API
    await page.locator('#kill-pricing').click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Reason').fill('errors on the new pricing service');
    await dialog.getByRole('button', { name: 'Kill' }).click();
    await page.locator('#action-status-pricing', { hasText: 'Kill: done.' }).waitFor();
    const r = await fetch(`${base}${PRODUCT}`, { headers: { 'x-user-id': 'after-kill' } });
    t.match(r.headers.get('x-strangler-route'), /pricing=legacy/, 'the next request goes to legacy');
    // killed by the admin kill (flag off) or, on a gateway with kill overrides, by an override
    await page.locator('#route-pricing', { hasText: 'off (legacy)' }).or(page.locator('#override-pricing:not([hidden])')).waitFor();
    await page.locator('#audit-rows tr[data-context="pricing"] td.actor', { hasText: 'alice' }).waitFor();
    const audit = (await w.app.inject({ url: '/admin/audit?context=pricing', headers: { authorization: `Bearer ${TOKEN}` } })).json<AuditResponse>();
    t.match(audit.entries[0], { context: 'pricing', actor: 'alice', reason: 'errors on the new pricing service' }, 'recorded under the operator');

    if (process.env.UPDATE_SCREENSHOTS === '1') {
      await page.waitForFunction(() => parseFloat(document.querySelector('[data-testid="share-legacy-pricing"]')?.textContent ?? '0') > 0);
      await mkdir(join(process.cwd(), 'docs', 'img'), { recursive: true });
      await page.screenshot({ path: join(process.cwd(), 'docs', 'img', 'console.png'), fullPage: true });
    }

    mark('killed');
    // ---- the flag source fails: the console says routing runs on the last known flags
    await t.rejects(w.setFlags({ version: 1, features: 'not a list' }), /features/);
    await page.locator('#flags-state[data-stale="true"]', { hasText: 'flag files are failing' }).waitFor();
    mark('stale flags shown');

    // ---- the gateway goes away: the console says so instead of showing stale numbers as live
    await shoppers.stop();
    await w.app.close();
    mark('closed');
    await page.locator('#connection-state[data-state="unreachable"]').waitFor();
    mark('unreachable');
    t.same(pageErrors, [], 'no script errors on the page');
  });
}
