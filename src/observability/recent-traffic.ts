/**
 * Recent traffic per context (requests and 5xx answers over the last minute), for operators:
 * `GET /admin/routes` and `strangler status` show it next to each context's rollout, so a flip
 * can be judged at a glance. A ring of per-second buckets: recording is two array writes.
 */
import { CONTEXTS, type ContextName } from '../contexts/names.js';

export interface TrafficView {
  reqPerSec: number;
  errorRate: number;
  windowSeconds: number;
}

export class RecentTraffic {
  private readonly seconds: Float64Array;
  private readonly total: Float64Array;
  private readonly errors: Float64Array;

  constructor(readonly windowSeconds = 60) {
    const n = CONTEXTS.length * windowSeconds;
    this.seconds = new Float64Array(n).fill(-1);
    this.total = new Float64Array(n);
    this.errors = new Float64Array(n);
  }

  record(context: ContextName, status: number, nowMs = Date.now()): void {
    const sec = Math.floor(nowMs / 1000);
    const i = CONTEXTS.indexOf(context) * this.windowSeconds + (sec % this.windowSeconds);
    if (this.seconds[i] !== sec) {
      this.seconds[i] = sec;
      this.total[i] = 0;
      this.errors[i] = 0;
    }
    this.total[i]! += 1;
    if (status >= 500) this.errors[i]! += 1;
  }

  read(context: ContextName, nowMs = Date.now()): TrafficView {
    const now = Math.floor(nowMs / 1000);
    const base = CONTEXTS.indexOf(context) * this.windowSeconds;
    let total = 0;
    let errors = 0;
    for (let k = 0; k < this.windowSeconds; k++) {
      const sec = this.seconds[base + k]!;
      // the current second is still filling: the window is the last `windowSeconds` full ones
      if (sec >= now - this.windowSeconds && sec < now) {
        total += this.total[base + k]!;
        errors += this.errors[base + k]!;
      }
    }
    return { reqPerSec: total / this.windowSeconds, errorRate: total === 0 ? 0 : errors / total, windowSeconds: this.windowSeconds };
  }
}
