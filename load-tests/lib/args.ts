/** Command line of `npm run load -- <scenario|compare|all|list> [options]`. */
import { parseArgs } from 'node:util';
import { guardrailOverrides } from '../../src/cli/guardrail-args.js';
import type { GuardrailOverrides } from '../../src/rollout/schemas.js';

export interface CliOptions {
  command: string;
  durationS: number | undefined;
  connections: number;
  warmupS: number;
  profile: boolean;
  path: string | undefined;
  logLevel: string;
  reportDir: string | undefined;
  screenshot: boolean;
  rounds: number;
  wrk: boolean;
  nginx: boolean;
  help: boolean;
  /** open-loop load: total requests per second (autocannon overallRate); undefined: closed loop */
  rate: number | undefined;
  /** extra node flags for the gateway process, e.g. --max-old-space-size=128 */
  gatewayNodeArgs: string[];
  /** seconds to wait for other CPU load on the machine to settle before measuring (0: don't) */
  waitQuietS: number;
  /** rehearse: the context rolled out, the plan's percentages, the least hold per step (s) */
  context: string | undefined;
  plan: number[];
  holdS: number;
  /** rehearse: an existing gateway and its admin token (instead of the embedded world) */
  gateway: string | undefined;
  adminToken: string | undefined;
  /** rehearse: simulator fault (JSON, PUT /__faults of the context's new service) during the run */
  fault: Record<string, unknown> | undefined;
  /** rehearse, embedded world: SHADOW_<CTX>_PERCENT, and ROLLOUT_MIN_SAMPLES when set */
  shadow: number;
  minSamples: number | undefined;
  /** rehearse: the rollout's own guardrail limits (--guardrail, --p99-floor), sent with its start: for a given gateway too */
  guardrails: GuardrailOverrides | undefined;
  /** rehearse, embedded world: more gateway environment (--env KEY=VALUE, repeatable), e.g. the production guardrail thresholds */
  gatewayEnv: Record<string, string>;
}

/**
 * How the gateway is run in production (docs/operations.md#running-in-production): a sized heap, and the
 * garbage collector on the main thread. Without the size V8 lets old space grow to a quarter of
 * the machine's memory before collecting hard, and RSS under load reaches 240-340 MB on this
 * 24 GB machine, of which the gateway needs < 70 MB. With V8's GC helper threads on a 2-vCPU host
 * that the load already saturates, about a third of gateway processes spent 2.5x the time in
 * scavenges for their whole life (docs/perf/2026-11-27-pass05-processes-keep-their-speed.md).
 */
export const DEFAULT_GATEWAY_NODE_ARGS = '--max-old-space-size=128 --single-threaded-gc';

export const USAGE = `usage: npm run load -- <scenario|compare|ledger|cluster|rehearse|all|list> [options]

scenarios: direct, passthrough, occ-product-legacy, occ-product-new, split-50,
           flip-under-load, fallback-under-fault, graphql-products
compare:   gateway passthrough vs bare @fastify/http-proxy vs nginx (and legacy direct, and the
           composed OCC product), interleaved rounds, autocannon and wrk
ledger:    the passthrough's CPU per request with one feature (access line, shedding, trace ids,
           metrics, request id, connection bookkeeping) off per gateway, interleaved, wrk
cluster:   the multi-instance rehearsal: 3 gateways behind haproxy, shared Redis, a real Unleash
           (test/integration/cluster-rehearsal.test.ts; REHEARSAL_REQUESTS=N sets the load, default 3000)
rehearse:  a rollout of one context through the gateway's controller (POST /admin/rollouts/<ctx>)
           under open-loop load; per-arm throughput/p99/errors each second, steps and rollbacks,
           parity counts; every flag it touched put back and checked at the end
           npm run load -- rehearse --context pricing --plan 1,10,50,100 [--hold 10] [--rate 100]
             [--gateway URL --admin-token T] [--fault '{"valueSkewRate":0.02}'] [--duration S]
all:       compare, then every scenario, one after the other

options:
  --duration S      seconds of measured load (per run in compare; default per scenario, compare 10)
  --connections N   concurrent connections (default 50)
  --warmup S        unrecorded warmup before measuring (default 3)
  --profile         gateway under node --cpu-prof plus a sampling heap profile; summaries in the report
  --path P          request path for direct/passthrough/compare (default /occ/v2/electronics-spa/catalogs)
  --log-level L     gateway LOG_LEVEL (default info: every gateway feature on)
  --rounds N        compare: interleaved rounds per generator (default 3)
  --no-wrk          compare: autocannon only
  --no-nginx        compare: without nginx
  --report-dir D    where reports go (default load-tests/reports)
  --screenshot      also render the HTML report to PNG with headless Chromium, when installed
  --rate R          open loop: R requests/s in total (autocannon overallRate) instead of as fast as
                    the target answers; use it below saturation to see a flip or fault, not the queue
  --gateway-node-args=F  node flags for the gateway (space-separated; use the = form), default
                    "--max-old-space-size=128 --single-threaded-gc" (as in production);
                    --gateway-node-args= for none
  --wait-quiet S    before measuring, wait up to S seconds until the rest of the machine uses
                    < 25 % CPU (shared machines: other test suites skew a benchmark)

rehearse options (--rate defaults to 100 there; --duration is the most seconds of load, default
from the plan, the hold and the guardrails' minimum samples; at its end a running rollout is aborted):
  --context C       the context to roll out (required)
  --plan P          the steps, percentages strictly increasing (default 1,10,50,100)
  --hold S          least seconds per step (default 10); a step also waits for its guardrails' samples
  --gateway URL     drive an existing gateway through its admin API (nothing started)
  --admin-token T   its ADMIN_TOKEN (default: $ADMIN_TOKEN); the fault needs <CTX>_URL (e.g. PRICING_URL)
  --fault JSON      a simulator fault set on the context's new service before the rollout and
                    removed at the end, e.g. '{"valueSkewRate":0.02}' (a rehearsal of a rollback)
  --shadow P        embedded world: SHADOW_<CTX>_PERCENT (default 100)
  --min-samples N   embedded world: ROLLOUT_MIN_SAMPLES (default: the gateway's, 200)
  --guardrail NAME=THRESHOLD[:MIN_SAMPLES], --p99-floor MS
                    the rollout's own guardrail limits, as strangler rollout start takes them
                    (a given gateway too), e.g. --guardrail p99Ratio=2:500 --p99-floor 75
  --env KEY=VALUE   embedded world: more gateway environment, repeatable (e.g. your production
                    ROLLOUT_P99_RATIO, ROLLOUT_P99_FLOOR_MS, SHADOW_MAX_PER_SECOND)

environment: GATEWAY_URL=http://host:port loads an existing gateway instead of starting the
embedded world (then LEGACY_URL for direct, PRICING_URL for the fault, FLAGS_DIR or ADMIN_TOKEN for
the flip, GATEWAY_PID for RSS sampling). All traffic must stay on loopback.`;

