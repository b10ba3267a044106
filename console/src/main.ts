/**
 * The operator console (docs/console.md): one panel per context, fed live by the gateway's
 * Server-Sent Events stream; every change goes through the admin API relay under
 * /console/api/admin, asks for a reason and a confirmation, and lands in the audit trail under
 * the operator's name. Plain TypeScript and the DOM: panels are built once and updated in place,
 * so a control being edited keeps its focus and value while the numbers move.
 */
import './style.css';
import type { ContextSnapshot, Session, Snapshot, StreamEvent } from '../../src/console/schemas.js';
import type { AuditEntry, AuditResponse } from '../../src/admin/schemas.js';
// the rollout and parity contracts of the admin API, from their TypeBox schemas (type-only)
import type { GuardrailOverrides, Override, RolloutState, RolloutsResponse } from '../../src/rollout/schemas.js';
import { guardrailOverrides } from '../../src/cli/guardrail-args.js';
import type { ParityDetailResponse, ParityListResponse } from '../../src/parity/schemas.js';
import { STICKINESS } from '../../src/routing/route-schema.js';
import { h, pct, ms, num, clear } from './dom.js';
import { confirmAction } from './dialog.js';
import { renderDiff } from './diff.js';

const API = '/console/api';
const root = document.getElementById('app')!;

// ---------------------------------------------------------------- admin API relay

interface Answer {
  status: number;
  body: unknown;
}

let session: Session | undefined;

