/**
 * The `strangler` CLI in-process: argument handling and exit codes that need no gateway, and
 * the human-readable rendering of every field the admin API can return (breakers, traffic,
 * stale flags, read-only Unleash). Against a running gateway: test/integration/cli.test.ts.
 */
import t from 'tap';
import { createServer } from 'node:net';
import { EXIT, run } from '../../src/cli/main.js';
import { formatAudit, formatChange, formatStatus, table } from '../../src/cli/format.js';
import type { AuditEntry, RoutesResponse } from '../../src/admin/schemas.js';

async function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await run(args, env, { out: (s) => (out += `${s}\n`), err: (s) => (err += `${s}\n`) });
  return { code, out, err };
}

const TOKEN = { ADMIN_TOKEN: 'x'.repeat(20) };

t.test('usage errors exit 2 with the reason, before any call', async (t) => {
  const cases: [string[], RegExp][] = [
    [['route', 'pricing'], /route needs --percent N \(0\.\.100\)/],
    [['route', 'pricing', '--percent', '150'], /--percent must be an integer 0\.\.100 \(got "150"\)/],
    [['route', 'pricing', '--percent', '-5'], /--percent|option/],
    [['route', 'pricing', '--percent', '2.5'], /--percent must be an integer/],
    [['route', 'pricing', '--percent', '5', '--stickiness', 'random'], /--stickiness must be one of default, userId, sessionId/],
    [['route', 'pricing', '--percent', '5', '--site', 'a', '--all-sites'], /--site and --all-sites exclude each other/],
    [['route', '--percent', '5'], /route needs exactly one context/],
    [['kill'], /kill needs exactly one context/],
    [['kill', 'pricing', 'inventory'], /kill needs exactly one context/],
    [['status', 'pricing'], /status takes no argument "pricing"/],
    [['audit', '--limit', '0'], /--limit must be an integer 1\.\.1000/],
    [['flip', 'pricing'], /unknown command "flip"/],
    [['status', '--frobnicate'], /frobnicate/],
    [['status', '--gateway', 'ftp://x'], /invalid gateway URL "ftp:\/\/x"/],
    [['status', '--timeout', 'soon'], /--timeout must be an integer/],
  ];
  for (const [args, msg] of cases) {
    const r = await cli(args, TOKEN);
    t.equal(r.code, EXIT.usage, args.join(' '));
    t.match(r.err, msg, args.join(' '));
    t.match(r.err, /^strangler: /);
  }
  const none = await cli([], TOKEN);
  t.equal(none.code, EXIT.usage, 'no command: usage, non-zero');
  t.match(none.out, /usage: strangler <command>/);
  const help = await cli(['--help']);
  t.equal(help.code, EXIT.ok);
  t.match(help.out, /exit codes: 0 ok/);
  t.equal((await cli(['help'])).code, EXIT.ok);
});

t.test('no ADMIN_TOKEN: exit 3 and what to set', async (t) => {
  const r = await cli(['status']);
  t.equal(r.code, EXIT.auth);
  t.match(r.err, /ADMIN_TOKEN is not set/);
});

t.test('an unreachable gateway: exit 5, a clear message, and JSON with --json', async (t) => {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  const r = await cli(['kill', 'pricing', '--json'], { ...TOKEN, GATEWAY_URL: `http://127.0.0.1:${port}/` });
  t.equal(r.code, EXIT.unreachable);
  t.match(r.err, `cannot reach the gateway at http://127.0.0.1:${port} (ECONNREFUSED)`);
  t.match(JSON.parse(r.out), { error: { exitCode: 5, message: /cannot reach/ } });
});

t.test('a gateway that does not answer in time: exit 5', async (t) => {
  // Accepts connections, never answers.
  const sockets: import('node:net').Socket[] = [];
  const srv = createServer((s) => sockets.push(s));
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    srv.close();
  });
  const port = (srv.address() as { port: number }).port;
  const r = await cli(['status', '--timeout', '300'], { ...TOKEN, GATEWAY_URL: `http://127.0.0.1:${port}` });
  t.equal(r.code, EXIT.unreachable);
  t.match(r.err, /did not answer within 300 ms/);
});

