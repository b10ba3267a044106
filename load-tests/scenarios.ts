/**
 * The scenarios of issue 6. Each says what to load (target + request generator), with which
 * flags, what to do mid-run (flip, fault), and how to judge the result (windows and checks).
 * Requests rotate product codes and x-user-id so caches and flag stickiness see a realistic mix
 * rather than one hot key.
 */
import type { Action, RequestGen, RequestShape, RunResult } from './lib/load.js';
import { windowStats } from './lib/load.js';
import { allContexts, CONTEXTS, type Rollouts } from './lib/flags.js';
import type { Stack } from './lib/stack.js';
import { waitForRoute } from './lib/stack.js';
import type { Check, WindowRow } from './lib/report.js';
import { arrivedBetween, latencyStats, round, slidingP99 } from './lib/stats.js';

export const SITE = 'electronics-spa';
/** electronics-spa codes in the seed: 1000000..1009999 */
const PRODUCT_COUNT = 10_000;
const USERS = 1000;
/** a prime stride: consecutive requests hit far-apart codes */
const STRIDE = 7919;
export const PASSTHROUGH_PATH = `/occ/v2/${SITE}/catalogs`;
export const RSS_LIMIT_MB = 200;

export const productCode = (i: number) => String(1_000_000 + ((i * STRIDE) % PRODUCT_COUNT));
const user = (i: number) => ({ 'x-user-id': `load-user-${i % USERS}` });

export const passthroughRequest = (path = PASSTHROUGH_PATH): RequestGen => (i) => ({ path, headers: user(i) });
export const productRequest: RequestGen = (i) => ({ path: `/occ/v2/${SITE}/products/${productCode(i)}`, headers: user(i) });

const GRAPHQL_QUERY = `query Products($site: String!, $skus: [ID!]!) {
  products(site: $site, skus: $skus) { sku name price { amount currency formatted } availability { status quantity } promotions { code title } }
}`;
const graphqlRequest: RequestGen = (i): RequestShape => ({
  method: 'POST',
  path: '/graphql',
  headers: { ...user(i), 'content-type': 'application/json' },
  body: JSON.stringify({ query: GRAPHQL_QUERY, variables: { site: SITE, skus: [0, 1, 2, 3, 4].map((k) => productCode(i * 5 + k)) } }),
});

export interface Analysis {
  windows: WindowRow[];
  checks: Check[];
  notes: string[];
}

export interface ScenarioContext {
  stack: Stack;
  durationS: number;
  /** notes the actions add while running (what the client saw at the moment of a fault, …) */
  notes: string[];
}

export interface Scenario {
  name: string;
  summary: string;
  defaultDurationS: number;
  /** false: only the legacy backend is started (direct) */
  gateway: boolean;
  rollouts: Rollouts;
  target(stack: Stack): { url: string } | { skip: string };
  request(opts: { path?: string | undefined }): RequestGen;
  /** a substring that marks a 2xx body as a failure (GraphQL's "errors") */
  bodyErrorMarker?: string;
  /** a reason to skip, found by asking the target (e.g. /graphql answers 404) */
  precheck?(url: string): Promise<string | undefined>;
  actions?(ctx: ScenarioContext): Action[];
  analyze?(run: RunResult, ctx: ScenarioContext): Analysis;
}

const viaGateway = (s: Stack) => (s.gatewayUrl ? { url: s.gatewayUrl } : { skip: 'no gateway' });

export function windowRow(run: RunResult, name: string, from: number, to: number): WindowRow {
  return { name, from, to, ...windowStats(run, from, to) };
}

/**
 * The responses that arrived in [from, to), to the millisecond (a flip at 15.37 s: its window is
 * 15.37–18.37 s, not the whole seconds 15–18). Non-2xx and errors are counted over the whole
 * seconds the window touches, so none is missed.
 */
function exactWindowRow(run: RunResult, name: string, from: number, to: number): WindowRow {
  const stats = latencyStats(arrivedBetween(run.latenciesBySecond, run.arrivalsBySecond, from, to));
  const whole = windowStats(run, from, to);
  return { name, from: round(from, 2), to: round(to, 2), ...stats, requests: stats.count, rps: to > from ? round(stats.count / (to - from), 1) : 0, non2xx: whole.non2xx, errors: whole.errors };
}

/** when the first response carrying `part` (e.g. pricing=new) arrived at or after `after` */
function firstSeen(run: RunResult, part: string, after: number): number | undefined {
  const times = Object.entries(run.routeFirstSeen)
    .filter(([r, t]) => t >= after && r.split(', ').includes(part))
    .map(([, t]) => t);
  return times.length ? Math.min(...times) : undefined;
}

