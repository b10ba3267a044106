/**
 * Request coalescing (src/upstream/coalesce.ts): what requests that ask together get, and what
 * a failure of their shared call does to each of them.
 */
import t from 'tap';
import { Coalescer, type Caller } from '../../src/upstream/coalesce.js';
import { GatewayError } from '../../src/errors.js';

const silent = { info() {}, warn() {}, error() {} };
function caller(id: string, deadline = Date.now() + 5000): Caller {
  return { outbound: { headers: { 'x-request-id': id }, deadline }, log: silent };
}

interface Call {
  group: string;
  keys: readonly string[];
  requestId: string | undefined;
  deadline: number;
}

/** A batch endpoint that knows SKUs starting with "A" and fails as told. */
function endpoint(fail?: (keys: readonly string[]) => Error | undefined) {
  const calls: Call[] = [];
  const fetch = async (group: string, keys: readonly string[], c: Caller) => {
    calls.push({ group, keys, requestId: c.outbound.headers['x-request-id'], deadline: c.outbound.deadline });
    await new Promise((r) => setTimeout(r, 1));
    const err = fail?.(keys);
    if (err) throw err;
    return new Map(keys.filter((k) => k.startsWith('A')).map((k) => [k, `${group}:${k}`]));
  };
  return { calls, fetch };
}

t.test('requests in one turn share one call; each gets only what it asked for', async (t) => {
  const e = endpoint();
  const c = new Coalescer<string, string>(e.fetch, 100);
  const [r1, r2, r3] = await Promise.all([
    c.get('s1', 's1', ['A1', 'A2'], caller('one')),
    c.get('s1', 's1', ['A2', 'B9'], caller('two')),
    c.get('s1', 's1', ['A3'], caller('three')),
  ]);
  t.equal(e.calls.length, 1, 'one upstream call');
  t.same(e.calls[0]?.keys, ['A1', 'A2', 'B9', 'A3'], 'each key once');
  t.equal(e.calls[0]?.requestId, 'one', 'the first request carries the call');
  t.same([...r1.entries()], [['A1', 's1:A1'], ['A2', 's1:A2']]);
  t.same([...r2.entries()], [['A2', 's1:A2']], 'an unknown key stays absent');
  t.same([...r3.entries()], [['A3', 's1:A3']]);
});

t.test('different groups never share; later turns make new calls; a lone request is sent as it is', async (t) => {
  const e = endpoint();
  const c = new Coalescer<string, string>(e.fetch, 100);
  const [a, b] = await Promise.all([c.get('s1', 's1', ['A1'], caller('x')), c.get('s2', 's2', ['A1'], caller('y'))]);
  t.equal(a.get('A1'), 's1:A1');
  t.equal(b.get('A1'), 's2:A1');
  await c.get('s1', 's1', ['A5'], caller('z'));
  t.same(
    e.calls.map((x) => [x.group, x.requestId]),
    [
      ['s1', 'x'],
      ['s2', 'y'],
      ['s1', 'z'],
    ],
  );
});

t.test('a batch never exceeds the endpoint limit', async (t) => {
  const e = endpoint();
  const c = new Coalescer<string, string>(e.fetch, 5);
  const asks = [['A1', 'A2'], ['A3', 'A4'], ['A5', 'A6'], ['A7'], ['A1', 'A2', 'A3', 'A4', 'A5', 'A6']];
  const results = await Promise.all(asks.map((keys, i) => c.get('s', 's', keys, caller(`r${i}`))));
  const shared = e.calls.filter((x) => x.requestId !== 'r4');
  for (const call of shared) t.ok(call.keys.length <= 5, `shared call of ${call.keys.length} keys`);
  t.same(shared.flatMap((x) => x.keys).sort(), ['A1', 'A2', 'A3', 'A4', 'A5', 'A6', 'A7'], 'every key of the small asks fetched');
  t.same(e.calls.find((x) => x.requestId === 'r4')?.keys, asks[4], 'an ask as large as a batch is sent alone, unchanged');
  results.forEach((r, i) => t.same([...r.keys()], asks[i], `request ${i} got its keys`));
});

t.test('the shared call gets the earliest deadline of its requests', async (t) => {
  const e = endpoint();
  const c = new Coalescer<string, string>(e.fetch, 100);
  const now = Date.now();
  await Promise.all([c.get('s', 's', ['A1'], caller('late', now + 5000)), c.get('s', 's', ['A2'], caller('soon', now + 300))]);
  t.equal(e.calls[0]?.deadline, now + 300);
});

t.test('upstream trouble fails every request that shared the call', async (t) => {
  const down = new GatewayError(503, 'GW_ERR_UPSTREAM_UNAVAILABLE', 'pricing is down', { context: 'pricing', backend: 'new' });
  const e = endpoint(() => down);
  const c = new Coalescer<string, string>(e.fetch, 100);
  const results = await Promise.allSettled([c.get('s', 's', ['A1'], caller('a')), c.get('s', 's', ['A2'], caller('b'))]);
  t.same(
    results.map((r) => r.status),
    ['rejected', 'rejected'],
  );
  t.equal(e.calls.length, 1, 'not retried per request: the upstream is down for all of them');
});

t.test('an invalid payload is retried per request, so only the request with the bad SKU fails', async (t) => {
  const e = endpoint((keys) => (keys.includes('A-bad') ? new GatewayError(502, 'GW_ERR_UPSTREAM_INVALID_PAYLOAD', 'bad price', { context: 'pricing', backend: 'new' }) : undefined));
  const c = new Coalescer<string, string>(e.fetch, 100);
  const [good, bad, other] = await Promise.allSettled([
    c.get('s', 's', ['A1'], caller('good')),
    c.get('s', 's', ['A-bad'], caller('bad')),
    c.get('s', 's', ['A2'], caller('other')),
  ]);
  t.equal(good.status, 'fulfilled');
  t.equal(other.status, 'fulfilled');
  t.equal(bad.status, 'rejected');
  t.same(
    e.calls.map((x) => x.requestId),
    ['good', 'good', 'bad', 'other'],
    'one shared call, then each request alone with its own request id',
  );
});
