/**
 * Flag files: validated at boot (every problem listed), hot-reloaded within a second of a
 * change, and a broken file keeps the last good flags in force.
 */
import t from 'tap';
import { mkdtemp, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFlagProvider } from '../../src/routing/flags.js';
import { FlagFileError } from '../../src/routing/file-repository.js';
import { flagFile } from '../helpers/flags.js';

function recorder() {
  const errors: string[] = [];
  return { errors, log: { info() {}, warn() {}, error: (_o: object, msg: string) => void errors.push(msg) } };
}

async function tempDir(t: { teardown(fn: () => unknown): void }): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'flags-'));
  t.teardown(() => rm(d, { recursive: true, force: true }));
  return d;
}

const ctx = { userId: 'u-1', properties: { baseSiteId: 'electronics-spa' } };

t.test('invalid files fail at boot with every problem listed', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'a.json'), JSON.stringify({ version: 1, features: [{ name: 'route.pricing', enabled: 'yes', strategies: [] }] }));
  await writeFile(join(dir, 'b.json'), '{ not json');
  await writeFile(join(dir, 'c.json'), JSON.stringify({ version: 1, features: [{ name: 'route.inventory', enabled: true, strategies: [{ name: 'flexibleRollout', parameters: { rollout: '150' } }] }] }));
  const err = await createFlagProvider({ source: 'file', dir }, recorder().log).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.ok(err instanceof FlagFileError, 'FlagFileError');
  const problems = (err as FlagFileError).problems.join('\n');
  t.match(problems, /a\.json\/features\/0\/enabled/);
  t.match(problems, /b\.json/);
  t.match(problems, /c\.json: route\.inventory\.strategies\[0\]\.parameters\.rollout/);
});

t.test('a duplicate flag across files is rejected', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'a.json'), JSON.stringify(flagFile({ pricing: 100 })));
  await writeFile(join(dir, 'b.json'), JSON.stringify(flagFile({ pricing: 0 })));
  await t.rejects(createFlagProvider({ source: 'file', dir }, recorder().log), /already defined in a\.json/);
});

t.test('a change is picked up within 1 s without any call', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'routes.json'), JSON.stringify(flagFile({ pricing: 0 })));
  const p = await createFlagProvider({ source: 'file', dir }, recorder().log);
  t.teardown(() => p.close());
  t.equal(p.isEnabled('route.pricing', ctx), false);
  await writeFile(join(dir, 'routes.json'), JSON.stringify(flagFile({ pricing: 100 })));
  const start = Date.now();
  while (!p.isEnabled('route.pricing', ctx) && Date.now() - start < 2000) await new Promise((r) => setTimeout(r, 20));
  const took = Date.now() - start;
  t.equal(p.isEnabled('route.pricing', ctx), true, 'new flags in force');
  t.ok(took < 1000, `reloaded within 1 s (took ${took} ms)`);
});

t.test('a broken file keeps the last good flags and says why', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'routes.json'), JSON.stringify(flagFile({ pricing: 100 })));
  const rec = recorder();
  const p = await createFlagProvider({ source: 'file', dir }, rec.log);
  t.teardown(() => p.close());
  await writeFile(join(dir, 'routes.json'), '{"version": 1, "features": [');
  const start = Date.now();
  while (rec.errors.length === 0 && Date.now() - start < 2000) await new Promise((r) => setTimeout(r, 20));
  t.ok(rec.errors.length > 0, 'the rejection is logged');
  t.ok(p.lastError && /routes\.json/.test(p.lastError), `lastError names the file: ${p.lastError}`);
  t.equal(p.isEnabled('route.pricing', ctx), true, 'last good flags still in force');
  await writeFile(join(dir, 'routes.json'), JSON.stringify(flagFile({ pricing: 0 })));
  while (p.isEnabled('route.pricing', ctx) && Date.now() - start < 4000) await new Promise((r) => setTimeout(r, 20));
  t.equal(p.isEnabled('route.pricing', ctx), false, 'a fixed file is applied again');
  t.equal(p.lastError, undefined, 'and the error clears');
});

t.test('unknown flags evaluate to legacy', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'other.json'), JSON.stringify({ version: 1, features: [] }));
  const p = await createFlagProvider({ source: 'file', dir }, recorder().log);
  t.teardown(() => p.close());
  t.equal(p.isEnabled('route.pricing', ctx), false);
});

