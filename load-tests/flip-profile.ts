/**
 * Where a flip's CPU goes: the gateway's CPU profile of a `flip-under-load --profile` run, summed
 * over the 3 s from the flip and over the 3 s that end 1 s before it, side by side.
 *
 *   node --import tsx load-tests/flip-profile.ts load-tests/reports/flip-under-load-<time>.json
 */
import { readFileSync } from 'node:fs';
import { summarizeCpu, type Row } from './lib/profile.js';

const file = process.argv[2];
if (!file) throw new Error('usage: flip-profile.ts <flip-under-load report .json>');
const report = JSON.parse(readFileSync(file, 'utf8')) as {
  result: { monoStartUs: number; markers: { t: number; label: string }[] };
  profile?: { cpuProfilePath?: string };
};
const path = report.profile?.cpuProfilePath;
const flip = report.result.markers.find((m) => m.label.startsWith('flip'));
if (!path || !flip) throw new Error('the report has no CPU profile or no flip (run with --profile)');
const at = (s: number) => report.result.monoStartUs + s * 1e6;
const before = summarizeCpu(path, at(flip.t - 4), at(flip.t - 1), undefined, 40);
const during = summarizeCpu(path, at(flip.t), at(flip.t + 3), undefined, 40);
const show = (title: string, a: Row[], b: Row[]) => {
  const names = [...new Set([...b.slice(0, 18), ...a.slice(0, 10)].map((r) => r.name))];
  const of = (rows: Row[], n: string) => rows.find((r) => r.name === n)?.value ?? 0;
  process.stdout.write(`\n${title}: ms in the 3 s before (ending 1 s before the flip) → the 3 s from the flip\n`);
  for (const n of names.sort((x, y) => of(b, y) - of(b, x))) process.stdout.write(`  ${String(of(a, n)).padStart(8)} → ${String(of(b, n)).padStart(8)}  ${n}\n`);
};
process.stdout.write(`flip at ${flip.t} s; sampled ${before.totalMs} ms before, ${during.totalMs} ms from the flip\n`);
show('self time by package/module', before.byCategory, during.byCategory);
show('top self time by function', before.topSelf, during.topSelf);
show('inclusive time of own functions', before.ownInclusive, during.ownInclusive);
