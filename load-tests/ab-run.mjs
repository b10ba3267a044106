// One measured run of load-tests/ab.sh: 2 s of warmup, then `seconds` of 50-connection
// autocannon load on one gateway; prints one JSON line with req/s, p99 and the gateway's CPU
// time per request (utime + stime from /proc/<pid>/stat, in clock ticks of 10 ms).
// usage: node load-tests/ab-run.mjs <label> <port> <gateway pid> <seconds> [path]
import autocannon from 'autocannon';
import { readFileSync } from 'node:fs';

const [side, port, pid, seconds, fixedPath] = process.argv.slice(2);
const STRIDE = 7919; // the scenarios' product rotation (load-tests/scenarios.ts)
const cpuMs = () => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
};
let i = 0;
const run = (duration) =>
  autocannon({
    url: `http://127.0.0.1:${port}`,
    connections: 50,
    duration,
    requests: [
      {
        setupRequest: (req) => {
          i++;
          req.path = fixedPath || `/occ/v2/electronics-spa/products/${1_000_000 + ((i * STRIDE) % 10_000)}`;
          req.headers = { 'x-user-id': `load-user-${i % 1000}` };
          return req;
        },
      },
    ],
  });

await run(2);
const before = cpuMs();
const r = await run(Number(seconds));
const used = cpuMs() - before;
console.log(
  JSON.stringify({ side, rps: Math.round(r.requests.average), p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors, cpuMsPerRequest: Number((used / r.requests.total).toFixed(4)) }),
);