t.test('one change is loaded once, however many reloads ask for it', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'routes.json'), JSON.stringify(flagFile({ pricing: 0 })));
  const rec = recorder();
  const loaded: string[] = [];
  const log = { ...rec.log, info: (_o: object, msg: string) => void loaded.push(msg) };
  const p = await createFlagProvider({ source: 'file', dir }, log);
  t.teardown(() => p.close());
  await new Promise((r) => setTimeout(r, 50));
  loaded.length = 0;
  await writeFile(join(dir, 'routes.json'), JSON.stringify(flagFile({ pricing: 100 })));
  // the writer's reload, a second caller's and the poll's (within 1.2 s) all see the same change
  await Promise.all([p.reload!(), p.reload!()]);
  t.equal(p.isEnabled('route.pricing', ctx), true, 'the change is in force when reload() resolves');
  await new Promise((r) => setTimeout(r, 1200));
  t.same(loaded, ['flags loaded'], 'listeners heard of the change once');
  await writeFile(join(dir, 'routes.json'), JSON.stringify(flagFile({ pricing: 50 })));
  await p.reload!();
  t.same(loaded, ['flags loaded', 'flags loaded'], 'the next change is loaded too');
});

t.test('a reload reads the files even when size and mtime look unchanged', async (t) => {
  // a filesystem with coarse mtimes: a rewrite within the same tick keeps size and mtime
  const dir = await tempDir(t);
  const file = join(dir, 'routes.json');
  const second = 1_700_000_000;
  await writeFile(file, JSON.stringify(flagFile({ pricing: 10 })));
  await utimes(file, second, second);
  const p = await createFlagProvider({ source: 'file', dir }, recorder().log);
  t.teardown(() => p.close());
  const before = await stat(file);
  await writeFile(file, JSON.stringify(flagFile({ pricing: 90 })));
  await utimes(file, second, second);
  const after = await stat(file);
  t.same([after.size, after.mtimeMs], [before.size, before.mtimeMs], 'same size and mtime');
  await p.reload!();
  const rollout = (p.definitions().find((d) => d.name === 'route.pricing')?.strategies?.[0]?.parameters as Record<string, unknown> | undefined)?.rollout;
  t.equal(String(rollout), '90', 'the rewrite is in force');
});

t.test('files that load again clear the error, even with the flags already in force', async (t) => {
  const dir = await tempDir(t);
  const good = JSON.stringify(flagFile({ pricing: 100 }));
  await writeFile(join(dir, 'routes.json'), good);
  const rec = recorder();
  const p = await createFlagProvider({ source: 'file', dir }, rec.log);
  t.teardown(() => p.close());
  await writeFile(join(dir, 'routes.json'), '{"version": 1, "features": [');
  const start = Date.now();
  while (!p.lastError && Date.now() - start < 2000) await new Promise((r) => setTimeout(r, 20));
  t.ok(p.lastError, 'the broken file is reported');
  await writeFile(join(dir, 'routes.json'), good);
  const again = Date.now();
  while (p.lastError && Date.now() - again < 2000) await new Promise((r) => setTimeout(r, 20));
  t.equal(p.lastError, undefined, 'no error once the files load again');
  t.equal(rec.errors.length, 1, 'the broken file was reported once, not on every poll');
});

t.test('a flag file in the delta API shape loads, and an admin write keeps its meaning', async (t) => {
  const dir = await tempDir(t);
  const feature = (name: string, rollout: number) => ({
    name,
    description: null,
    enabled: true,
    strategies: [{ name: 'flexibleRollout', parameters: { rollout: String(rollout), stickiness: 'default', groupId: name }, constraints: [] }],
  });
  await writeFile(
    join(dir, 'routes.json'),
    JSON.stringify({
      events: [
        { eventId: 1, type: 'hydration', features: [feature('route.pricing', 0), feature('route.inventory', 100)], segments: [] },
        { eventId: 2, type: 'feature-updated', feature: feature('route.promotions', 100) },
        { eventId: 3, type: 'feature-removed', featureName: 'route.inventory' },
      ],
    }),
  );
  const p = await createFlagProvider({ source: 'file', dir }, recorder().log);
  t.teardown(() => p.close());
  t.equal(p.isEnabled('route.promotions', ctx), true, 'a feature-updated event is in force');
  t.equal(p.isEnabled('route.inventory', ctx), false, 'a feature-removed event removes the flag');
  await p.setRoute('route.pricing', { percent: 100 });
  t.equal(p.isEnabled('route.pricing', ctx), true, 'the admin change is in force');
  t.equal(p.isEnabled('route.promotions', ctx), true, 'the rewritten file keeps the other flags');
  t.equal(p.isEnabled('route.inventory', ctx), false, 'and does not bring back a removed one');
});

