/**
 * Maps positions in tsx's transpiled code back to the TypeScript source. tsx minifies whitespace,
 * so in a raw profile every function of ours sits on "line 1"; the probe dumps the inline source
 * maps of our modules (Debugger.scriptParsed) and this turns a frame's generated position into
 * `file.ts:line` (Source Map v3, https://tc39.es/ecma426/).
 */
import { readFileSync } from 'node:fs';

interface RawMap {
  sources: string[];
  mappings: string;
  sourceRoot?: string;
}

/** per generated line: [generatedColumn, sourceIndex, sourceLine, sourceColumn][] sorted by column */
type Segments = number[][][];

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_VALUE = new Map([...B64].map((c, i) => [c, i]));

function decodeVlq(s: string, pos: { i: number }): number {
  let result = 0;
  let shift = 0;
  for (;;) {
    const digit = B64_VALUE.get(s[pos.i++] ?? '') ?? 0;
    result += (digit & 31) << shift;
    shift += 5;
    if (!(digit & 32)) break;
  }
  return result & 1 ? -(result >>> 1) : result >>> 1;
}

function decode(mappings: string): Segments {
  const lines: Segments = [];
  let src = 0;
  let srcLine = 0;
  let srcCol = 0;
  for (const line of mappings.split(';')) {
    const segs: number[][] = [];
    let genCol = 0;
    for (const seg of line.split(',')) {
      if (!seg) continue;
      const pos = { i: 0 };
      genCol += decodeVlq(seg, pos);
      if (pos.i >= seg.length) continue; // a segment without a source
      src += decodeVlq(seg, pos);
      srcLine += decodeVlq(seg, pos);
      srcCol += decodeVlq(seg, pos);
      segs.push([genCol, src, srcLine, srcCol]);
    }
    segs.sort((a, b) => a[0]! - b[0]!);
    lines.push(segs);
  }
  return lines;
}

export interface SourcePosition {
  source: string;
  /** 1-based */
  line: number;
}

export class SourceMaps {
  private readonly maps = new Map<string, { raw: RawMap; segments: Segments }>();

  /** reads the JSON file the probe writes: { [script url]: "data:application/json;base64,…" } */
  static load(file: string): SourceMaps {
    const out = new SourceMaps();
    try {
      const byUrl = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
      for (const [url, dataUrl] of Object.entries(byUrl)) {
        const comma = dataUrl.indexOf(',');
        const body = dataUrl.slice(comma + 1);
        const json = dataUrl.slice(0, comma).endsWith(';base64') ? Buffer.from(body, 'base64').toString('utf8') : decodeURIComponent(body);
        const raw = JSON.parse(json) as RawMap;
        out.maps.set(url, { raw, segments: decode(raw.mappings) });
      }
    } catch {}
    return out;
  }

  get size(): number {
    return this.maps.size;
  }

  /** line and column are 0-based, as V8 reports them in profiles */
  lookup(url: string, line: number, column: number): SourcePosition | undefined {
    const m = this.maps.get(url);
    const segs = m?.segments[line];
    if (!m || !segs?.length) return undefined;
    let best: number[] | undefined;
    for (const s of segs) {
      if (s[0]! <= column) best = s;
      else break;
    }
    best ??= segs[0];
    if (!best) return undefined;
    return { source: m.raw.sources[best[1]!] ?? url, line: best[2]! + 1 };
  }
}