async function clientView(url: string): Promise<string> {
  try {
    const res = await fetch(`${url}/occ/v2/${SITE}/products/${productCode(1)}`, { headers: { 'x-user-id': 'load-user-1' }, signal: AbortSignal.timeout(5000) });
    const text = await res.text();
    let code = '';
    try {
      const body = JSON.parse(text) as { errors?: { reason?: string; type?: string }[]; price?: unknown };
      code = body.errors?.[0] ? `${body.errors[0].type ?? ''} ${body.errors[0].reason ?? ''}`.trim() : body.price ? 'product with price' : '';
    } catch {}
    return `HTTP ${res.status}${code ? ` ${code}` : ''}, x-strangler-route: ${res.headers.get('x-strangler-route') ?? '(none)'}`;
  } catch (err) {
    return `request failed: ${(err as Error).message}`;
  }
}

export const SCENARIOS: readonly Scenario[] = [
  {
    name: 'direct',
    summary: `The legacy simulator without the gateway: GET ${PASSTHROUGH_PATH} (or --path) straight at legacy; the ceiling the passthrough is measured against.`,
    defaultDurationS: 20,
    gateway: false,
    rollouts: {},
    target: (s) => (s.legacyUrl ? { url: s.legacyUrl } : { skip: 'direct needs LEGACY_URL when GATEWAY_URL is set' }),
    request: (o) => passthroughRequest(o.path),
  },
  {
    name: 'passthrough',
    summary: `GET ${PASSTHROUGH_PATH} through the gateway: a path no context owns, relayed unchanged to legacy (@fastify/http-proxy routes, the gateway's undici relay) behind every gateway hook.`,
    defaultDurationS: 20,
    gateway: true,
    rollouts: allContexts(0),
    target: viaGateway,
    request: (o) => passthroughRequest(o.path),
  },
  {
    name: 'occ-product-legacy',
    summary: `GET /occ/v2/${SITE}/products/{rotating codes} through the gateway, every context on legacy (flags 0 %): catalog + price + stock + promotions all from the monolith.`,
    defaultDurationS: 20,
    gateway: true,
    rollouts: allContexts(0),
    target: viaGateway,
    request: () => productRequest,
  },
  {
    name: 'occ-product-new',
    summary: `GET /occ/v2/${SITE}/products/{rotating codes} through the gateway, every context on the new services (flags 100 %): legacy catalog composed with new pricing, inventory and promotions.`,
    defaultDurationS: 20,
    gateway: true,
    rollouts: allContexts(100),
    target: viaGateway,
    request: () => productRequest,
  },
  {
    name: 'split-50',
    summary: `GET /occ/v2/${SITE}/products/{rotating codes}, every context at 50 % (sticky per x-user-id over ${USERS} users): both arms of every context under load at once.`,
    defaultDurationS: 20,
    gateway: true,
    rollouts: allContexts(50),
    target: viaGateway,
    request: () => productRequest,
    analyze: (run) => {
      // among routed responses: one shed before routing carries no x-strangler-route
      const routed = Object.values(run.routes).reduce((a, b) => a + b, 0);
      const shares = CONTEXTS.map((c) => {
        let n = 0;
        for (const [r, k] of Object.entries(run.routes)) if (r.split(', ').includes(`${c}=new`)) n += k;
        return `${c}=new ${round((n / Math.max(1, routed)) * 100, 1)} %`;
      });
      return { windows: [], checks: [], notes: [`share of routed responses on the new arm: ${shares.join(', ')}`] };
    },
  },
  {
    name: 'flip-under-load',
    summary: `GET /occ/v2/${SITE}/products/{rotating codes}; pricing flips 0 → 100 % in the middle of the run (admin API when present, else the flag file in FLAGS_DIR, hot-reloaded by the gateway).`,
    defaultDurationS: 30,
    gateway: true,
    rollouts: allContexts(0),
    target: viaGateway,
    request: () => productRequest,
    actions: (ctx) => [
      {
        atS: ctx.durationS / 2,
        label: 'flip pricing → 100 %',
        run: async () => (await ctx.stack.setRollout('pricing', 100)).detail,
      },
    ],
    analyze: (run) => {
      const flip = run.markers.find((m) => m.label.startsWith('flip'));
      if (!flip) return { windows: [], checks: [], notes: ['the flip did not happen (run too short?)'] };
      const f = Math.floor(flip.t);
      const seen = firstSeen(run, 'pricing=new', flip.t);
      if (seen !== undefined) run.markers.push({ t: seen, label: 'first pricing=new response', detail: `${round(seen - flip.t, 3)} s after the flip request` });
      run.markers.sort((a, b) => a.t - b.t);
      const end = run.seconds.length;
      // second 0 is connection ramp-up; the flip window is exactly the 3 s from the moment the
      // flip request was sent (it covers the reload, ≤ 1 s, and the new pricing pool warming up),
      // the steady part everything that arrived from second 1 up to that moment
      const steady = exactWindowRow(run, 'steady before flip', 1, flip.t);
      const during = exactWindowRow(run, 'flip window (flip +3 s)', flip.t, Math.min(end, flip.t + 3));
      const after = exactWindowRow(run, 'after flip', Math.min(end, flip.t + 3), end);
      const ratioP99 = steady.p99 > 0 ? round(during.p99 / steady.p99, 2) : 0;
      // among responses that carry a route header (an error answered before routing has none)
      const newShareAfter = (() => {
        let n = 0;
        let all = 0;
        for (const s of run.seconds.slice(f + 2)) {
          for (const [r, k] of Object.entries(s.routes)) {
            all += k;
            if (r.includes('pricing=new')) n += k;
          }
        }
        return all ? round((n / all) * 100, 1) : 0;
      })();
      // The same length of window, taken over and over from the steady part: is the flip's window
      // worse than an ordinary 3 s of this very run, or only than the 14 s average?
      const ordinary = slidingP99(run.latenciesBySecond, 1, f, 3);
      const reached = ordinary.filter((p) => p >= during.p99).length;
      const ordinaryNote = ordinary.length
        ? `the steady part's own 3 s windows (${ordinary.length}, sliding by 1 s) had p99 ${Math.min(...ordinary)}–${Math.max(...ordinary)} ms, and ${reached} of them reached the flip window's ${during.p99} ms: ${reached > 0 ? 'the flip window is within what an ordinary 3 s of this run looks like (a garbage-collection pause can set a 3 s p99)' : 'the flip window is worse than every ordinary 3 s of this run'}`
        : 'the steady part is too short for 3 s windows to compare the flip window with';
      return {
        windows: [steady, during, after],
        checks: [
          { name: 'flip: non-2xx responses (whole run)', target: '0', value: String(run.non2xx), pass: run.non2xx === 0 },
          { name: 'flip: connection errors', target: '0', value: String(run.errors), pass: run.errors === 0 },
          { name: 'flip: p99 during flip ÷ steady p99', target: '≤ 1.5×', value: `${ratioP99}× (${during.p99} ms vs ${steady.p99} ms)`, pass: ratioP99 <= 1.5 },
          { name: 'flip: routed responses on new pricing after the flip', target: '100 % from flip+2 s', value: `${newShareAfter} %`, pass: newShareAfter >= 99.9 },
        ],
        notes: [
          `flip at ${flip.t}s via ${flip.detail}`,
          seen !== undefined ? `first pricing=new response ${round(seen - flip.t, 3)} s after the flip request was sent` : 'pricing=new never seen after the flip',
          ordinaryNote,
        ],
      };
    },
  },
  {
    name: 'fallback-under-fault',
    summary: `GET /occ/v2/${SITE}/products/{rotating codes} with pricing on the new service (100 %); the new pricing service starts failing every request (PUT /__faults {"errorRate":1}) at 1/3 of the run and recovers (DELETE /__faults) at 2/3. Shows what clients see: a fallback to legacy, or errors.`,
    defaultDurationS: 30,
    gateway: true,
    rollouts: { pricing: 100, inventory: 0, promotions: 0 },
    target: (s) => (s.gatewayUrl && s.pricingUrl ? { url: s.gatewayUrl } : { skip: 'fallback-under-fault needs the pricing service URL (PRICING_URL with GATEWAY_URL) to inject the fault' }),
    request: () => productRequest,
    actions: (ctx) => {
      const pricing = ctx.stack.pricingUrl!;
      const gw = ctx.stack.gatewayUrl!;
      return [
        {
          atS: ctx.durationS / 3,
          label: 'pricing fails (errorRate 1)',
          run: async () => {
            const res = await fetch(`${pricing}/__faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ errorRate: 1 }), signal: AbortSignal.timeout(5000) });
            await res.arrayBuffer();
            // what one client sees a moment later (after any breaker has had a chance to open)
            setTimeout(() => void clientView(gw).then((v) => ctx.notes.push(`a client 1.5 s into the fault saw: ${v}`)), 1500);
            return `PUT ${pricing}/__faults {"errorRate":1} → ${res.status}`;
          },
        },
        {
          atS: (2 * ctx.durationS) / 3,
          label: 'pricing recovers',
          run: async () => {
            const res = await fetch(`${pricing}/__faults`, { method: 'DELETE', signal: AbortSignal.timeout(5000) });
            await res.arrayBuffer();
            setTimeout(() => void clientView(gw).then((v) => ctx.notes.push(`a client 1.5 s after recovery saw: ${v}`)), 1500);
            return `DELETE ${pricing}/__faults → ${res.status}`;
          },
        },
      ];
    },
    analyze: (run) => {
      const fault = run.markers.find((m) => m.label.startsWith('pricing fails'));
      const rec = run.markers.find((m) => m.label.startsWith('pricing recovers'));
      const end = run.seconds.length;
      const a = fault ? Math.floor(fault.t) : Math.floor(end / 3);
      const b = rec ? Math.floor(rec.t) : Math.floor((2 * end) / 3);
      const before = windowRow(run, 'before the fault', 1, a);
      const during = windowRow(run, 'pricing failing', a + 1, b);
      const after = windowRow(run, 'after recovery', b + 1, end);
      const phase = (from: number, to: number) => {
        const st: Record<string, number> = {};
        const rt: Record<string, number> = {};
        for (const s of run.seconds.slice(from, to)) {
          for (const [k, v] of Object.entries(s.statuses)) st[k] = (st[k] ?? 0) + v;
          for (const [k, v] of Object.entries(s.routes)) {
            const p = k.split(', ').find((x) => x.startsWith('pricing=')) ?? '(no route header)';
            rt[p] = (rt[p] ?? 0) + v;
          }
        }
        const fmtMap = (m: Record<string, number>) => Object.entries(m).map(([k, v]) => `${k}: ${v}`).join(', ') || 'none';
        return `statuses {${fmtMap(st)}}; pricing served by {${fmtMap(rt)}}`;
      };
      const fellBack = Object.keys(run.routes).some((r) => r.includes('pricing=legacy(fallback)'));
      return {
        windows: [before, during, after],
        checks: [
          { name: 'fault: non-2xx while pricing fails (1 s grace)', target: '0 (fallback to legacy)', value: `${during.non2xx} of ${during.requests}`, pass: during.non2xx === 0 },
          { name: 'fault: non-2xx after recovery (1 s grace)', target: '0', value: `${after.non2xx} of ${after.requests}`, pass: after.non2xx === 0 },
          { name: 'fault: connection errors', target: '0', value: String(run.errors), pass: run.errors === 0 },
        ],
        notes: [
          `before the fault: ${phase(1, a)}`,
          `while pricing fails: ${phase(a + 1, b)}`,
          `after recovery: ${phase(b + 1, end)}`,
          fellBack ? 'the gateway fell back to legacy pricing for some requests (x-strangler-route: pricing=legacy(fallback))' : 'no response carried pricing=legacy(fallback): the gateway has no fallback to legacy for pricing yet, clients got the errors shown above',
        ],
      };
    },
  },
  {
    name: 'graphql-products',
    summary: `POST /graphql with a products(site, skus: [5 rotating SKUs]) query (name, price, availability, promotions), every context on the new services.`,
    defaultDurationS: 20,
    gateway: true,
    rollouts: allContexts(100),
    target: viaGateway,
    request: () => graphqlRequest,
    // GraphQL over HTTP answers resolver errors with 200 and an "errors" array
    bodyErrorMarker: '"errors":',
    analyze: (run) => ({
      windows: [],
      checks: [{ name: 'GraphQL: 2xx responses with an "errors" array', target: '0', value: String(run.bodyErrors), pass: run.bodyErrors === 0 }],
      notes: [],
    }),
    precheck: async (url) => {
      try {
        const res = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ __typename }' }), signal: AbortSignal.timeout(5000) });
        await res.arrayBuffer();
        if (res.status === 404) return 'POST /graphql answers 404: the gateway has no GraphQL endpoint yet (src/graphql is in progress)';
        return undefined;
      } catch (err) {
        return `POST /graphql failed: ${(err as Error).message}`;
      }
    },
  },
];

export function findScenario(name: string): Scenario | undefined {
  return SCENARIOS.find((s) => s.name === name);
}

/** Before measuring, make sure the gateway already routes the way the flags say. */
export async function settleRoutes(stack: Stack, r: Rollouts): Promise<void> {
  if (!stack.gatewayUrl) return;
  const all = CONTEXTS.filter((c) => r[c] === 100);
  if (all.length === 0) return;
  await waitForRoute(stack.gatewayUrl, `/occ/v2/${SITE}/products/${productCode(0)}`, new RegExp(all.map((c) => `(?=.*${c}=new)`).join('')));
}
