/** Parity mismatches: the fields that differ most, and the latest samples side by side. */
import { h } from './dom.js';
import type { ParityDetailResponse } from '../../src/parity/schemas.js';

/** GET /admin/parity/{context}, typed by its TypeBox schema (type-only) */
type ParityDetail = Pick<ParityDetailResponse, 'fields' | 'samples'>;

const show = (v: unknown) => (v === undefined ? '(absent)' : JSON.stringify(v));

export function renderDiff(into: HTMLElement, d: ParityDetail): void {
  if (d.fields.length) {
    into.append(h('p', {}, 'Fields that differ: ', d.fields.map((f) => `${f.path} (${f.mismatches})`).join(', ')));
  }
  if (!d.samples.length) {
    into.append(h('p', { class: 'muted' }, 'No mismatch samples yet.'));
    return;
  }
  for (const s of d.samples) {
    const changed = new Set(s.differences.map((x) => x.path));
    into.append(
      h(
        'details',
        { class: 'sample' },
        h('summary', {}, `${new Date(s.at).toLocaleTimeString()} \u00b7 served by ${s.servedBy} \u00b7 ${s.differences.length} difference(s) \u00b7 request ${s.requestId}`),
        h(
          'table',
          { class: 'diff' },
          h('caption', { class: 'sr-only' }, 'Differences, legacy against modern'),
          h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Field'), h('th', { scope: 'col' }, 'Legacy'), h('th', { scope: 'col' }, 'Modern'))),
          h('tbody', {}, ...s.differences.map((x) => h('tr', {}, h('th', { scope: 'row' }, x.path), h('td', { class: 'del' }, show(x.legacy)), h('td', { class: 'ins' }, show(x.modern))))),
        ),
        h(
          'div',
          { class: 'side-by-side' },
          h('figure', {}, h('figcaption', {}, 'Legacy'), h('pre', { 'data-changed': [...changed].join(' ') }, JSON.stringify(s.legacy, null, 2))),
          h('figure', {}, h('figcaption', {}, 'Modern'), h('pre', {}, JSON.stringify(s.modern, null, 2))),
        ),
      ),
    );
  }
}
