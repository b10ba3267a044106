import t from 'tap';
import { RecentTraffic } from '../../src/observability/recent-traffic.js';

t.test('requests and 5xx share per context over the last full minute', async (t) => {
  const r = new RecentTraffic(60);
  const t0 = 1_800_000_000_000;
  for (let s = 0; s < 30; s++) {
    for (let k = 0; k < 4; k++) r.record('pricing', k === 0 ? 502 : 200, t0 + s * 1000);
    r.record('inventory', 200, t0 + s * 1000);
  }
  const pricing = r.read('pricing', t0 + 30_000);
  t.equal(pricing.reqPerSec, (30 * 4) / 60);
  t.equal(pricing.errorRate, 0.25);
  t.equal(r.read('inventory', t0 + 30_000).errorRate, 0);
  t.same(r.read('promotions', t0 + 30_000), { reqPerSec: 0, errorRate: 0, windowSeconds: 60 });
  t.equal(r.read('pricing', t0 + 200_000).reqPerSec, 0, 'old traffic ages out');
  r.record('pricing', 200, t0 + 200_000);
  t.equal(r.read('pricing', t0 + 200_000).reqPerSec, 0, 'the second still filling is not counted yet');
  t.equal(r.read('pricing', t0 + 201_000).reqPerSec, 1 / 60);
});
