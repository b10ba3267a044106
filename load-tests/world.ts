/**
 * Child-process entry for the load harness: starts the named embedded backends on ephemeral
 * loopback ports and prints one JSON line `{"ready":{name:url}}` on stdout. It runs in its own
 * process so that the backends, the gateway and the load generator never share an event loop
 * (a shared loop would make every number a measurement of contention, not of the gateway).
 *
 * usage: node dist/load-tests/world.js legacy,pricing,inventory,promotions   (after npm run build)
 */
import { BACKEND_NAMES, startSomeBackends, type BackendName } from '../backends/index.js';

const ALL: readonly BackendName[] = BACKEND_NAMES;

async function main(): Promise<void> {
  const arg = process.argv[2] ?? ALL.join(',');
  const names = arg.split(',').filter((n): n is BackendName => (ALL as readonly string[]).includes(n));
  if (names.length === 0) throw new Error(`no backend named in "${arg}" (expected some of ${ALL.join(',')})`);
  const some = await startSomeBackends(names, { host: '127.0.0.1', logger: false });
  const urls: Partial<Record<BackendName, string>> = {};
  for (const n of names) urls[n] = some.running[n]?.url;
  process.stdout.write(JSON.stringify({ ready: urls }) + '\n');

  let closing = false;
  const close = () => {
    if (closing) return;
    closing = true;
    void some.close().then(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on('SIGTERM', close);
  process.on('SIGINT', close);
  // the harness owns this process: if it dies without stopping us, leave too
  const parentPid = process.ppid;
  setInterval(() => process.ppid !== parentPid && close(), 1000).unref();
}

main().catch((err: unknown) => {
  process.stderr.write(`load-tests world failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
