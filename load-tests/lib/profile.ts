/**
 * Reading the gateway's profiles: V8 CPU profiles (`node --cpu-prof`, .cpuprofile) and sampling
 * heap profiles (.heapprofile, with collected objects included, see probe.ts). Both are reduced
 * to what a person acts on: self time (or bytes) by function and by package/module, and the
 * inclusive share of our own functions, restricted to the measured window when the clocks allow.
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { ROOT, sourceOf } from './paths.js';
import { round } from './stats.js';
import type { SourceMaps } from './sourcemap.js';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface CpuNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: CpuNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

interface HeapNode {
  callFrame: CallFrame;
  selfSize: number;
  id: number;
  children: HeapNode[];
}

export interface Row {
  name: string;
  value: number;
  pct: number;
}

export interface CpuSummary {
  file: string;
  /** the window the numbers cover: "measured run" or "whole process (clocks did not line up)" */
  window: string;
  totalMs: number;
  samples: number;
  topSelf: Row[];
  byCategory: Row[];
  /** time with at least one frame of the package/module on the stack (what it costs, callees included) */
  byCategoryInclusive: Row[];
  ownInclusive: Row[];
}

export interface HeapSummary {
  file: string;
  totalMb: number;
  requests: number;
  bytesPerRequest: number;
  topSelf: Row[];
  byCategory: Row[];
  ownInclusive: Row[];
}

function shortUrl(url: string): string {
  if (!url) return '';
  const path = url.startsWith('file://') ? url.slice(7) : url;
  const nm = path.lastIndexOf('/node_modules/');
  if (nm >= 0) return path.slice(nm + '/node_modules/'.length);
  // the gateway runs compiled: its frames are named after the TypeScript they came from, as the
  // source-mapped line numbers are, so that the own-code rows (`own src/`, `own routes/`) find them
  if (path.startsWith('/')) return sourceOf(relative(ROOT, path));
  return path;
}

/** Where a frame belongs: GC, idle, a package, a Node internal module, or our own file. */
export function category(cf: CallFrame): string {
  const fn = cf.functionName;
  if (!cf.url) {
    if (fn === '(garbage collector)') return 'GC';
    if (fn === '(idle)') return '(idle)';
    if (fn === '(program)') return '(program: V8/native, unattributed)';
    if (fn === '(root)') return '(root)';
    return '(native builtins)';
  }
  // undici parses HTTP with llhttp compiled to WebAssembly
  if (cf.url.startsWith('wasm:')) return 'wasm (undici llhttp)';
  const url = cf.url.startsWith('file://') ? cf.url.slice(7) : cf.url;
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const parts = url.slice(nm + 14).split('/');
    return `pkg ${parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]}`;
  }
  if (url.startsWith('node:')) {
    const parts = url.replace(/^node:(internal\/)?/, '').split('/');
    return `node ${parts[0] === 'deps' ? `deps/${parts[1]}` : (parts[0] ?? '')}`;
  }
  const rel = relative(ROOT, url);
  return rel.startsWith('..') ? url : `own ${sourceOf(rel)}`;
}

let maps: SourceMaps | undefined;

function frameKey(cf: CallFrame): string {
  const where = shortUrl(cf.url);
  const mapped = maps?.lookup(cf.url, cf.lineNumber, cf.columnNumber);
  return `${cf.functionName || '(anonymous)'}${where ? ` ${where}:${mapped ? mapped.line : cf.lineNumber + 1}` : ''}`;
}

function isOwn(cf: CallFrame): boolean {
  const c = category(cf);
  return c.startsWith('own src/') || c.startsWith('own routes/');
}

function rows(map: Map<string, number>, total: number, top: number, scale = 1): Row[] {
  return [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, v]) => ({ name, value: round(v * scale, 1), pct: round((v / total) * 100, 1) }));
}

const add = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);

/**
 * Summarizes a .cpuprofile. Samples outside [fromUs, toUs] (CLOCK_MONOTONIC µs, the clock V8
 * stamps profiles with on Linux) are dropped, so boot, tsx transpiling and warmup do not count.
 */
