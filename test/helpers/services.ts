/**
 * Real services for suites that need them. Without REQUIRE_SERVICES=1 a missing service skips
 * the suite with the reason; with it (CI), a missing service fails the suite.
 */
import { connect } from 'node:net';

export const REQUIRE_SERVICES = process.env.REQUIRE_SERVICES === '1';

export function reachable(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, host);
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

interface Failable {
  fail(msg: string): void;
}

/**
 * Checks a service before the suite declares its tests. Returns the `skip` option for them:
 * false when the service is there, the reason otherwise. Under REQUIRE_SERVICES=1 (CI) a missing
 * service is a failure of `t`, not a skip.
 */
export async function serviceGate(t: Failable, name: string, host: string, port: number): Promise<false | string> {
  if (await reachable(host, port)) return false;
  const msg = `${name} is not reachable on ${host}:${port}`;
  if (REQUIRE_SERVICES) {
    t.fail(`${msg} and REQUIRE_SERVICES=1`);
    return `${msg} (failed: REQUIRE_SERVICES=1)`;
  }
  return `${msg}; skipped (set REQUIRE_SERVICES=1 to fail instead)`;
}

export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/15';
