/**
 * Decision tables (test/fixtures/decisions/*.json): for each flag definition and context, the
 * gateway's routing decision over the flag-file source equals the expected value recorded in
 * the table, which is unleash-client's own verdict, re-checked here against a fresh
 * unleash-client bootstrapped with the same definitions.
 */
import t from 'tap';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Context } from 'unleash-client';
import { createFlagProvider } from '../../src/routing/flags.js';
import { decide } from '../../src/routing/decide.js';
import { referenceUnleash } from '../helpers/flags.js';

const silent = { info() {}, warn() {}, error() {} };
const dir = new URL('../fixtures/decisions/', import.meta.url);

interface Table {
  description: string;
  flags: { version: number; features: { name: string }[] };
  cases: { context: Context; expected: Record<string, 'new' | 'legacy'> }[];
}

const files = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();
t.ok(files.length >= 4, 'decision tables present');

for (const file of files) {
  const table = JSON.parse(await readFile(new URL(file, dir), 'utf8')) as Table;
  t.test(`${file}: ${table.description}`, async (t) => {
    const flagsDir = await mkdtemp(join(tmpdir(), 'decisions-'));
    t.teardown(() => rm(flagsDir, { recursive: true, force: true }));
    await writeFile(join(flagsDir, 'flags.json'), JSON.stringify(table.flags));
    const provider = await createFlagProvider({ source: 'file', dir: flagsDir }, silent);
    t.teardown(() => provider.close());

    const reference = await referenceUnleash(t, table.flags.features as object[]);

    let news = 0;
    for (const [i, c] of table.cases.entries()) {
      const got = decide(provider.isEnabled, c.context);
      t.same(got, c.expected, `case ${i} matches the table`);
      const ref = decide((f, ctx) => reference.isEnabled(f, ctx), c.context);
      t.same(got, ref, `case ${i} matches unleash-client`);
      news += Object.values(got).filter((b) => b === 'new').length;
    }
    t.ok(news > 0 || table.cases.length === 0, 'the table exercises the new arm');
  });
}

t.test('a decision is stable for the same user across calls (stickiness)', async (t) => {
  const table = JSON.parse(await readFile(new URL('rollout-userid-30.json', dir), 'utf8')) as Table;
  const flagsDir = await mkdtemp(join(tmpdir(), 'decisions-'));
  t.teardown(() => rm(flagsDir, { recursive: true, force: true }));
  await writeFile(join(flagsDir, 'flags.json'), JSON.stringify(table.flags));
  const provider = await createFlagProvider({ source: 'file', dir: flagsDir }, silent);
  t.teardown(() => provider.close());
  for (const c of table.cases) {
    const first = decide(provider.isEnabled, c.context);
    for (let i = 0; i < 5; i++) t.same(decide(provider.isEnabled, c.context), first);
  }
  const share = table.cases.filter((c) => decide(provider.isEnabled, c.context).pricing === 'new').length / table.cases.length;
  t.ok(share > 0.1 && share < 0.6, `about 30 % of users on new pricing (got ${Math.round(share * 100)} %)`);
});