export function summarizeCpu(file: string, fromUs?: number, toUs?: number, sourceMaps?: SourceMaps, top = 25): CpuSummary {
  maps = sourceMaps;
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map<number, CpuNode>();
  const parent = new Map<number, number>();
  for (const n of p.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const inWindow = fromUs !== undefined && toUs !== undefined && p.startTime < toUs && p.endTime > fromUs;
  const window = inWindow ? 'measured run only' : 'whole process (boot and warmup included: the profile clock did not overlap the run)';
  const self = new Map<string, number>();
  const cats = new Map<string, number>();
  const own = new Map<string, number>();
  const catsIncl = new Map<string, number>();
  let total = 0;
  let counted = 0;
  let t = p.startTime;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i] ?? 0;
    // the interval up to the next sample is spent where this sample was taken
    const dt = p.timeDeltas[i + 1] ?? 0;
    if (inWindow && (t < fromUs! || t > toUs!)) continue;
    const node = byId.get(p.samples[i]!);
    if (!node) continue;
    total += dt;
    counted++;
    add(self, frameKey(node.callFrame), dt);
    add(cats, category(node.callFrame), dt);
    const seen = new Set<string>();
    const seenCat = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const cf = byId.get(id)!.callFrame;
      const c = category(cf);
      if (!seenCat.has(c)) {
        seenCat.add(c);
        add(catsIncl, c, dt);
      }
      if (!isOwn(cf)) continue;
      const k = frameKey(cf);
      if (!seen.has(k)) {
        seen.add(k);
        add(own, k, dt);
      }
    }
  }
  if (inWindow && counted === 0) return summarizeCpu(file, undefined, undefined, sourceMaps, top);
  return {
    file,
    window,
    totalMs: round(total / 1000, 1),
    samples: counted,
    topSelf: rows(self, total, top, 1 / 1000),
    byCategory: rows(cats, total, top, 1 / 1000),
    byCategoryInclusive: rows(new Map([...catsIncl].filter(([k]) => k !== '(root)')), total, top, 1 / 1000),
    ownInclusive: rows(own, total, top, 1 / 1000),
  };
}

/** Summarizes a sampling heap profile: where the bytes allocated during the run were allocated. */
export function summarizeHeap(file: string, requests: number, sourceMaps?: SourceMaps, top = 25): HeapSummary {
  maps = sourceMaps;
  const head = (JSON.parse(readFileSync(file, 'utf8')) as { head: HeapNode }).head;
  const self = new Map<string, number>();
  const cats = new Map<string, number>();
  const own = new Map<string, number>();
  let total = 0;
  // returns the subtree size, crediting it to each own function once per path
  const walk = (n: HeapNode, ownOnPath: Set<string>): number => {
    total += n.selfSize;
    add(self, frameKey(n.callFrame), n.selfSize);
    add(cats, category(n.callFrame), n.selfSize);
    const key = frameKey(n.callFrame);
    const mine = isOwn(n.callFrame) && !ownOnPath.has(key);
    if (mine) ownOnPath.add(key);
    let size = n.selfSize;
    for (const c of n.children) size += walk(c, ownOnPath);
    if (mine) {
      ownOnPath.delete(key);
      add(own, key, size);
    }
    return size;
  };
  walk(head, new Set());
  const MB = 1 / 1048576;
  return {
    file,
    totalMb: round(total * MB, 1),
    requests,
    bytesPerRequest: requests > 0 ? Math.round(total / requests) : 0,
    topSelf: rows(self, total, top, 1 / 1024),
    byCategory: rows(cats, total, top, 1 / 1024),
    ownInclusive: rows(own, total, top, 1 / 1024),
  };
}

export function formatRows(title: string, unit: string, r: readonly Row[]): string {
  const w = Math.min(90, Math.max(20, ...r.map((x) => x.name.length)));
  return [`${title}`, ...r.map((x) => `  ${x.pct.toFixed(1).padStart(5)} %  ${String(x.value).padStart(10)} ${unit}  ${x.name.length > w ? x.name.slice(0, w - 1) + '…' : x.name}`)].join('\n');
}