t.test('something that is not the gateway: exit 1, says so', async (t) => {
  const { createServer: http } = await import('node:http');
  const srv = http((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>hello</html>'));
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  t.teardown(() => srv.close());
  const port = (srv.address() as { port: number }).port;
  const r = await cli(['status'], { ...TOKEN, GATEWAY_URL: `http://127.0.0.1:${port}` });
  t.equal(r.code, EXIT.failed);
  t.match(r.err, /non-JSON body: is GATEWAY_URL a strangler gateway\?/);
  const srv2 = http((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"hello":"world"}'));
  await new Promise<void>((r) => srv2.listen(0, '127.0.0.1', r));
  t.teardown(() => srv2.close());
  const r2 = await cli(['status'], { ...TOKEN, GATEWAY_URL: `http://127.0.0.1:${(srv2.address() as { port: number }).port}` });
  t.equal(r2.code, EXIT.failed);
  t.match(r2.err, /unexpected body/);
});

const state = (over: Partial<AuditEntry['after']> = {}): AuditEntry['after'] => ({
  defined: true,
  enabled: true,
  rollout: 0,
  stickiness: 'default',
  constraints: [],
  strategies: 1,
  ...over,
});

t.test('status table: breakers, traffic, custom strategies, stale and read-only sources', async (t) => {
  const res: RoutesResponse = {
    source: 'unleash',
    location: 'http://unleash:4242/api',
    writable: false,
    stale: 'connect ECONNREFUSED',
    routes: [
      {
        context: 'pricing',
        flag: 'route.pricing',
        source: 'unleash',
        ...state({ rollout: 25, stickiness: 'userId', strategies: 2, constraints: [{ contextName: 'currency', operator: 'IN', values: ['USD', 'EUR'], inverted: true }] }),
        breaker: { new: 'open', legacy: 'closed' },
        traffic: { reqPerSec: 12.345, errorRate: 0.5, windowSeconds: 60 },
      },
      { context: 'inventory', flag: 'route.inventory', source: 'unleash', ...state({ rollout: null, stickiness: null }), breaker: { legacy: 'half-open' } },
      { context: 'promotions', flag: 'route.promotions', source: 'unleash', ...state({ defined: false, enabled: false }) },
    ],
  };
  const out = formatStatus(res, 'http://gw:8080');
  t.match(out, /flags {4}unleash: http:\/\/unleash:4242\/api {2}\(read-only: the gateway has no UNLEASH_ADMIN_TOKEN\)/);
  t.match(out, /WARNING {2}the flag source is failing; routing continues on the last known flags: connect ECONNREFUSED/);
  t.match(out, /^pricing +route\.pricing +on +25% \(\+1 strategies\) +userId +currency NOT IN USD,EUR +unleash +open\/closed +12\.3 +50\.0%$/m);
  t.match(out, /^inventory +route\.inventory +on +custom +- +- +unleash +n\/a\/half-open +n\/a +n\/a$/m);
  t.match(out, /^promotions +route\.promotions +missing +0% /m);
});

t.test('change and audit rendering', async (t) => {
  const entry: AuditEntry = {
    id: '00000000-0000-4000-8000-000000000000',
    at: '2026-01-02T03:04:05.678Z',
    actor: 'alice',
    action: 'route',
    context: 'pricing',
    flag: 'route.pricing',
    source: 'unleash',
    location: 'http://unleash/api/admin/projects/default/features/route.pricing',
    requested: { percent: 10 },
    before: state({ defined: false, enabled: false }),
    after: state({ rollout: 10 }),
    reason: null,
    requestId: 'r1',
  };
  const change = formatChange({ change: entry, effectiveWithinMs: 2000 });
  t.match(change, /^pricing: missing \(legacy\) {2}-> {2}on 10%$/m);
  t.match(change, /in force within 2000 ms \(the gateway's next fetch from Unleash\)/);
  t.equal(formatAudit([], 0), 'no changes recorded yet');
  t.equal(formatAudit([], 2), 'no readable changes (2 unreadable lines skipped)');
  const audit = formatAudit([entry], 1);
  t.match(audit, /^2026-01-02 03:04:05Z +alice +route +pricing +missing \(legacy\) +on 10% +unleash +-$/m);
  t.match(audit, /\(1 unreadable lines skipped\)$/);
  t.equal(table(['A', 'B'], [['xx', 'y']]), 'A   B\nxx  y', 'columns aligned, no trailing blanks');
});
