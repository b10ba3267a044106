/**
 * What a run leaves behind: a table on stdout, a JSON report (the numbers, for diffing runs) and
 * a self-contained HTML report (inline SVG, no scripts, no network) that shows at a glance what
 * happened second by second, with the flip or the fault marked on every chart.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import os from 'node:os';
import type { LatencyStats } from './stats.js';
import type { Marker, RunResult, Second } from './load.js';
import type { CpuSummary, HeapSummary, Row } from './profile.js';
import { ROOT } from './paths.js';

export const REPORTS_DIR = join(ROOT, 'load-tests', 'reports');

export interface Check {
  name: string;
  target: string;
  value: string;
  /** null: not applicable in this run (e.g. no gateway process to sample) */
  pass: boolean | null;
}

export interface WindowRow extends LatencyStats {
  name: string;
  from: number;
  to: number;
  requests: number;
  rps: number;
  non2xx: number;
  errors: number;
}

export interface ProcSummary {
  name: string;
  pid: number;
  rssMaxMb: number;
  rssMeanMb: number;
  cpuMeanPct: number;
}

export interface ScenarioReport {
  kind: 'scenario';
  scenario: string;
  summary: string;
  command: string;
  machine: { cpus: number; cpuModel: string; node: string; platform: string };
  target: string;
  external: boolean;
  options: { durationS: number; connections: number; warmupS: number; logLevel: string; flags: string; rate: number | null; gatewayNodeArgs: string };
  result: Omit<RunResult, 'latenciesBySecond' | 'armResponses' | 'arrivalsBySecond'>;
  windows: WindowRow[];
  checks: Check[];
  notes: string[];
  processes: ProcSummary[];
  gateway?: { cpuMsPerRequest: number | null; logBytesPerRequest: number | null; eluMean: number | null; gcMsPerSecond: number | null; heapUsedMaxMb: number | null };
  profile?: { cpu?: CpuSummary; heap?: HeapSummary; cpuProfilePath?: string; heapProfilePath?: string };
}

export function machine(): ScenarioReport['machine'] {
  return { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? '', node: process.version, platform: `${os.platform()} ${os.release()}` };
}

export function stamp(): string {
  return new Date().toISOString().replace(/[:.]/g, '-').replace(/Z$/, 'Z');
}

export function writeReport(name: string, json: object, html: string, dir = REPORTS_DIR): { json: string; html: string } {
  mkdirSync(dir, { recursive: true });
  const base = join(dir, `${name}-${stamp()}`);
  writeFileSync(`${base}.json`, JSON.stringify(json, null, 2));
  writeFileSync(`${base}.html`, html);
  return { json: `${base}.json`, html: `${base}.html` };
}

// ---------------------------------------------------------------- text

export function table(head: readonly string[], body: ReadonlyArray<ReadonlyArray<string | number>>): string {
  const cells = [head, ...body].map((r) => r.map((c) => String(c)));
  const widths = head.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]) => '│ ' + r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' │ ') + ' │';
  const sep = (l: string, m: string, r: string) => l + widths.map((w) => '─'.repeat(w + 2)).join(m) + r;
  return [sep('┌', '┬', '┐'), line(cells[0]!), sep('├', '┼', '┤'), ...cells.slice(1).map(line), sep('└', '┴', '┘')].join('\n');
}

export const fmt = (v: number, d = 2) => (Number.isFinite(v) ? v.toFixed(d) : '–');

export function summaryTable(rows: readonly { name: string; rps: number; latency: LatencyStats; non2xx: number; errors: number; requests: number }[]): string {
  return table(
    ['run', 'req/s', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'requests', 'non-2xx', 'errors'],
    rows.map((r) => [r.name, fmt(r.rps, 0), fmt(r.latency.p50), fmt(r.latency.p90), fmt(r.latency.p99), fmt(r.latency.max), r.requests, r.non2xx, r.errors]),
  );
}

export function checksTable(checks: readonly Check[]): string {
  return table(
    ['check', 'target', 'measured', 'result'],
    checks.map((c) => [c.name, c.target, c.value, c.pass === null ? 'n/a' : c.pass ? 'PASS' : 'MISS']),
  );
}

// ---------------------------------------------------------------- HTML

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#4b5563', '#ca8a04'];

export interface Series {
  name: string;
  color: string;
  values: readonly (number | null)[];
  dashed?: boolean;
}

