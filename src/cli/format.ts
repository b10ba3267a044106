/**
 * Human-readable output of the `strangler` CLI: plain aligned tables (no colours, so output
 * stays greppable and survives copy-paste into tickets). `--json` bypasses all of this.
 */
import type { AuditEntry, ChangeResponse, RoutesResponse, RouteView } from '../admin/schemas.js';
import type { RouteState } from '../routing/route-schema.js';

export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

function constraints(s: Pick<RouteState, 'constraints'>): string {
  if (s.constraints.length === 0) return '-';
  return s.constraints
    .map((c) => `${c.contextName} ${c.inverted ? 'NOT ' : ''}${c.operator} ${c.values?.join(',') ?? c.value ?? ''}`.trim())
    .join('; ');
}

function rollout(s: RouteState): string {
  const base = s.rollout === null ? 'custom' : `${s.rollout}%`;
  // More than one active strategy: another one may also send requests to the new service.
  return s.strategies > 1 ? `${base} (+${s.strategies - 1} strategies)` : base;
}

function state(s: RouteState): string {
  if (!s.defined) return 'missing';
  return s.enabled ? 'on' : 'off';
}

function breaker(r: RouteView): string {
  if (!r.breaker) return 'n/a';
  return `${r.breaker.new ?? 'n/a'}/${r.breaker.legacy ?? 'n/a'}`;
}

export function formatStatus(res: RoutesResponse, gateway: string): string {
  const lines = [
    `gateway  ${gateway}`,
    `flags    ${res.source}: ${res.location}${res.writable ? '' : res.source === 'file' ? '  (read-only: flag files with GATEWAY_INSTANCES > 1)' : '  (read-only: the gateway has no UNLEASH_ADMIN_TOKEN)'}`,
  ];
  if (res.stale) lines.push(`WARNING  the flag source is failing; routing continues on the last known flags: ${res.stale}`);
  lines.push('');
  lines.push(
    table(
      ['CONTEXT', 'FLAG', 'STATE', 'ROLLOUT', 'STICKINESS', 'CONSTRAINTS', 'SOURCE', 'BREAKER new/legacy', 'REQ/S', 'ERR%'],
      res.routes.map((r) => [
        r.context,
        r.flag,
        state(r),
        rollout(r),
        r.stickiness ?? '-',
        constraints(r),
        r.source,
        breaker(r),
        r.traffic ? r.traffic.reqPerSec.toFixed(1) : 'n/a',
        r.traffic ? `${(r.traffic.errorRate * 100).toFixed(1)}%` : 'n/a',
      ]),
    ),
  );
  return lines.join('\n');
}

/** One state in a few words: `on 25% userId baseSiteId IN electronics-spa`. */
export function brief(s: RouteState): string {
  if (!s.defined) return 'missing (legacy)';
  const parts = [state(s), rollout(s)];
  if (s.stickiness && s.stickiness !== 'default') parts.push(s.stickiness);
  if (s.constraints.length) parts.push(constraints(s));
  return parts.join(' ');
}

export function formatChange(res: ChangeResponse): string {
  const c = res.change;
  const head =
    c.action === 'kill'
      ? `${c.context}: KILLED, every request goes to legacy (was ${brief(c.before)}, now ${brief(c.after)})`
      : `${c.context}: ${brief(c.before)}  ->  ${brief(c.after)}`;
  const when = res.effectiveWithinMs === 0 ? 'in force now' : `in force within ${res.effectiveWithinMs} ms (the gateway's next fetch from Unleash)`;
  return [head, `  ${c.flag} written to ${c.location}; ${when}`, `  recorded ${c.at} by ${c.actor}${c.reason ? ` ("${c.reason}")` : ''}, audit id ${c.id}`].join('\n');
}

export function formatAudit(entries: readonly AuditEntry[], skipped: number): string {
  if (entries.length === 0) return skipped ? `no readable changes (${skipped} unreadable lines skipped)` : 'no changes recorded yet';
  const out = table(
    ['WHEN (UTC)', 'ACTOR', 'ACTION', 'CONTEXT', 'BEFORE', 'AFTER', 'SOURCE', 'REASON'],
    entries.map((e) => [e.at.replace('T', ' ').replace(/\.\d+Z$/, 'Z'), e.actor, e.action, e.context, brief(e.before), brief(e.after), e.source, e.reason ?? '-']),
  );
  return skipped ? `${out}\n(${skipped} unreadable lines skipped)` : out;
}
