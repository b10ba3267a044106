/** `strangler parity [context]`: the shadow comparison, as the operator reads it (--json: the admin API's body). */
import type { ParityDetailResponse, ParityListResponse } from '../parity/schemas.js';
import { table } from './format.js';

type Counts = ParityListResponse['contexts'][number]['counts'];

function rate(c: Counts): string {
  const compared = c.match + c.mismatch + c.noise;
  return compared === 0 ? '-' : `${((c.mismatch / compared) * 100).toFixed(2)}%`;
}

const row = (c: Counts) => [String(c.match), String(c.mismatch), String(c.noise), String(c.error), String(c.shed), rate(c)];
const HEAD = ['MATCH', 'MISMATCH', 'NOISE', 'ERROR', 'SHED', 'MISMATCH RATE'];

export function formatParityList(res: ParityListResponse): string {
  return table(['CONTEXT', 'SHADOW', ...HEAD], res.contexts.map((c) => [c.context, `${c.shadowPercent}%`, ...row(c.counts)]));
}

/** Where the comparisons run (SHADOW_ISOLATION), for a context that is shadowed. */
function comparedIn(res: ParityDetailResponse): string {
  const where = res.comparedIn;
  if (!where || where.mode === 'none' || res.shadowPercent === 0) return '';
  if (where.mode === 'inline') return ", compared on the gateway's loop";
  return where.pid === undefined ? ', shadow process restarting' : `, compared in shadow process ${where.pid} (nice ${where.nice ?? 0})`;
}

export function formatParity(res: ParityDetailResponse): string {
  const out = [
    `${res.context}: shadow ${res.shadowPercent}% of reads${comparedIn(res)}`,
    table(['COUNTS', ...HEAD], [['this instance', ...row(res.counts)], ['all instances', ...row(res.sharedCounts)]]),
  ];
  if (res.fields.length > 0) out.push('', table(['MISMATCHING FIELD', 'MISMATCHES'], res.fields.map((f) => [f.path, String(f.mismatches)])));
  if (res.noise && res.noise.length > 0) out.push('', `noise (ignored: the same arm disagrees with itself): ${res.noise.join(', ')}`);
  const r = res.rules;
  const tolerance = Object.entries(r?.tolerance ?? {}).map(([p, by]) => `${p} ±${by}`);
  if (r && (r.ignore.length > 0 || r.unordered.length > 0 || tolerance.length > 0)) {
    out.push('', `rules: ${[r.ignore.length > 0 ? `ignored ${r.ignore.join(', ')}` : '', r.unordered.length > 0 ? `unordered ${r.unordered.join(', ')}` : '', tolerance.length > 0 ? `tolerance ${tolerance.join(', ')}` : ''].filter(Boolean).join('; ')}`);
  }
  if (res.samples.length > 0) {
    out.push('', 'last mismatches (newest first):');
    for (const s of res.samples) {
      out.push(`  ${s.at}  request ${s.requestId}${s.traceId ? `  trace ${s.traceId}` : ''}  served by ${s.servedBy}`);
      for (const d of s.differences) out.push(`    ${d.path}: legacy ${JSON.stringify(d.legacy)}  new ${JSON.stringify(d.modern)}`);
    }
  }
  return out.join('\n');
}
