/**
 * Preloaded into the gateway process by the harness (`node --import dist/load-tests/probe.js dist/src/server.js`),
 * never by the gateway itself. It observes what /proc cannot show from outside:
 * - once a second, a JSON line to LOADTEST_PROBE_FILE: event-loop utilisation and delay, heap,
 *   GC count and pause time (is the gateway CPU-bound? is GC a big share?);
 * - with LOADTEST_HEAP_PROFILE set: V8's sampling heap profiler including objects already
 *   collected, between two SIGUSR2 (start, stop+write), so the profile shows where the
 *   per-request garbage is allocated, not only what survives;
 * - with LOADTEST_SOURCE_MAPS set: at the second SIGUSR2, the inline source maps of our modules,
 *   so the profiles can name TypeScript lines;
 * - the harness's death: if the parent goes away, the gateway is asked to shut down, so a
 *   SIGKILLed harness does not leave a gateway listening.
 * Its own cost is one timer a second and a GC observer; both are negligible against the load.
 */
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Session } from 'node:inspector';
import { getHeapSpaceStatistics } from 'node:v8';
import { monitorEventLoopDelay, performance, PerformanceObserver, type EventLoopUtilization } from 'node:perf_hooks';

const probeFile = process.env.LOADTEST_PROBE_FILE;
const heapFile = process.env.LOADTEST_HEAP_PROFILE;
const parentPid = process.ppid;

if (probeFile) {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  let gcCount = 0;
  let gcMs = 0;
  const gcKinds: Record<string, number> = {};
  // kinds from perf_hooks constants: NODE_PERFORMANCE_GC_MINOR = 1, MAJOR = 4, INCREMENTAL = 8, WEAKCB = 16
  const KIND: Record<number, string> = { 1: 'minor', 4: 'major', 8: 'incremental', 16: 'weakcb' };
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gcCount++;
      gcMs += e.duration;
      const kind = KIND[((e as PerformanceEntry & { detail?: { kind?: number } }).detail)?.kind ?? 0] ?? 'other';
      gcKinds[kind] = (gcKinds[kind] ?? 0) + e.duration;
    }
  }).observe({ entryTypes: ['gc'] });

  let lastElu: EventLoopUtilization = performance.eventLoopUtilization();
  const timer = setInterval(() => {
    const elu = performance.eventLoopUtilization(lastElu);
    lastElu = performance.eventLoopUtilization();
    const mem = process.memoryUsage();
    const line = {
      t: Date.now(),
      elu: Number(elu.utilization.toFixed(3)),
      loopDelayP99Ms: Number((delay.percentile(99) / 1e6).toFixed(2)),
      heapUsedMb: Number((mem.heapUsed / 1048576).toFixed(1)),
      // the young generation's current size: V8 grows it (up to its maximum) while objects
      // survive scavenges, and how large it is sets how often the gateway scavenges
      newSpaceMb: Number(((getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0) / 1048576).toFixed(1)),
      rssMb: Number((mem.rss / 1048576).toFixed(1)),
      gcCount,
      gcMs: Number(gcMs.toFixed(2)),
      gcMsByKind: Object.fromEntries(Object.entries(gcKinds).map(([k, v]) => [k, Number(v.toFixed(2))])),
    };
    delay.reset();
    gcCount = 0;
    gcMs = 0;
    for (const k of Object.keys(gcKinds)) delete gcKinds[k];
    try {
      appendFileSync(probeFile, JSON.stringify(line) + '\n');
    } catch {}
    if (process.ppid !== parentPid) process.kill(process.pid, 'SIGTERM');
  }, 1000);
  timer.unref();
}

const mapsFile = process.env.LOADTEST_SOURCE_MAPS;

if (heapFile || mapsFile) {
  const session = new Session();
  session.connect();
  let sampling = false;
  process.on('SIGUSR2', () => {
    if (!sampling) {
      sampling = true;
      // 16 KiB mean interval: enough samples for a 10-30 s run at a cost the run does not notice
      if (heapFile) {
        session.post('HeapProfiler.startSampling', {
          samplingInterval: 16384,
          includeObjectsCollectedByMajorGC: true,
          includeObjectsCollectedByMinorGC: true,
        });
      }
      return;
    }
    sampling = false;
    if (heapFile) {
      session.post('HeapProfiler.stopSampling', (err, result) => {
        if (!err) writeFileSync(heapFile, JSON.stringify(result.profile));
      });
    }
    if (mapsFile) dumpSourceMaps(session, mapsFile);
  });
}

/**
 * Profile positions name the generated JavaScript; the source maps of our modules (reported by
 * Debugger.scriptParsed for every script already parsed, synchronously on enable) let the
 * harness print `file.ts:line`. Inline maps (tsx) are kept as they are, map files next to the
 * compiled modules (`npm run build`) are read and inlined. Done after the measured window:
 * enabling the debugger is not free.
 */
function dumpSourceMaps(session: Session, file: string): void {
  const maps: Record<string, string> = {};
  const onParsed = (msg: { params: { url: string; sourceMapURL?: string } }) => {
    const { url, sourceMapURL } = msg.params;
    if (!url.startsWith('file://') || url.includes('/node_modules/') || !sourceMapURL) return;
    if (sourceMapURL.startsWith('data:')) {
      maps[url] = sourceMapURL;
      return;
    }
    try {
      maps[url] = `data:application/json;base64,${readFileSync(fileURLToPath(new URL(sourceMapURL, url))).toString('base64')}`;
    } catch {}
  };
  session.on('Debugger.scriptParsed', onParsed);
  session.post('Debugger.enable', () => {
    session.off('Debugger.scriptParsed', onParsed);
    session.post('Debugger.disable');
    writeFileSync(file, JSON.stringify(maps));
  });
}
