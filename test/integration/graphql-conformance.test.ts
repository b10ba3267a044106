/**
 * GraphQL over HTTP conformance (the GraphQL Foundation's spec, as graphql-http audits it) of
 * /graphql on a listening gateway: every MUST passes, and so does every SHOULD (the README lists
 * what the gateway does differently on purpose and why: its limits are a 400 whatever the media
 * type). MAYs are reported, not required.
 */
import t from 'tap';
import { serverAudits, type AuditResult } from 'graphql-http';
import { startWorld } from '../helpers/world.js';

t.test('graphql-http server audits', async (t) => {
  const w = await startWorld(t);
  await w.app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = w.app.server.address() as { port: number };
  const results: AuditResult[] = [];
  for (const audit of serverAudits({ url: `http://127.0.0.1:${port}/graphql` })) results.push(await audit.fn());

  const failed = (level: 'MUST' | 'SHOULD') =>
    results.filter((r) => r.status !== 'ok' && r.name.startsWith(level)).map((r) => `${r.id} ${r.name}: ${'reason' in r ? r.reason : ''}`);
  t.ok(results.length > 50, `${results.length} audits ran`);
  t.same(failed('MUST'), [], 'no MUST fails');
  t.same(failed('SHOULD'), [], 'no SHOULD fails');
  const mays = results.filter((r) => r.status !== 'ok' && r.name.startsWith('MAY'));
  t.comment(`MAYs not taken (${mays.length}): ${mays.map((r) => r.id).join(', ')}`);
});