t.test('an operator unleash-client does not know loads, never matches, and is warned about', async (t) => {
  const dir = await tempDir(t);
  const file = flagFile({ pricing: 100 }, { constraints: [{ contextName: 'baseSiteId', operator: 'IS_ONE_OF' as 'IN', values: ['electronics-spa'] }] });
  await writeFile(join(dir, 'routes.json'), JSON.stringify(file));
  const warnings: object[] = [];
  const p = await createFlagProvider({ source: 'file', dir }, { ...recorder().log, warn: (o: object) => void warnings.push(o) });
  t.teardown(() => p.close());
  t.equal(p.isEnabled('route.pricing', ctx), false, 'the constraint does not match, as in Unleash');
  t.match(warnings, [{ event: 'flags.unknown_operator', constraints: ['route.pricing.strategies[0]: IS_ONE_OF'] }]);
});

t.test('a deleted flag file keeps the last good flags and reports them stale, at warn', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'routes.json'), JSON.stringify(flagFile({ pricing: 100 })));
  const warnings: { event?: string }[] = [];
  const rec = recorder();
  const p = await createFlagProvider({ source: 'file', dir }, { ...rec.log, warn: (o: object) => void warnings.push(o) });
  t.teardown(() => p.close());
  await rm(join(dir, 'routes.json'));
  const start = Date.now();
  while (!p.lastError && Date.now() - start < 3000) await new Promise((r) => setTimeout(r, 20));
  t.match(p.lastError, /routes\.json.*deleted/, `stale, and says which file: ${p.lastError}`);
  t.equal(p.isEnabled('route.pricing', ctx), true, 'the last good flags still route pricing to the new service');
  t.match(warnings, [{ event: 'flags.file_deleted' }], 'logged at warn');
  t.same(rec.errors, [], 'not as an error');
  await t.rejects(p.setRoute('route.inventory', { percent: 10 }), { status: 409, code: 'GW_ERR_ADMIN_FLAG_WRITE_FAILED' }, 'an admin write is refused until the files are whole');
  await writeFile(join(dir, 'routes.json'), JSON.stringify(flagFile({ pricing: 0 })));
  const again = Date.now();
  while ((p.lastError || p.isEnabled('route.pricing', ctx)) && Date.now() - again < 3000) await new Promise((r) => setTimeout(r, 20));
  t.equal(p.lastError, undefined, 'restoring the file clears the error');
  t.equal(p.isEnabled('route.pricing', ctx), false, 'and its flags are in force');
});

t.test('a flag file renamed or merged into another is not a deletion', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'a.json'), JSON.stringify(flagFile({ pricing: 100 })));
  const p = await createFlagProvider({ source: 'file', dir }, recorder().log);
  t.teardown(() => p.close());
  await writeFile(join(dir, 'b.json'), JSON.stringify(flagFile({ pricing: 0 })));
  await rm(join(dir, 'a.json'));
  await p.reload!();
  t.equal(p.lastError, undefined, 'no error');
  t.equal(p.isEnabled('route.pricing', ctx), false, 'the flags of b.json are in force');
});

t.test('a deleted flag directory keeps the last good flags too', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'routes.json'), JSON.stringify(flagFile({ pricing: 100 })));
  const p = await createFlagProvider({ source: 'file', dir }, recorder().log);
  t.teardown(() => p.close());
  await rm(dir, { recursive: true });
  const start = Date.now();
  while (!p.lastError && Date.now() - start < 3000) await new Promise((r) => setTimeout(r, 20));
  t.match(p.lastError, /deleted|gone/);
  t.equal(p.isEnabled('route.pricing', ctx), true);
});
