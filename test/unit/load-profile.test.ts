import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, compiled } from '../../load-tests/lib/paths.js';
import { category, summarizeCpu } from '../../load-tests/lib/profile.js';

// The load harness runs the gateway compiled (dist/); a profile of it names dist/ files.
const compiledUrl = (tsPath: string) => pathToFileURL(compiled(tsPath)).href;

t.test('a profile of the compiled gateway credits our own TypeScript modules', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gw-profile-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'CPU.test.cpuprofile');
  const frame = (functionName: string, url: string, lineNumber = 0) => ({ functionName, url, lineNumber, columnNumber: 0 });
  // (root) → handler (routes) → call (src) → JSON.parse-like native work; plus one undici frame
  writeFileSync(
    file,
    JSON.stringify({
      startTime: 0,
      endTime: 4000,
      nodes: [
        { id: 1, callFrame: frame('(root)', ''), children: [2, 5] },
        { id: 2, callFrame: frame('handler', compiledUrl('routes/occ/index.ts'), 10), children: [3] },
        { id: 3, callFrame: frame('call', compiledUrl('src/upstream/http.ts'), 20), children: [4] },
        { id: 4, callFrame: frame('parse', ''), children: [] },
        { id: 5, callFrame: frame('dispatch', pathToFileURL(join(ROOT, 'node_modules/undici/lib/dispatcher/client.js')).href), children: [] },
      ],
      samples: [4, 4, 3, 5],
      timeDeltas: [0, 1000, 1000, 1000, 1000],
    }),
  );
  const s = summarizeCpu(file);
  const own = Object.fromEntries(s.ownInclusive.map((r) => [r.name, r.pct]));
  t.same(Object.keys(own).sort(), ['call src/upstream/http.ts:21', 'handler routes/occ/index.ts:11'], 'named after the TypeScript sources');
  t.equal(own['handler routes/occ/index.ts:11'], 75, 'a caller includes its callees');
  t.equal(own['call src/upstream/http.ts:21'], 75);
  const cats = Object.fromEntries(s.byCategory.map((r) => [r.name, r.pct]));
  t.equal(cats['own src/upstream/http.ts'], 25);
  t.equal(cats['pkg undici'], 25);
  t.equal(category(frame('x', compiledUrl('load-tests/world.ts'))), 'own load-tests/world.ts');
});
