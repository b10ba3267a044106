/**
 * Every change asks why and asks again: a modal <dialog> (focus trapped and restored by the
 * browser, Escape cancels) with a required reason, recorded in the audit trail.
 */
import { h } from './dom.js';

export function confirmAction(opts: { title: string; verb: string; danger?: boolean }): Promise<string | null> {
  return new Promise((resolve) => {
    const reason = h('textarea', { id: 'confirm-reason', required: '', maxlength: '500', rows: '3' }) as HTMLTextAreaElement;
    const cancel = h('button', { type: 'button' }, 'Cancel');
    const ok = h('button', { type: 'submit', class: opts.danger ? 'danger' : 'primary', id: 'confirm-ok' }, `${opts.verb}`);
    const form = h(
      'form',
      { method: 'dialog' },
      h('h2', { id: 'confirm-title' }, opts.title),
      h('label', { for: 'confirm-reason' }, 'Reason (recorded in the audit trail)'),
      reason,
      h('div', { class: 'buttons' }, cancel, ok),
    ) as HTMLFormElement;
    const dialog = h('dialog', { 'aria-labelledby': 'confirm-title', class: 'confirm' }, form) as HTMLDialogElement;
    let answer: string | null = null;
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const r = reason.value.trim();
      if (!r) {
        reason.setCustomValidity('Say why: it is recorded with the change.');
        reason.reportValidity();
        return;
      }
      answer = r;
      dialog.close();
    });
    reason.addEventListener('input', () => reason.setCustomValidity(''));
    cancel.addEventListener('click', () => dialog.close());
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(answer);
    });
    document.body.append(dialog);
    dialog.showModal();
    reason.focus();
  });
}
