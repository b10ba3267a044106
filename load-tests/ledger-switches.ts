/**
 * Bench-only switches for the passthrough ledger (`npm run load -- ledger`): preloaded into a
 * gateway variant with `--import`, never imported by the gateway and never in a shipped process.
 * `LOADTEST_LEDGER_OFF` lists the per-request features to switch off in this process; what each
 * switch removes is the feature's own work, not the hook that carries it:
 *
 * - `span`     trace ids: server and client spans become one fixed, precomputed handle
 *              (no random ids, no traceparent formatting; parsing an inbound header stays)
 * - `metrics`  counter increments and histogram observations become no-ops
 * - `reqid`    minting a request id: crypto.randomUUID returns a constant
 * - `conntrack` graceful shutdown's per-request bookkeeping (src/graceful-close.ts)
 *
 * The access line and the load-shedding check are switched off with the gateway's own config
 * (LOG_LEVEL=warn, SHED_EVENT_LOOP_DELAY_MS=0) by the ledger itself, not here.
 *
 * ESM modules are instances per URL: the classes patched here are the ones dist/src/server.js
 * loads, so patching a prototype reaches every instance the gateway makes.
 */
import crypto from 'node:crypto';
import { syncBuiltinESMExports } from 'node:module';
import { Tracing, type SpanHandle } from '../src/observability/tracing.js';
import { HistogramSeries, Scalar } from '../src/observability/families.js';
import { ConnectionTracker } from '../src/graceful-close.js';

export const LEDGER_SWITCHES = ['span', 'metrics', 'reqid', 'conntrack'] as const;
export type LedgerSwitch = (typeof LEDGER_SWITCHES)[number];

const off = new Set((process.env.LOADTEST_LEDGER_OFF ?? '').split(',').filter(Boolean));
for (const s of off) {
  if (!(LEDGER_SWITCHES as readonly string[]).includes(s)) throw new Error(`LOADTEST_LEDGER_OFF: unknown switch "${s}" (known: ${LEDGER_SWITCHES.join(', ')})`);
}

if (off.has('span')) {
  const fixed: SpanHandle = Object.freeze({
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'b7ad6b7169203331',
    traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00',
    span: undefined,
  });
  Tracing.prototype.startServer = () => fixed;
  Tracing.prototype.startClient = () => fixed;
}

if (off.has('metrics')) {
  HistogramSeries.prototype.observe = () => undefined;
  Scalar.prototype.inc = () => undefined;
}

if (off.has('reqid')) {
  const id = '00000000-0000-4000-8000-000000000000';
  crypto.randomUUID = () => id;
  syncBuiltinESMExports();
}

if (off.has('conntrack')) {
  // private in TypeScript; the constructor's listener calls it through `this`
  (ConnectionTracker.prototype as unknown as { onRequest: () => void }).onRequest = () => undefined;
}
