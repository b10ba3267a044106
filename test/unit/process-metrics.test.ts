import t from 'tap';
import { GatewayMetrics } from '../../src/observability/metrics.js';

function value(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  if (!line) throw new Error(`${name} not in the exposition`);
  return Number(line.slice(name.length + 1));
}

t.test('process CPU counters are totals since the process started, from the first scrape on', async (t) => {
  // burn some CPU before the first scrape: it belongs in the totals
  const until = Date.now() + 50;
  while (Date.now() < until);
  const before = process.cpuUsage();
  const text = await new GatewayMetrics().render();
  const user = value(text, 'process_cpu_user_seconds_total');
  const system = value(text, 'process_cpu_system_seconds_total');
  t.ok(user >= before.user / 1e6, `user seconds ${user} cover the ${before.user / 1e6} s used before the first scrape`);
  t.ok(system >= before.system / 1e6, `system seconds ${system} cover the ${before.system / 1e6} s used before the first scrape`);
  t.ok(Math.abs(value(text, 'process_cpu_seconds_total') - (user + system)) < 1e-3, 'the total is user + system');
  const later = value(await new GatewayMetrics().render(), 'process_cpu_user_seconds_total');
  t.ok(later >= user, 'and they only grow');
});
