/**
 * What crosses to the shadow process (src/parity/shadow-process.ts): only arguments JSON keeps as
 * they are (else the job is compared inline), and only the node flags that are not the gateway's
 * alone (an inspector port, a profile, a compiled gateway's preloads).
 */
import t from 'tap';
import { inheritedExecArgv, plainData } from '../../src/parity/shadow-process.js';

t.test('plainData: what JSON carries unchanged', async (t) => {
  t.ok(plainData([{ uid: 'electronics-spa', currency: 'USD', currencies: ['USD', 'EUR'] }, ['1000001', '1000002']]), 'a site and SKUs');
  t.ok(plainData([{ uid: 's' }, 'all']));
  t.ok(plainData([Object.assign(Object.create(null) as object, { a: 1 })]), 'a null-prototype object');
  t.notOk(plainData([{ uid: 's' }, [{ sku: 'a', quantity: 1 }], async () => new Map()]), "a cart evaluation's prices function");
  t.notOk(plainData([{ lines: [], monolith: () => ({}) }]), 'a method on an argument');
  t.notOk(plainData([new Map([['a', 1]])]), 'a Map');
  t.notOk(plainData([new Date(0)]), 'a class instance');
  t.notOk(plainData([undefined]), 'undefined in a list becomes null');
});

t.test('inheritedExecArgv: the gateway’s own flags stay behind', async (t) => {
  const argv = ['--max-old-space-size=1024', '--enable-source-maps', '--import', 'file:///x/probe.js', '--cpu-prof', '--cpu-prof-dir', '/tmp/p', '--inspect=9229', '--require=./agent.cjs'];
  t.same(inheritedExecArgv(argv, false), ['--max-old-space-size=1024', '--enable-source-maps'], 'compiled: no preloads, no profile, no inspector');
  t.same(inheritedExecArgv(argv, true), ['--max-old-space-size=1024', '--enable-source-maps', '--import', 'file:///x/probe.js', '--require=./agent.cjs'], 'under a TypeScript loader the preloads stay');
});
