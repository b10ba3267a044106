/**
 * What the browser tests (test/browser/) share: Debian's chromium driven by playwright-core,
 * the console's SPA built fresh for the test, and shoppers who keep asking while a test watches.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'vite';
import { chromium, type Page } from 'playwright-core';
import { REQUIRE_SERVICES } from './services.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

interface Teardown {
  teardown(fn: () => unknown): void;
}

/**
 * True when chromium is there. Otherwise `t` fails under REQUIRE_SERVICES=1 (CI) or says why it
 * skips, and the suite declares no test.
 */
export function chromiumPresent(t: { fail(msg: string): unknown; comment(msg: string): unknown }): boolean {
  if (existsSync(CHROMIUM)) return true;
  const msg = `chromium is not installed at ${CHROMIUM} (apt-get install chromium; .ci/run does)`;
  if (REQUIRE_SERVICES) t.fail(`${msg} and REQUIRE_SERVICES=1`);
  else t.comment(`${msg}; skipped (set REQUIRE_SERVICES=1 to fail instead)`);
  return false;
}

/**
 * A temporary directory (removed at teardown) with the console's SPA built into `assets` by
 * Vite's API, so a test never runs against stale assets.
 */
export async function buildConsole(t: Teardown, prefix: string): Promise<{ dir: string; assets: string }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const assets = join(dir, 'assets');
  await build({ configFile: join(process.cwd(), 'console', 'vite.config.ts'), logLevel: 'error', build: { outDir: assets, emptyOutDir: true } });
  return { dir, assets };
}

/** A laptop-sized page in a headless chromium closed at teardown, and the script errors it reports. */
export async function openPage(t: Teardown): Promise<{ page: Page; pageErrors: string[] }> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  t.teardown(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  return { page, pageErrors };
}

/**
 * Shoppers asking for `url` one after another, `pauseMs` apart, the n-th as `x-user-id:
 * shopper(n)`, until `stop()` (also at teardown). Failed requests are ignored: the test watches.
 */
export function keepShopping(t: Teardown, url: string, shopper: (n: number) => string, pauseMs: number): { stop(): Promise<void> } {
  let shopping = true;
  let n = 0;
  const traffic = (async () => {
    while (shopping) {
      await fetch(url, { headers: { 'x-user-id': shopper(n++) } }).then((r) => r.arrayBuffer(), () => undefined);
      await new Promise((r) => setTimeout(r, pauseMs));
    }
  })();
  const stop = async () => {
    shopping = false;
    await traffic;
  };
  t.teardown(stop);
  return { stop };
}
