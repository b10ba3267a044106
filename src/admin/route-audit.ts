/**
 * The whole history of what routing did: every change of a context's route state the gateway
 * observes, into the audit trail (an AuditTrail: the host's file, or the Redis stream every
 * instance shares, src/admin/audit-stream.ts). Each entry names the instance that recorded it.
 * Admin API changes are recorded by the admin route (with actor, request and reason) through
 * `adminChange`; changes made elsewhere (a flag file edited by hand, a flag changed in Unleash's
 * own UI or API) are recorded when the flag provider reports new flags, with source `file` or
 * `unleash`.
 *
 * No change is recorded twice: the trail remembers the route state it last recorded per context,
 * and records an observed state only when it differs. An admin change sets that state to what
 * the admin wrote, so when the provider then observes the same change (at once for files, on the
 * next fetch for Unleash) there is nothing new to record. While an admin write is in flight for a
 * context, observations of that context wait for it (they are its own intermediate steps).
 *
 * Every recorded change is also emitted as a `route.changed` gateway event (src/events/bus.ts),
 * which the AMQP publisher carries to `gateway.events`: the trail and the event say the same
 * (an observed change shared by several instances is emitted by the one that records it).
 * Across instances sharing a trail, the trail itself decides (AuditTrail.appendObserved): the
 * other instances observe the same change, and only one record of it is kept.
 */
import { randomUUID } from 'node:crypto';
import { CONTEXTS, flagOf, isContextName, type ContextName } from '../contexts/names.js';
import type { FlagProvider, FlagWrite, RouteState } from '../routing/flag-provider.js';
import { routeStateOf } from '../routing/route-state.js';
import { GatewayError } from '../errors.js';
import type { AuditTrail } from './audit.js';
import type { AuditEntry } from './schemas.js';
import type { EventBus } from '../events/bus.js';

interface AuditLogger {
  info(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

const same = (a: RouteState, b: RouteState) => JSON.stringify(a) === JSON.stringify(b);

export class RouteAudit {
  /** the route state the trail last recorded (or found at boot), per context */
  private readonly recorded = new Map<ContextName, RouteState>();
  private readonly inFlight = new Map<ContextName, number>();
  private readonly unsubscribe: () => void;
  /** observed entries are written in the order observed (an actor look-up may take a while) */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    readonly trail: AuditTrail,
    private readonly flags: FlagProvider,
    private readonly logger: AuditLogger,
    /** names this gateway instance in the entries it records (host:pid) */
    private readonly instance: string,
    /** where each recorded change is emitted as `route.changed` */
    private readonly events?: Pick<EventBus, 'emit'>,
  ) {
    const now = this.current();
    for (const c of CONTEXTS) this.recorded.set(c, now.get(c)!);
    this.unsubscribe = flags.onChange(() => this.observe());
  }

  private current(): Map<ContextName, RouteState> {
    const defs = new Map(this.flags.definitions().map((f) => [f.name, f]));
    return new Map(CONTEXTS.map((c) => [c, routeStateOf(defs.get(flagOf(c)))]));
  }

  /** Records every context whose route state differs from the one last recorded. */
  private observe(): void {
    const now = this.current();
    const at = new Date().toISOString();
    for (const context of CONTEXTS) {
      if (this.inFlight.get(context)) continue;
      const before = this.recorded.get(context)!;
      const after = now.get(context)!;
      if (same(before, after)) continue;
      this.recorded.set(context, after);
      const flag = flagOf(context);
      const source = this.flags.source;
      const write = async () => {
        const actor = (await this.flags.actorOf?.(flag).catch(() => undefined)) ?? 'unknown';
        const entry: AuditEntry = {
          id: randomUUID(),
          at,
          actor,
          action: 'observed',
          context,
          flag,
          source,
          location: this.flags.locationOf?.(flag) ?? this.flags.location,
          before,
          after,
          reason: null,
          instance: this.instance,
        };
        try {
          if (!(await this.trail.appendObserved(entry))) {
            this.logger.debug({ event: 'audit.observed_elsewhere', context, after }, `${context}: change already in the shared audit trail`);
            return;
          }
          this.emit(entry);
          this.logger.info({ event: 'audit.observed_change', audit: entry }, `${context}: changed in the ${source === 'file' ? 'flag files' : 'Unleash'} by ${actor}`);
        } catch (err) {
          this.emit(entry); // in force whether or not the trail takes it
          this.logger.error({ event: 'admin.audit_failed', audit: entry, err }, 'observed route change not recorded in the audit trail');
        }
      };
      const run = this.tail.then(write);
      this.tail = run;
    }
  }

  /**
   * An admin change: runs `write` (the provider's setRoute) with observations of the context
   * held back, then appends the entry `entryOf` builds from its result. Rejects when the write
   * fails (nothing recorded) or when the entry cannot be appended (the change is in force).
   */
  async adminChange(context: ContextName, write: () => Promise<FlagWrite>, entryOf: (write: FlagWrite) => AuditEntry): Promise<{ write: FlagWrite; entry: AuditEntry }> {
    try {
      // before the flag write: no instance may record the change as observed (src/admin/audit-stream.ts)
      await this.trail.beginChange(context);
    } catch (err) {
      throw new GatewayError(503, 'GW_ERR_ADMIN_AUDIT_UNAVAILABLE', `the audit trail (${this.trail.path}) cannot be reached: nothing was changed`, {
        retryAfterSeconds: 1,
        cause: err,
      });
    }
    this.inFlight.set(context, (this.inFlight.get(context) ?? 0) + 1);
    let result: FlagWrite;
    try {
      result = await write();
    } catch (err) {
      await this.trail.endChange(context).catch(() => undefined); // else it lapses
      this.release(context);
      // a failed write may still have changed something (a partial Unleash update): if the
      // provider already shows it, it is recorded as observed
      this.observe();
      throw err;
    }
    this.release(context);
    this.recorded.set(context, result.after);
    const entry: AuditEntry = { ...entryOf(result), instance: this.instance };
    this.emit(entry); // the change is in force whether or not the trail takes it
    await this.trail.append(entry);
    return { write: result, entry };
  }

  /**
   * An entry that is not a flag change of its own (a kill override, a rollout pause or
   * completion): appended to the trail with this instance's name.
   */
  async record(entry: Omit<AuditEntry, 'instance'>): Promise<AuditEntry> {
    const full: AuditEntry = { ...entry, instance: this.instance };
    await this.trail.append(full);
    return full;
  }

  private emit(entry: AuditEntry): void {
    this.events?.emit(
      'route.changed',
      { auditId: entry.id, action: entry.action, flag: entry.flag, source: entry.source, before: entry.before, after: entry.after, reason: entry.reason },
      { ...(isContextName(entry.context) ? { context: entry.context } : {}), actor: entry.actor },
    );
  }

  private release(context: ContextName): void {
    this.inFlight.set(context, this.inFlight.get(context)! - 1);
  }

  /** Resolves once every change observed so far is written (or its failure logged). */
  async idle(): Promise<void> {
    await this.tail;
  }

  /** Stops observing; resolves once every observed change is written. */
  async close(): Promise<void> {
    this.unsubscribe();
    await this.tail;
    await this.trail.close();
  }
}
