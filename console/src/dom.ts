/** Tiny DOM helpers: elements from a tag, attributes and children; text is always text (no HTML parsing). */
export function h(tag: string, attrs: Record<string, string> = {}, ...children: (Node | string)[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  el.append(...children);
  return el;
}

export function clear(el: Element): void {
  while (el.firstChild) el.firstChild.remove();
}

export const pct = (x: number): string => `${(x * 100).toFixed(x > 0 && x < 0.01 ? 1 : 0)} %`;
export const num = (x: number): string => (Number.isInteger(x) ? String(x) : x.toFixed(x < 10 ? 2 : 1));
export const ms = (x: number | null): string => (x === null ? '\u2013' : `\u2264 ${x} ms`);