interface ChartOpts {
  title: string;
  unit: string;
  seconds: number;
  markers: readonly Marker[];
  /** draw the series as stacked bars instead of lines */
  stacked?: boolean;
  /** clip the y axis here (values above are drawn at the top edge and said in the title) */
  yMax?: number;
  width?: number;
  height?: number;
}

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/** One chart as inline SVG: x = seconds of the run, markers as labelled dashed verticals. */
export function chart(series: readonly Series[], o: ChartOpts): string {
  const W = o.width ?? 1100;
  const H = o.height ?? 230;
  const L = 64;
  const R = 16;
  const T = 46;
  const B = 30;
  const pw = W - L - R;
  const ph = H - T - B;
  const n = Math.max(1, o.seconds);
  let top = 0;
  if (o.stacked) {
    for (let i = 0; i < n; i++) top = Math.max(top, series.reduce((s, x) => s + (x.values[i] ?? 0), 0));
  } else {
    for (const s of series) for (const v of s.values) if (v !== null) top = Math.max(top, v);
  }
  const clipped = o.yMax !== undefined && top > o.yMax;
  const yMax = niceMax(clipped ? o.yMax! : top);
  const x = (t: number) => L + (t / n) * pw;
  const y = (v: number) => T + ph - (Math.min(v, yMax) / yMax) * ph;
  const out: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui,sans-serif" font-size="11">`];
  out.push(`<text x="${L}" y="14" font-size="13" font-weight="600">${esc(o.title)}${clipped ? ` <tspan fill="#b45309" font-weight="400">(y clipped at ${yMax} ${esc(o.unit)}; peak ${top.toFixed(1)})</tspan>` : ''}</text>`);
  // grid and y labels
  for (let i = 0; i <= 4; i++) {
    const v = (yMax * i) / 4;
    const yy = y(v);
    out.push(`<line x1="${L}" x2="${W - R}" y1="${yy}" y2="${yy}" stroke="#e5e7eb"/>`);
    out.push(`<text x="${L - 6}" y="${yy + 4}" text-anchor="end" fill="#6b7280">${Number(v.toPrecision(3))}</text>`);
  }
  out.push(`<text x="12" y="${T + ph / 2}" transform="rotate(-90 12 ${T + ph / 2})" text-anchor="middle" fill="#6b7280">${esc(o.unit)}</text>`);
  const step = n > 60 ? 10 : n > 20 ? 5 : n > 10 ? 2 : 1;
  for (let t = 0; t <= n; t += step) out.push(`<text x="${x(t)}" y="${H - 12}" text-anchor="middle" fill="#6b7280">${t}s</text>`);
  out.push(`<line x1="${L}" x2="${W - R}" y1="${T + ph}" y2="${T + ph}" stroke="#9ca3af"/>`);
  if (o.stacked) {
    const bw = Math.max(1, pw / n - 2);
    for (let i = 0; i < n; i++) {
      let base = 0;
      for (const s of series) {
        const v = s.values[i] ?? 0;
        if (v <= 0) continue;
        const y0 = y(base);
        const y1 = y(base + v);
        out.push(`<rect x="${x(i) + 1}" y="${y1}" width="${bw}" height="${Math.max(0.5, y0 - y1)}" fill="${s.color}"><title>${i}s ${esc(s.name)}: ${v}</title></rect>`);
        base += v;
      }
    }
  } else {
    for (const s of series) {
      let d = '';
      s.values.forEach((v, i) => {
        if (v === null) return;
        d += `${d ? 'L' : 'M'}${x(i + 0.5).toFixed(1)},${y(v).toFixed(1)}`;
      });
      if (d) out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="${s.dashed ? 1.2 : 2}"${s.dashed ? ' stroke-dasharray="4 3"' : ''}/>`);
      s.values.forEach((v, i) => {
        if (v !== null) out.push(`<circle cx="${x(i + 0.5).toFixed(1)}" cy="${y(v).toFixed(1)}" r="2" fill="${s.color}"><title>${i}s ${esc(s.name)}: ${v}</title></circle>`);
      });
    }
  }
  o.markers.forEach((m, i) => {
    const mx = x(m.t);
    // staggered, so markers a second apart (a flip and its first effect) stay readable
    out.push(`<line x1="${mx}" x2="${mx}" y1="${T - 4}" y2="${T + ph}" stroke="#111827" stroke-width="1.5" stroke-dasharray="5 3"/>`);
    const ty = T + 10 + (i % 3) * 13;
    const label = `${m.label} @ ${m.t.toFixed(1)}s`;
    const right = mx > W - R - label.length * 6.5;
    out.push(`<text x="${right ? mx - 4 : mx + 4}" y="${ty}" text-anchor="${right ? 'end' : 'start'}" font-weight="600" fill="#111827" stroke="#fff" stroke-width="3" paint-order="stroke">${esc(label)}</text>`);
  });
  // legend on its own row under the title, so long titles and many series never overlap
  let lx = L;
  for (const s of series) {
    out.push(`<rect x="${lx}" y="21" width="12" height="10" fill="${s.color}"/><text x="${lx + 16}" y="30">${esc(s.name)}</text>`);
    lx += 16 + s.name.length * 6.2 + 14;
  }
  out.push('</svg>');
  return out.join('');
}

/** share (%) of responses per second in which each context was served by each arm */
export function routeShares(seconds: readonly Second[]): Series[] {
  const keys = new Set<string>();
  for (const s of seconds) for (const r of Object.keys(s.routes)) for (const part of r.split(', ')) keys.add(part);
  const interesting = [...keys].filter((k) => !k.endsWith('=legacy')).sort();
  return interesting.map((k, i) => ({
    name: `${k} %`,
    color: COLORS[i % COLORS.length]!,
    // among responses that carry the header: a 503 shed before routing says nothing of routing
    values: seconds.map((s) => {
      let n = 0;
      let routed = 0;
      for (const [r, c] of Object.entries(s.routes)) {
        routed += c;
        if (r.split(', ').includes(k)) n += c;
      }
      return routed === 0 ? null : Math.round((n / routed) * 1000) / 10;
    }),
  }));
}

function htmlTable(head: readonly string[], body: ReadonlyArray<ReadonlyArray<string | number>>, cls = ''): string {
  return `<table class="${cls}"><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${body
    .map((r) => `<tr>${r.map((c, i) => `<td${i > 0 && typeof c === 'number' ? ' class="num"' : ''}>${esc(String(c))}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

function rowsTable(title: string, unit: string, r: readonly Row[] | undefined): string {
  if (!r?.length) return '';
  return `<h3>${esc(title)}</h3>` + htmlTable(['%', unit, 'where'], r.map((x) => [x.pct.toFixed(1), x.value, x.name]), 'profile');
}

export const STYLE = `body{font-family:system-ui,sans-serif;margin:24px;color:#111827;max-width:1140px}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:24px 0 8px}h3{font-size:14px;margin:16px 0 6px}
.sub{color:#4b5563;margin:0 0 12px}code{background:#f3f4f6;padding:1px 4px;border-radius:3px}
table{border-collapse:collapse;margin:6px 0 12px;font-size:12px}th,td{border:1px solid #e5e7eb;padding:3px 8px;text-align:left}
th{background:#f9fafb}td.num{text-align:right;font-variant-numeric:tabular-nums}
.pass{color:#15803d;font-weight:600}.miss{color:#b91c1c;font-weight:600}.na{color:#6b7280}
.kpis{display:flex;gap:12px;flex-wrap:wrap;margin:8px 0}.kpi{border:1px solid #e5e7eb;border-radius:6px;padding:6px 12px;min-width:90px}
.kpi b{display:block;font-size:18px}.kpi span{color:#6b7280;font-size:11px}
ul.notes li{margin:3px 0}svg{display:block;margin:4px 0 8px;border:1px solid #f3f4f6}
table.profile td:last-child{font-family:ui-monospace,monospace;font-size:11px}`;

function checksHtml(checks: readonly Check[]): string {
  if (!checks.length) return '';
  return `<table><thead><tr><th>check</th><th>target</th><th>measured</th><th>result</th></tr></thead><tbody>${checks
    .map((c) => `<tr><td>${esc(c.name)}</td><td>${esc(c.target)}</td><td>${esc(c.value)}</td><td class="${c.pass === null ? 'na' : c.pass ? 'pass' : 'miss'}">${c.pass === null ? 'n/a' : c.pass ? 'PASS' : 'MISS'}</td></tr>`)
    .join('')}</tbody></table>`;
}

export function scenarioHtml(r: ScenarioReport): string {
  const secs = r.result.seconds;
  const n = secs.length;
  const m = r.result.markers;
  const ok = secs.map((s) => s.requests - s.non2xx);
  const p99s = secs.map((s) => s.latency.p99);
  const latCap = Math.max(1, ...p99s) * 1.6;
  const charts: string[] = [];
  charts.push(
    chart(
      [
        { name: '2xx', color: '#16a34a', values: ok },
        { name: 'non-2xx', color: '#f59e0b', values: secs.map((s) => s.non2xx) },
        { name: 'errors', color: '#dc2626', values: secs.map((s) => s.errors) },
      ],
      { title: 'Throughput (responses per second)', unit: 'req/s', seconds: n, markers: m, stacked: true },
    ),
  );
  charts.push(
    chart(
      [
        { name: 'p50', color: '#2563eb', values: secs.map((s) => (s.requests ? s.latency.p50 : null)) },
        { name: 'p90', color: '#9333ea', values: secs.map((s) => (s.requests ? s.latency.p90 : null)) },
        { name: 'p99', color: '#dc2626', values: secs.map((s) => (s.requests ? s.latency.p99 : null)) },
        { name: 'max', color: '#9ca3af', values: secs.map((s) => (s.requests ? s.latency.max : null)), dashed: true },
      ],
      { title: 'Latency per second (all responses)', unit: 'ms', seconds: n, markers: m, yMax: latCap },
    ),
  );
  const shares = routeShares(secs);
  if (shares.length) charts.push(chart(shares, { title: 'Routing: share of routed responses (those with x-strangler-route) served by the new arm or a fallback, per context', unit: '%', seconds: n, markers: m, yMax: 100 }));
  const statusKeys = [...new Set(secs.flatMap((s) => Object.keys(s.statuses)))].filter((k) => !k.startsWith('2')).sort();
  if (statusKeys.length) {
    charts.push(
      chart(
        statusKeys.map((k, i) => ({ name: `HTTP ${k}`, color: COLORS[(i + 1) % COLORS.length]!, values: secs.map((s) => s.statuses[k] ?? 0) })),
        { title: 'Non-2xx responses per second, by status', unit: 'responses', seconds: n, markers: m, stacked: true },
      ),
    );
  }
  const procNames = [...new Set(secs.flatMap((s) => Object.keys(s.procs)))];
  if (procNames.length) {
    charts.push(chart(procNames.map((p, i) => ({ name: `${p} CPU`, color: COLORS[i % COLORS.length]!, values: secs.map((s) => s.procs[p]?.cpuPct ?? null) })), { title: 'CPU per process (100 % = one core; harness = the load generator; other = the rest of the machine)', unit: '%', seconds: n, markers: m }));
    charts.push(chart(procNames.filter((p) => p !== 'other').map((p, i) => ({ name: `${p} RSS`, color: COLORS[i % COLORS.length]!, values: secs.map((s) => s.procs[p]?.rssMb ?? null) })), { title: 'Resident memory per process (from /proc/<pid>/status VmRSS)', unit: 'MB', seconds: n, markers: m }));
  }
  if (secs.some((s) => s.probe)) {
    charts.push(
      chart(
        [
          { name: 'event-loop utilisation %', color: '#2563eb', values: secs.map((s) => (s.probe ? Math.round(s.probe.elu * 1000) / 10 : null)) },
          { name: 'GC ms per second', color: '#dc2626', values: secs.map((s) => s.probe?.gcMs ?? null) },
          { name: 'loop delay p99 ms', color: '#ca8a04', values: secs.map((s) => s.probe?.loopDelayP99Ms ?? null), dashed: true },
        ],
        { title: 'Gateway internals (probe inside the gateway process)', unit: '% / ms', seconds: n, markers: m },
      ),
    );
  }
  const res = r.result;
  const kpi = (v: string, label: string) => `<div class="kpi"><b>${esc(v)}</b><span>${esc(label)}</span></div>`;
  const statusRows = Object.entries(res.statuses).sort().map(([k, v]) => [k, v]);
  const routeRows = Object.entries(res.routes).sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, v]);
  return `<!doctype html><html><head><meta charset="utf-8"><title>${esc(r.scenario)} · load test</title><style>${STYLE}</style></head><body>
<h1>Load test: ${esc(r.scenario)}</h1>
<p class="sub">${esc(r.summary)}</p>
<p class="sub">${esc(res.startedAt)} · target <code>${esc(r.target)}</code>${r.external ? ' (external)' : ' (embedded world)'} · ${r.options.connections} connections${r.options.rate ? ` at ${r.options.rate} req/s (open loop)` : ' (closed loop)'}${r.options.gatewayNodeArgs ? ` · gateway node ${esc(r.options.gatewayNodeArgs)}` : ''} · ${r.options.durationS}s (+${r.options.warmupS}s warmup, not recorded) · LOG_LEVEL=${esc(r.options.logLevel)} · flags at start: ${esc(r.options.flags)}<br>
${esc(r.machine.cpus + ' × ' + r.machine.cpuModel)} · Node ${esc(r.machine.node)} · <code>${esc(r.command)}</code></p>
<div class="kpis">${kpi(fmt(res.rps, 0), 'req/s')}${kpi(fmt(res.latency.p50), 'p50 ms')}${kpi(fmt(res.latency.p90), 'p90 ms')}${kpi(fmt(res.latency.p99), 'p99 ms')}${kpi(fmt(res.latency.max), 'max ms')}${kpi(String(res.non2xx), 'non-2xx')}${kpi(String(res.errors), 'errors')}${kpi(String(res.requests), 'responses')}</div>
${r.checks.length ? `<h2>Checks</h2>${checksHtml(r.checks)}` : ''}
${m.length ? `<h2>Events</h2>${htmlTable(['t', 'event', 'detail'], m.map((x) => [`${x.t.toFixed(2)}s`, x.label, x.detail]))}` : ''}
${r.windows.length ? `<h2>Windows</h2>${htmlTable(['window', 'seconds', 'req/s', 'p50', 'p90', 'p99', 'max', 'non-2xx', 'errors'], r.windows.map((w) => [w.name, `${w.from}–${w.to}`, fmt(w.rps, 0), fmt(w.p50), fmt(w.p90), fmt(w.p99), fmt(w.max), w.non2xx, w.errors]))}` : ''}
<h2>Timeline</h2>
${charts.join('\n')}
<h2>Responses</h2>
${htmlTable(['status', 'count'], statusRows)}
${routeRows.length ? htmlTable(['x-strangler-route', 'count'], routeRows) : ''}
${r.processes.length ? `<h2>Processes</h2>${htmlTable(['process', 'pid', 'RSS max MB', 'RSS mean MB', 'CPU mean %'], r.processes.map((p) => [p.name, p.pid, p.rssMaxMb, p.rssMeanMb, p.cpuMeanPct]))}` : ''}
${r.gateway ? `<p>Gateway CPU per request: ${r.gateway.cpuMsPerRequest ?? '–'} ms · log volume: ${r.gateway.logBytesPerRequest ?? '–'} bytes per request · mean event-loop utilisation ${r.gateway.eluMean ?? '–'} · GC ${r.gateway.gcMsPerSecond ?? '–'} ms per second · heap used max ${r.gateway.heapUsedMaxMb ?? '–'} MB</p>` : ''}
${r.notes.length ? `<h2>Notes</h2><ul class="notes">${r.notes.map((x) => `<li>${esc(x)}</li>`).join('')}</ul>` : ''}
${r.profile?.cpu ? `<h2>CPU profile of the gateway (${esc(r.profile.cpu.window)}, ${r.profile.cpu.totalMs} ms sampled)</h2>${rowsTable('Self time by package / module', 'ms', r.profile.cpu.byCategory)}${rowsTable('Inclusive time by package / module (callees included)', 'ms', r.profile.cpu.byCategoryInclusive)}${rowsTable('Top self time by function', 'ms', r.profile.cpu.topSelf)}${rowsTable('Inclusive time of our own functions (src/, routes/)', 'ms', r.profile.cpu.ownInclusive)}` : ''}
${r.profile?.heap ? `<h2>Allocations in the gateway (sampling heap profiler, collected objects included): ${r.profile.heap.totalMb} MB for ${r.profile.heap.requests} requests ≈ ${r.profile.heap.bytesPerRequest} bytes/request</h2>${rowsTable('Allocated by package / module', 'KiB', r.profile.heap.byCategory)}${rowsTable('Top allocating functions (self)', 'KiB', r.profile.heap.topSelf)}${rowsTable('Allocated under our own functions (inclusive)', 'KiB', r.profile.heap.ownInclusive)}` : ''}
</body></html>`;
}

export { htmlTable, esc, checksHtml, COLORS };