async function call(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (method !== 'GET' && session) headers['x-csrf-token'] = session.csrfToken;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const r = await fetch(`${API}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin' });
  const text = await r.text();
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = text;
  }
  if (r.status === 401 && path !== '/login' && path !== '/session') showLogin('Your session has ended: log in again.');
  return { status: r.status, body: parsed };
}

/** problem+json `detail` (or the OCC message) of a failed answer, for the operator */
function problemText(a: Answer): string {
  const b = a.body as { detail?: string; code?: string } | null;
  return b && typeof b === 'object' && b.detail ? `${b.detail}${b.code ? ` (${b.code})` : ''}` : `HTTP ${a.status}`;
}

/** A 404 whose code says the route itself is missing: the feature is not on this gateway. */
const routeMissing = (a: Answer) => a.status === 404 && (a.body as { code?: string } | null)?.code === 'GW_ERR_ROUTE_NOT_FOUND';

// ---------------------------------------------------------------- login

function showLogin(message?: string): void {
  stopStream();
  session = undefined;
  clear(root);
  const error = h('p', { class: 'error', role: 'alert', id: 'login-error' }, message ?? '');
  const token = h('input', { id: 'login-token', type: 'password', name: 'token', autocomplete: 'current-password', required: '' }) as HTMLInputElement;
  const name = h('input', { id: 'login-name', type: 'text', name: 'name', autocomplete: 'username', required: '', maxlength: '64' }) as HTMLInputElement;
  const form = h(
    'form',
    { class: 'login', 'aria-labelledby': 'login-title' },
    h('h1', { id: 'login-title' }, 'Strangler console'),
    h('p', {}, 'Log in with the gateway\u2019s admin token. Your name is recorded with every change you make.'),
    h('label', { for: 'login-name' }, 'Your name'),
    name,
    h('label', { for: 'login-token' }, 'Admin token'),
    token,
    h('button', { type: 'submit', class: 'primary' }, 'Log in'),
    error,
  ) as HTMLFormElement;
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void (async () => {
      error.textContent = '';
      const a = await call('POST', '/login', { token: token.value, name: name.value.trim() });
      if (a.status === 200) {
        session = a.body as Session;
        showConsole();
      } else error.textContent = a.status === 401 ? 'Wrong admin token.' : problemText(a);
    })();
  });
  root.append(h('main', { id: 'main' }, form));
  name.focus();
}

// ---------------------------------------------------------------- the console

interface Panel {
  update(s: ContextSnapshot, writable: boolean): void;
  refreshRollout(list: RolloutList): void;
  refreshParity(list: ParityList): void;
  refreshOverride(o: Override | undefined): void;
}

type RolloutList = { available: false } | { available: true; rollouts: RolloutState[] } | { available: 'error'; message: string };
type ParityList = { available: false } | { available: true; contexts: ParityListResponse['contexts'] } | { available: 'error'; message: string };

const panels = new Map<string, Panel>();
let banner: { connection: HTMLElement; flags: HTMLElement; updated: HTMLElement };
let auditBody: HTMLElement;
let eventsList: HTMLElement;
let lastSnapshotAt = 0;

function showConsole(): void {
  clear(root);
  panels.clear();
  const logout = h('button', { type: 'button' }, 'Log out');
  logout.addEventListener('click', () => {
    void call('POST', '/logout').then(() => showLogin('Logged out.'));
  });
  banner = {
    connection: h('p', { class: 'banner', id: 'connection-state', role: 'status' }, 'Connecting\u2026'),
    flags: h('p', { class: 'banner', id: 'flags-state', role: 'status', hidden: '' }),
    updated: h('span', { class: 'muted', id: 'updated-at' }),
  };
  const header = h(
    'header',
    { class: 'top' },
    h('h1', {}, 'Strangler console'),
    h('div', { class: 'who' }, h('span', {}, `Signed in as `, h('strong', { id: 'actor' }, session!.actor)), banner.updated, logout),
  );
  const contexts = h('div', { class: 'contexts', id: 'contexts' });
  auditBody = h('tbody', { id: 'audit-rows' });
  const audit = h(
    'section',
    { class: 'card', 'aria-labelledby': 'audit-title' },
    h('h2', { id: 'audit-title' }, 'Audit trail'),
    h('table', {}, h('caption', { class: 'sr-only' }, 'Recent routing changes, newest first'), h('thead', {}, h('tr', {}, ...['When', 'Who', 'Action', 'Context', 'Before', 'After', 'Reason'].map((c) => h('th', { scope: 'col' }, c)))), auditBody),
  );
  eventsList = h('ol', { id: 'events', class: 'events' });
  const events = h('section', { class: 'card', 'aria-labelledby': 'events-title' }, h('h2', { id: 'events-title' }, 'Gateway events'), eventsList);
  root.append(header, h('main', { id: 'main' }, banner.connection, banner.flags, contexts, h('div', { class: 'bottom' }, audit, events)));
  startStream(contexts);
  void refreshSlow();
}

// ---------------------------------------------------------------- live stream

let source: EventSource | undefined;
let watchdog: number | undefined;
let slowTimer: number | undefined;

function stopStream(): void {
  source?.close();
  source = undefined;
  if (watchdog !== undefined) clearInterval(watchdog);
  if (slowTimer !== undefined) clearInterval(slowTimer);
  watchdog = slowTimer = undefined;
}

function setConnection(state: 'live' | 'unreachable' | 'connecting', detail = ''): void {
  const text = { live: 'Live', unreachable: 'Gateway unreachable: the numbers below are stale.', connecting: 'Connecting\u2026' }[state];
  banner.connection.textContent = `${text}${detail ? ` ${detail}` : ''}`;
  banner.connection.dataset.state = state;
  banner.connection.className = `banner ${state === 'unreachable' ? 'bad' : state === 'live' ? 'ok' : 'warn'}`;
}

function startStream(container: HTMLElement): void {
  stopStream();
  setConnection('connecting');
  const es = new EventSource(`${API}/stream`);
  source = es;
  es.addEventListener('snapshot', (e) => {
    const snap = JSON.parse((e as MessageEvent<string>).data) as Snapshot;
    lastSnapshotAt = Date.now();
    setConnection('live');
    applySnapshot(container, snap);
  });
  es.addEventListener('gateway-event', (e) => onGatewayEvent(JSON.parse((e as MessageEvent<string>).data) as StreamEvent));
  es.addEventListener('end', (e) => {
    const { reason } = JSON.parse((e as MessageEvent<string>).data) as { reason: string };
    es.close();
    if (reason === 'session-expired' || reason === 'logged-out') showLogin('Your session has ended: log in again.');
    else setTimeout(() => source === es && startStream(container), 2000);
  });
  es.addEventListener('error', () => {
    if (es.readyState === EventSource.CLOSED) {
      // refused (401) or the gateway is gone: ask which, then retry
      void fetch(`${API}/session`, { credentials: 'same-origin' }).then(
        (r) => {
          if (r.status === 401) showLogin('Your session has ended: log in again.');
          else setTimeout(() => source === es && startStream(container), 2000);
        },
        () => {
          setConnection('unreachable');
          setTimeout(() => source === es && startStream(container), 2000);
        },
      );
    } else setConnection('unreachable', 'Reconnecting\u2026');
  });
  // no snapshot for 4 s while the connection looks open: say so
  watchdog = window.setInterval(() => {
    if (lastSnapshotAt && Date.now() - lastSnapshotAt > 4000) setConnection('unreachable', 'Reconnecting\u2026');
  }, 1000);
  slowTimer = window.setInterval(() => void refreshSlow(), 5000);
}

function applySnapshot(container: HTMLElement, snap: Snapshot): void {
  const f = snap.flags;
  const flagNotes: string[] = [];
  let level = 'ok';
  if (f.stale !== null) {
    level = 'bad';
    flagNotes.push(`${f.source === 'unleash' ? 'Unleash is down or failing' : 'The flag files are failing'}: routing runs on the last known flags (${f.stale}).`);
  }
  if (!f.writable) {
    if (level === 'ok') level = 'warn';
    flagNotes.push(f.source === 'unleash' ? 'Flags are read-only: the gateway has no Unleash admin token, so routing cannot be changed from here.' : 'Flags are read-only on this gateway (flag files shared by several instances).');
  }
  banner.flags.hidden = flagNotes.length === 0;
  banner.flags.textContent = flagNotes.join(' ');
  banner.flags.className = `banner ${level}`;
  banner.flags.dataset.stale = String(f.stale !== null);
  banner.flags.dataset.writable = String(f.writable);
  banner.updated.textContent = `updated ${new Date(snap.at).toLocaleTimeString()}`;
  for (const c of snap.contexts) {
    let p = panels.get(c.context);
    if (!p) {
      p = contextPanel(c.context);
      panels.set(c.context, p);
      container.append((p as Panel & { el: HTMLElement }).el);
      // what the admin API said before this panel existed
      if (lastRollouts) p.refreshRollout(lastRollouts);
      if (lastParity) p.refreshParity(lastParity);
      p.refreshOverride(lastOverrides.get(c.context));
    }
    p.update(c, f.writable);
  }
}

function onGatewayEvent(e: StreamEvent): void {
  const who = e.actor ? ` by ${e.actor}` : '';
  const data = Object.keys(e.data).length ? ` ${JSON.stringify(e.data)}` : '';
  eventsList.prepend(h('li', {}, h('time', { datetime: e.at }, new Date(e.at).toLocaleTimeString()), ` ${e.type}${e.context ? ` ${e.context}` : ''}${who}${data}`));
  while (eventsList.childElementCount > 30) eventsList.lastElementChild!.remove();
  void refreshSlow();
}

// ---------------------------------------------------------------- audit, rollouts, parity (admin API reads)

let slowBusy = false;
let lastRollouts: RolloutList | undefined;
let lastParity: ParityList | undefined;
let lastOverrides = new Map<string, Override>();
async function refreshSlow(): Promise<void> {
  if (slowBusy || !session) return;
  slowBusy = true;
  try {
    const [audit, rollouts, parity, overrides] = await Promise.all([
      call('GET', '/admin/audit?limit=25'),
      call('GET', '/admin/rollouts'),
      call('GET', '/admin/parity'),
      call('GET', '/admin/overrides'),
    ]);
    lastOverrides = new Map(overrides.status === 200 ? (overrides.body as { overrides: Override[] }).overrides.map((o) => [o.context, o]) : []);
    if (audit.status === 200) renderAudit((audit.body as AuditResponse).entries);
    const rl: RolloutList = routeMissing(rollouts)
      ? { available: false }
      : rollouts.status === 200
        ? { available: true, rollouts: (rollouts.body as RolloutsResponse).rollouts }
        : { available: 'error', message: problemText(rollouts) };
    const pl: ParityList = routeMissing(parity)
      ? { available: false }
      : parity.status === 200
        ? { available: true, contexts: (parity.body as ParityListResponse).contexts }
        : { available: 'error', message: problemText(parity) };
    lastRollouts = rl;
    lastParity = pl;
    for (const [ctx, p] of panels) {
      p.refreshRollout(rl);
      p.refreshParity(pl);
      p.refreshOverride(lastOverrides.get(ctx));
    }
  } catch {
    // the stream reports an unreachable gateway
  } finally {
    slowBusy = false;
  }
}

/** a hold as the operator typed it: 200 ms, 30 s, 5 min, 2 h */
function holdText(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  return `${Math.round(ms / 100) / 10} s`;
}

function routeText(s: { enabled: boolean; rollout: number | null; stickiness?: string | null; defined: boolean }): string {
  if (!s.defined) return 'no flag (legacy)';
  if (!s.enabled) return 'off (legacy)';
  return `${s.rollout === null ? 'custom' : `${s.rollout} %`}${s.stickiness ? ` by ${s.stickiness}` : ''}`;
}

function renderAudit(entries: AuditEntry[]): void {
  clear(auditBody);
  if (entries.length === 0) auditBody.append(h('tr', {}, h('td', { colspan: '7', class: 'muted' }, 'No changes yet.')));
  for (const e of entries) {
    auditBody.append(
      h(
        'tr',
        { 'data-action': e.action, 'data-context': e.context },
        h('td', {}, h('time', { datetime: e.at }, new Date(e.at).toLocaleString())),
        h('td', { class: 'actor' }, e.actor),
        h('td', {}, e.action),
        h('td', {}, e.context),
        h('td', {}, routeText(e.before)),
        h('td', {}, routeText(e.after)),
        h('td', {}, e.reason ?? ''),
      ),
    );
  }
}

// ---------------------------------------------------------------- one context

function contextPanel(context: string): Panel & { el: HTMLElement } {
  const id = (s: string) => `${s}-${context}`;
  const title = h('h2', { id: id('title') }, context);
  const routeBadge = h('span', { class: 'badge', id: id('route') });
  const bar = {
    legacy: h('div', { class: 'seg legacy' }),
    new: h('div', { class: 'seg new' }),
    legacy_fallback: h('div', { class: 'seg fallback' }),
  };
  const shareText = {
    legacy: h('span', { 'data-testid': id('share-legacy') }, '\u2013'),
    new: h('span', { 'data-testid': id('share-new') }, '\u2013'),
    legacy_fallback: h('span', { 'data-testid': id('share-fallback') }, '\u2013'),
  };
  const windowNote = h('span', { class: 'muted' });
  const rows = {
    legacy: h('tr', {}),
    new: h('tr', {}),
    legacy_fallback: h('tr', {}),
  };
  const breakers = h('p', { class: 'breakers', id: id('breakers') });
  const total = h('span', { id: id('rps') });

  // controls
  const percent = h('input', { id: id('percent'), type: 'number', min: '0', max: '100', step: '1', required: '', inputmode: 'numeric' }) as HTMLInputElement;
  const stickiness = h('select', { id: id('stickiness') }, ...STICKINESS.map((s) => h('option', { value: s }, s))) as HTMLSelectElement;
  let edited = false;
  percent.addEventListener('input', () => (edited = true));
  stickiness.addEventListener('change', () => (edited = true));
  const apply = h('button', { type: 'submit', class: 'primary' }, 'Set\u2026') as HTMLButtonElement;
  const kill = h('button', { type: 'button', class: 'danger', id: id('kill') }, 'Kill\u2026') as HTMLButtonElement;
  const status = h('p', { class: 'action-status', role: 'status', id: id('action-status') });
  const overrideNote = h('div', { class: 'override', id: id('override'), hidden: '' });
  const form = h(
    'form',
    { class: 'controls', 'aria-label': `Routing of ${context}` },
    h('label', { for: id('percent') }, 'Percent to new'),
    percent,
    h('label', { for: id('stickiness') }, 'Stickiness'),
    stickiness,
    apply,
    kill,
  ) as HTMLFormElement;

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const value = Number(percent.value);
    if (!Number.isInteger(value) || value < 0 || value > 100) {
      status.textContent = 'Percent must be a whole number from 0 to 100.';
      percent.focus();
      return;
    }
    void act(`Route ${value} % of ${context} to the new service, sticky by ${stickiness.value}?`, 'Set', (reason) =>
      call('PUT', `/admin/routes/${context}`, { percent: value, stickiness: stickiness.value, reason }),
    ).then((ok) => {
      if (ok) edited = false;
    });
  });
  kill.addEventListener('click', () => {
    void act(`Kill ${context}: send every request to legacy now?`, 'Kill', async (reason) => {
      // the rollout helper's override when this gateway has it, else the admin kill
      const o = await call('PUT', `/admin/routes/${context}/override`, { reason });
      return routeMissing(o) ? call('POST', `/admin/routes/${context}/kill`, { reason }) : o;
    }, true);
  });

  async function act(question: string, verb: string, run: (reason: string) => Promise<Answer>, danger = false): Promise<boolean> {
    const reason = await confirmAction({ title: question, verb, danger });
    if (reason === null) return false;
    status.textContent = `${verb}: sending\u2026`;
    const a = await run(reason);
    status.textContent = a.status >= 200 && a.status < 300 ? `${verb}: done.` : `${verb} failed: ${problemText(a)}`;
    status.className = `action-status ${a.status < 300 ? 'ok' : 'bad'}`;
    void refreshSlow();
    return a.status < 300;
  }

  // rollout
  const rollout = h('div', { class: 'rollout', id: id('rollout') }, h('p', { class: 'muted' }, 'Loading\u2026'));
  // parity
  const parity = h('div', { class: 'parity', id: id('parity') }, h('p', { class: 'muted' }, 'Loading\u2026'));

  const el = h(
    'section',
    { class: 'card context', 'aria-labelledby': id('title'), 'data-context': context },
    h('div', { class: 'context-head' }, title, routeBadge),
    overrideNote,
    h('div', { class: 'share', role: 'img', 'aria-label': `Share of ${context} traffic per arm` }, bar.legacy, bar.new, bar.legacy_fallback),
    h('p', { class: 'share-text' }, 'legacy ', shareText.legacy, ' \u00b7 new ', shareText.new, ' \u00b7 fallback ', shareText.legacy_fallback, ' \u00b7 ', total, ' ', windowNote),
    h('table', { class: 'arms' }, h('caption', { class: 'sr-only' }, `${context} per arm`), h('thead', {}, h('tr', {}, ...['Arm', 'req/s', 'errors', 'p50', 'p99'].map((c) => h('th', { scope: 'col' }, c)))), h('tbody', {}, rows.legacy, rows.new, rows.legacy_fallback)),
    breakers,
    form,
    status,
    h('h3', {}, 'Rollout'),
    rollout,
    h('h3', {}, 'Parity'),
    parity,
  );

  let renderedRollout = '';
  let renderedParity = '';
  let renderedOverride = '';
  return {
    el,
    update(s, writable) {
      routeBadge.textContent = routeText(s.route) + (s.route.constrained ? ' (constrained)' : '');
      routeBadge.className = `badge ${!s.route.enabled || s.route.rollout === 0 ? 'legacy' : 'new'}`;
      for (const arm of ['legacy', 'new', 'legacy_fallback'] as const) {
        bar[arm].style.width = `${(s.share[arm] * 100).toFixed(1)}%`;
        shareText[arm].textContent = pct(s.share[arm]);
        const a = s.arms[arm];
        clear(rows[arm]);
        rows[arm].append(h('th', { scope: 'row' }, arm === 'legacy_fallback' ? 'fallback' : arm), h('td', {}, num(a.reqPerSec)), h('td', { class: a.errorRate > 0 ? 'bad' : '' }, pct(a.errorRate)), h('td', {}, ms(a.p50Ms)), h('td', {}, ms(a.p99Ms)));
      }
      const rps = s.arms.legacy.reqPerSec + s.arms.new.reqPerSec + s.arms.legacy_fallback.reqPerSec;
      total.textContent = `${num(rps)} req/s`;
      windowNote.textContent = `(last ${s.windowSeconds} s)`;
      breakers.textContent = `Breakers: legacy ${s.breakers.legacy} \u00b7 ${context} ${s.breakers.new}`;
      breakers.className = `breakers ${s.breakers.legacy !== 'closed' || s.breakers.new !== 'closed' ? 'bad' : ''}`;
      if (!edited && document.activeElement !== percent && document.activeElement !== stickiness) {
        percent.value = String(s.route.enabled ? (s.route.rollout ?? 0) : 0);
        if (s.route.stickiness && (STICKINESS as readonly string[]).includes(s.route.stickiness)) stickiness.value = s.route.stickiness;
      }
      for (const c of [percent, stickiness, apply, kill]) c.disabled = !writable;
    },
    refreshRollout(list) {
      const key = JSON.stringify(list);
      if (key === renderedRollout) return;
      renderedRollout = key;
      clear(rollout);
      if (list.available === false) {
        rollout.append(h('p', { class: 'muted', 'data-testid': id('rollout-unavailable') }, 'Rollouts are not available on this gateway.'));
        return;
      }
      if (list.available === 'error') {
        rollout.append(h('p', { class: 'bad' }, `Rollouts could not be read: ${list.message}`));
        return;
      }
      const r = list.rollouts.find((x) => x.context === context);
      if (r) {
        rollout.append(
          h('p', { 'data-testid': id('rollout-status') }, h('strong', {}, r.status), ` at ${r.percent} % (step ${r.stepIndex + 1} of ${r.steps.length}: ${r.steps.join(' \u2192 ')} %, hold ${holdText(r.holdMs)}) by ${r.actor}${r.reason ? `: ${r.reason}` : ''}`),
          h(
            'table',
            {},
            h('caption', { class: 'sr-only' }, 'Guardrails'),
            h('thead', {}, h('tr', {}, ...['Guardrail', 'value', 'threshold', 'samples', 'state'].map((c) => h('th', { scope: 'col' }, c)))),
            h(
              'tbody',
              {},
              ...r.guardrails.map((g) =>
                h(
                  'tr',
                  { 'data-guardrail': g.name, 'data-state': g.ok === null ? 'waiting' : g.ok ? 'ok' : 'breached' },
                  h('th', { scope: 'row' }, g.name),
                  h('td', {}, g.value === null ? '\u2013' : num(g.value)),
                  h('td', {}, g.name === 'p99Ratio' ? `${num(g.threshold)}\u00d7 (floor ${r.limits.p99FloorMs} ms)` : num(g.threshold)),
                  h('td', {}, `${g.samples}/${g.minSamples}`),
                  h('td', { class: g.ok === false ? 'bad' : '' }, g.ok === null ? 'waiting' : g.ok ? 'ok' : 'breached'),
                ),
              ),
            ),
          ),
        );
      }
      const running = r?.status === 'running';
      const paused = r?.status === 'paused';
      const buttons = h('div', { class: 'buttons' });
      const op = (verb: string, path: string, enabled: boolean) => {
        const b = h('button', { type: 'button' }, `${verb}\u2026`) as HTMLButtonElement;
        b.disabled = !enabled;
        b.addEventListener('click', () => void act(`${verb} the rollout of ${context}?`, verb, (reason) => call('POST', `/admin/rollouts/${context}/${path}`, { reason }), verb === 'Abort'));
        buttons.append(b);
      };
      op('Pause', 'pause', running);
      op('Resume', 'resume', paused);
      op('Abort', 'abort', running || paused);
      if (!running && !paused) {
        const steps = h('input', { id: id('steps'), type: 'text', value: '5,25,50,100', pattern: '^\\s*\\d{1,3}(\\s*,\\s*\\d{1,3})*\\s*$' }) as HTMLInputElement;
        const hold = h('input', { id: id('hold'), type: 'text', value: '5m', size: '5' }) as HTMLInputElement;
        // this rollout's own limits, as `strangler rollout start --guardrail … --p99-floor …` takes them; empty: the gateway's
        const limits = h('input', { id: id('guardrails'), type: 'text', size: '28', placeholder: "the gateway's, or p99Ratio=2:1000 …" }) as HTMLInputElement;
        const floor = h('input', { id: id('p99-floor'), type: 'text', size: '5', placeholder: 'ms' }) as HTMLInputElement;
        const start = h(
          'form',
          { class: 'controls', 'aria-label': `Start a rollout of ${context}` },
          h('label', { for: id('steps') }, 'Steps (%)'),
          steps,
          h('label', { for: id('hold') }, 'Hold'),
          hold,
          h('label', { for: id('guardrails') }, 'Guardrails'),
          limits,
          h('label', { for: id('p99-floor') }, 'p99 floor'),
          floor,
          h('button', { type: 'submit' }, 'Start\u2026'),
        );
        start.addEventListener('submit', (e) => {
          e.preventDefault();
          const list = steps.value.split(',').map((x) => Number(x.trim()));
          if (list.some((n) => !Number.isInteger(n) || n < 0 || n > 100)) {
            status.textContent = 'Steps are whole percentages, comma-separated.';
            return;
          }
          let guardrails: GuardrailOverrides | undefined;
          try {
            guardrails = guardrailOverrides(limits.value.split(/[\s,]+/).filter(Boolean), floor.value.trim() === '' ? undefined : floor.value.trim());
          } catch (err) {
            status.textContent = (err as Error).message.replace(/^--guardrail/, 'Guardrails').replace(/^--p99-floor/, 'p99 floor');
            return;
          }
          const own = limits.value.trim() || floor.value.trim() ? `, judged by ${[limits.value.trim(), floor.value.trim() ? `p99 floor ${floor.value.trim()}` : ''].filter(Boolean).join(', ')}` : '';
          void act(`Start a rollout of ${context} through ${list.join(' \u2192 ')} %, holding ${hold.value} per step${own}?`, 'Start', (reason) =>
            call('POST', `/admin/rollouts/${context}`, { steps: list, hold: hold.value, reason, ...(guardrails ? { guardrails } : {}) }),
          );
        });
        rollout.append(start);
      }
      rollout.append(buttons);
    },
    refreshOverride(o) {
      const key = JSON.stringify(o ?? null);
      if (key === renderedOverride) return;
      renderedOverride = key;
      clear(overrideNote);
      overrideNote.hidden = !o;
      if (!o) return;
      const lift = h('button', { type: 'button' }, 'Clear override\u2026');
      lift.addEventListener('click', () => void act(`Clear the kill override of ${context} and route by its flag again?`, 'Clear', (reason) => call('DELETE', `/admin/routes/${context}/override`, { reason })));
      overrideNote.append(h('p', { class: 'bad' }, `Killed: every request to ${o.override} (override by ${o.actor}${o.reason ? `: ${o.reason}` : ''}, ${new Date(o.at).toLocaleTimeString()})`), lift);
    },
    refreshParity(list) {
      const key = JSON.stringify(list);
      if (key === renderedParity) return;
      renderedParity = key;
      clear(parity);
      if (list.available === false) {
        parity.append(h('p', { class: 'muted', 'data-testid': id('parity-unavailable') }, 'Parity is not available on this gateway.'));
        return;
      }
      if (list.available === 'error') {
        parity.append(h('p', { class: 'bad' }, `Parity could not be read: ${list.message}`));
        return;
      }
      const p = list.contexts.find((x) => x.context === context);
      if (!p) {
        parity.append(h('p', { class: 'muted' }, 'No shadow comparison for this context.'));
        return;
      }
      const c = p.counts;
      parity.append(
        h('p', { 'data-testid': id('parity-counts') }, `shadow ${p.shadowPercent} % \u00b7 match ${c.match} \u00b7 `, h('span', { class: c.mismatch > 0 ? 'bad' : '' }, `mismatch ${c.mismatch}`), ` \u00b7 noise ${c.noise} \u00b7 error ${c.error} \u00b7 shed ${c.shed}`),
      );
      const samples = h('div', { class: 'samples' });
      const show = h('button', { type: 'button', 'aria-expanded': 'false' }, 'Show mismatches');
      show.addEventListener('click', () => {
        void call('GET', `/admin/parity/${context}`).then((a) => {
          clear(samples);
          show.setAttribute('aria-expanded', 'true');
          if (a.status !== 200) {
            samples.append(h('p', { class: 'bad' }, problemText(a)));
            return;
          }
          renderDiff(samples, a.body as ParityDetailResponse);
        });
      });
      parity.append(show, samples);
    },
  };
}

// ---------------------------------------------------------------- start

void (async () => {
  try {
    const a = await call('GET', '/session');
    if (a.status === 200) {
      session = a.body as Session;
      showConsole();
    } else showLogin();
  } catch {
    showLogin('The gateway is unreachable.');
  }
})();
