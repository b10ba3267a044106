/**
 * The audit trail of routing changes, behind one interface (`AuditTrail`) with two backends:
 * - `AuditLog` (here): one JSON object per line in an append-only file (AUDIT_LOG_PATH). Each
 *   entry is written and fsynced before the change is acknowledged, so a change a client saw
 *   succeed is on disk; a restarted gateway reads the same file. One host's trail.
 * - `RedisAuditStream` (audit-stream.ts): a Redis stream shared by every instance (REDIS_URL), so
 *   `GET /admin/audit` on any instance shows every instance's changes, each once.
 */
import { mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { AuditEntrySchema, type AuditEntry } from './schemas.js';

const checkEntry = TypeCompiler.Compile(AuditEntrySchema);
const CHUNK = 64 * 1024;

export interface AuditPage {
  entries: AuditEntry[];
  /** records that do not parse or match the schema, left out */
  skipped: number;
}

export interface AuditTrail {
  readonly kind: 'file' | 'redis-stream';
  /** the file, or the Redis stream key: named in errors and logs */
  readonly path: string;
  /** Records an admin change (always: it happened through this instance). */
  append(entry: AuditEntry): Promise<void>;
  /**
   * Records a change this instance observed in the flag source. On a shared trail every instance
   * observes the same change: only the first records it, and a change an admin made through any
   * instance is not recorded again. Resolves whether this call recorded it.
   */
  appendObserved(entry: AuditEntry): Promise<boolean>;
  /**
   * An admin change of `context` starts / ended (`appended`: its entry is written). While one is
   * in progress, no instance records the context's change as observed: it is the admin's.
   */
  beginChange(context: string): Promise<void>;
  endChange(context: string): Promise<void>;
  /** The newest `limit` entries (newest first) that pass `filter`. */
  recent(limit: number, filter?: (e: AuditEntry) => boolean): Promise<AuditPage>;
  close(): Promise<void>;
}

export class AuditLog implements AuditTrail {
  readonly kind = 'file';
  private tail: Promise<unknown> = Promise.resolve();

  constructor(readonly path: string) {}

  /** Appends one entry durably; appends are serialized so lines never interleave. */
  append(entry: AuditEntry): Promise<void> {
    const run = this.tail.then(() => this.write(entry));
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** One host's file: what this process observed it records (its own `recorded` state dedups). */
  async appendObserved(entry: AuditEntry): Promise<boolean> {
    await this.append(entry);
    return true;
  }

  async beginChange(): Promise<void> {}
  async endChange(): Promise<void> {}
  async close(): Promise<void> {
    await this.tail;
  }

  private async write(entry: AuditEntry): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    const fh = await open(this.path, 'a', 0o640);
    try {
      await fh.appendFile(`${JSON.stringify(entry)}\n`, 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
  }

  /**
   * The newest `limit` entries (newest first), read backwards from the end so a long history
   * costs only what is asked. Lines that do not parse or do not match the schema (a write torn
   * by a crash, a hand edit) are counted, not returned.
   */
  async recent(limit: number, filter: (e: AuditEntry) => boolean = () => true): Promise<AuditPage> {
    let fh;
    try {
      fh = await open(this.path, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { entries: [], skipped: 0 };
      throw err;
    }
    try {
      const entries: AuditEntry[] = [];
      let skipped = 0;
      let pos = (await fh.stat()).size;
      let carry = Buffer.alloc(0);
      const take = (line: Buffer) => {
        if (line.length === 0) return;
        let parsed: unknown;
        try {
          parsed = JSON.parse(line.toString('utf8'));
        } catch {
          skipped++;
          return;
        }
        if (!checkEntry.Check(parsed)) skipped++;
        else if (filter(parsed)) entries.push(parsed);
      };
      while (pos > 0 && entries.length < limit) {
        const size = Math.min(CHUNK, pos);
        pos -= size;
        const buf = Buffer.alloc(size);
        await fh.read(buf, 0, size, pos);
        carry = Buffer.concat([buf, carry]);
        // Every complete line after the first newline; the head may continue in the previous chunk.
        let end = carry.length;
        for (let i = carry.length - 1; i >= 0 && entries.length < limit; i--) {
          if (carry[i] !== 0x0a) continue;
          take(carry.subarray(i + 1, end));
          end = i;
        }
        carry = carry.subarray(0, end);
      }
      if (pos === 0 && entries.length < limit) take(carry);
      return { entries, skipped };
    } finally {
      await fh.close();
    }
  }
}
