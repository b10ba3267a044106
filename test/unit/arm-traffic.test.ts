/**
 * The console's live traffic per context and arm: counts, error rate and latency quantiles over
 * a sliding window of seconds, with old seconds dropping out.
 */
import t from 'tap';
import { ArmTraffic } from '../../src/observability/arm-traffic.js';

const T0 = 1_700_000_000_000;

t.test('counts, share inputs, error rate and quantiles per arm', async (t) => {
  const a = new ArmTraffic(10);
  for (let i = 0; i < 98; i++) a.record('pricing', 'new', 200, 0.004, T0);
  a.record('pricing', 'new', 502, 0.9, T0);
  a.record('pricing', 'new', 200, 0.9, T0);
  a.record('pricing', 'legacy', 200, 0.02, T0);
  const v = a.read('pricing', T0);
  t.match(v.new, { requests: 100, reqPerSec: 10, errorRate: 0.01, p50Ms: 5, p99Ms: 1000 });
  t.match(v.legacy, { requests: 1, errorRate: 0, p50Ms: 20, p99Ms: 20 });
  t.match(v.legacy_fallback, { requests: 0, errorRate: 0, p50Ms: null, p99Ms: null });
  t.equal(a.read('inventory', T0).new.requests, 0, 'contexts are apart');
});

t.test('the window slides: seconds older than it drop out, the current one counts at once', async (t) => {
  const a = new ArmTraffic(10);
  a.record('pricing', 'legacy', 200, 0.001, T0);
  a.record('pricing', 'legacy', 200, 0.001, T0 + 5_000);
  t.equal(a.read('pricing', T0 + 5_000).legacy.requests, 2);
  t.equal(a.read('pricing', T0 + 10_500).legacy.requests, 1, 'the first second is out of the window');
  // the same slot reused ten seconds later starts from zero
  a.record('pricing', 'legacy', 500, 10, T0 + 20_000);
  t.match(a.read('pricing', T0 + 20_000).legacy, { requests: 1, errorRate: 1, p99Ms: 5000 });
});
