/**
 * A flag file means what Unleash means: every case of Unleash's client specification
 * (@unleash/client-specification, the suite every Unleash SDK runs) is loaded as a flag file
 * through the real file source (the embedded default that routes contexts) and every expected
 * toggle and variant result is checked. The spec's state is written as is, as an operator would
 * paste it from Unleash (`GET /api/client/features`, or the delta API's events).
 */
import t from 'tap';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Context } from 'unleash-client';
import { createFlagProvider } from '../../src/routing/flags.js';

interface SpecCase<R> {
  description: string;
  context: Context;
  toggleName: string;
  expectedResult: R;
}
interface Spec {
  name: string;
  state: object;
  tests?: SpecCase<boolean>[];
  variantTests?: SpecCase<Record<string, unknown>>[];
}

const require = createRequire(import.meta.url);
const specDir = join(dirname(require.resolve('@unleash/client-specification/package.json')), 'specifications');
const names = JSON.parse(await readFile(join(specDir, 'index.json'), 'utf8')) as string[];
const silent = { info() {}, warn() {}, error() {} };

let toggles = 0;
let variants = 0;
for (const name of names) {
  const spec = JSON.parse(await readFile(join(specDir, name), 'utf8')) as Spec;
  t.test(spec.name, async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'unleash-spec-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    await writeFile(join(dir, name), JSON.stringify(spec.state));
    const flags = await createFlagProvider({ source: 'file', dir }, silent);
    t.teardown(() => flags.close());
    for (const c of spec.tests ?? []) {
      toggles++;
      t.equal(flags.isEnabled(c.toggleName, c.context), c.expectedResult, c.description);
    }
    for (const c of spec.variantTests ?? []) {
      variants++;
      const { featureEnabled, ...got } = flags.getVariant(c.toggleName, c.context) as unknown as Record<string, unknown>;
      // unleash-client answers both spellings; the specification names only feature_enabled
      t.equal(featureEnabled, got.feature_enabled, `${c.description}: featureEnabled agrees with feature_enabled`);
      t.same(got, c.expectedResult, c.description);
    }
  });
}

t.test('every case of the specification ran', async (t) => {
  t.equal(names.length, 22, 'the 22 specification files of @unleash/client-specification 6.1.0');
  t.equal(toggles, 227, 'toggle cases');
  t.equal(variants, 52, 'variant cases');
});