function num(v: string | undefined, name: string, min: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number ≥ ${min} (got "${v}")`);
  return n;
}

export function parseCli(argv: readonly string[]): CliOptions {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      duration: { type: 'string' },
      connections: { type: 'string' },
      warmup: { type: 'string' },
      profile: { type: 'boolean', default: false },
      path: { type: 'string' },
      'log-level': { type: 'string', default: 'info' },
      'report-dir': { type: 'string' },
      screenshot: { type: 'boolean', default: false },
      rounds: { type: 'string' },
      'no-wrk': { type: 'boolean', default: false },
      'no-nginx': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
      'wait-quiet': { type: 'string' },
      rate: { type: 'string' },
      'gateway-node-args': { type: 'string' },
      context: { type: 'string' },
      plan: { type: 'string', default: '1,10,50,100' },
      hold: { type: 'string' },
      gateway: { type: 'string' },
      'admin-token': { type: 'string' },
      fault: { type: 'string' },
      shadow: { type: 'string' },
      'min-samples': { type: 'string' },
      env: { type: 'string', multiple: true, default: [] },
      guardrail: { type: 'string', multiple: true, default: [] },
      'p99-floor': { type: 'string' },
    },
  });
  const plan = values.plan.split(',').map((p) => Number(p.trim()));
  if (plan.some((p, i) => !Number.isInteger(p) || p < 1 || p > 100 || (i > 0 && p <= plan[i - 1]!))) {
    throw new Error(`--plan must be percentages 1..100, strictly increasing (got "${values.plan}")`);
  }
  let fault: Record<string, unknown> | undefined;
  if (values.fault !== undefined) {
    try {
      fault = JSON.parse(values.fault) as Record<string, unknown>;
    } catch {
      throw new Error(`--fault must be a JSON object (got "${values.fault}")`);
    }
    if (typeof fault !== 'object' || fault === null || Array.isArray(fault)) throw new Error(`--fault must be a JSON object (got "${values.fault}")`);
  }
  const gatewayEnv: Record<string, string> = {};
  for (const kv of values.env) {
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(kv);
    if (!m) throw new Error(`--env must be KEY=VALUE with an upper-case KEY (got "${kv}")`);
    gatewayEnv[m[1]!] = m[2]!;
  }
  if (values.gateway !== undefined && !/^https?:\/\//.test(values.gateway)) throw new Error('--gateway must be an http(s) URL');
  if (values.path !== undefined && !values.path.startsWith('/')) throw new Error('--path must start with "/"');
  return {
    command: positionals[0] ?? '',
    durationS: num(values.duration, 'duration', 1),
    connections: num(values.connections, 'connections', 1) ?? 50,
    warmupS: num(values.warmup, 'warmup', 0) ?? 3,
    profile: values.profile,
    path: values.path,
    logLevel: values['log-level'],
    reportDir: values['report-dir'],
    screenshot: values.screenshot,
    rounds: num(values.rounds, 'rounds', 1) ?? 3,
    wrk: !values['no-wrk'],
    nginx: !values['no-nginx'],
    help: values.help,
    waitQuietS: num(values['wait-quiet'], 'wait-quiet', 0) ?? 0,
    rate: num(values.rate, 'rate', 1),
    gatewayNodeArgs: (values['gateway-node-args'] ?? DEFAULT_GATEWAY_NODE_ARGS).split(/\s+/).filter(Boolean),
    context: values.context,
    plan,
    holdS: num(values.hold, 'hold', 0) ?? 10,
    gateway: values.gateway,
    adminToken: values['admin-token'],
    fault,
    shadow: num(values.shadow, 'shadow', 0) ?? 100,
    minSamples: num(values['min-samples'], 'min-samples', 1),
    guardrails: guardrailOverrides(values.guardrail, values['p99-floor']),
    gatewayEnv,
  };
}
