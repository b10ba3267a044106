/**
 * Micro-benchmark of the sticky identity on the hot path (docs/stickiness.md): what a routed
 * request pays for it, per kind of client. `node --import tsx load-tests/identity-bench.ts`
 */
import { IdentityResolver, occPathIds } from '../src/routing/identity.js';
import { MemoryBindingStore } from '../src/routing/sticky-bindings.js';

const resolver = new IdentityResolver({ cookieName: 'strangler_sticky', secure: true, secret: Buffer.alloc(32, 1), ttlS: 3600 });
const store = new MemoryBindingStore();
const ua = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const minted = resolver.resolve({ headers: { 'user-agent': ua }, remoteAddress: '10.1.2.3' }).setCookie!.split(';')[0]!;
const cookie = `_ga=GA1.2.3.4; ${minted}; consent=yes`;
const cases: Record<string, { url: string; headers: Record<string, string> }> = {
  'no identity (mints the cookie)': { url: '/occ/v2/electronics-spa/products/1000004?fields=FULL', headers: { 'user-agent': ua } },
  'sticky cookie': { url: '/occ/v2/electronics-spa/products/1000004?fields=FULL', headers: { 'user-agent': ua, cookie } },
  'anonymous cart + cookie (binding lookup)': { url: '/occ/v2/electronics-spa/users/anonymous/carts/7f1c2a9e-1b7e-4a53-9a0c-3d2f0b8e4c11?fields=FULL', headers: { 'user-agent': ua, cookie } },
  'opaque bearer + cookie (binding lookup)': { url: '/occ/v2/electronics-spa/users/current/carts/00000012?fields=FULL', headers: { 'user-agent': ua, cookie, authorization: 'Bearer 1b5c3f0e-8a4d-4c1e-9f2a-7d6e5c4b3a21' } },
};
await store.set('c:7f1c2a9e-1b7e-4a53-9a0c-3d2f0b8e4c11', 'a.xyz', 60_000);

for (const [name, c] of Object.entries(cases)) {
  const run = async (n: number) => {
    for (let i = 0; i < n; i++) {
      const id = resolver.resolve({ headers: c.headers, remoteAddress: '10.1.2.3', ...occPathIds(c.url) });
      if (id.bindingKey !== undefined) {
        const to = await store.get(id.bindingKey);
        if (to !== undefined) id.effective = to;
      }
    }
  };
  await run(20_000); // warm up
  const n = 200_000;
  const t0 = process.cpuUsage();
  const w0 = performance.now();
  await run(n);
  const cpu = process.cpuUsage(t0);
  const wall = performance.now() - w0;
  console.log(`${name.padEnd(44)} ${((wall * 1000) / n).toFixed(2)} µs/request wall, ${(((cpu.user + cpu.system) / n)).toFixed(2)} µs CPU`);
}
