/**
 * Small DOM helpers: elements are built with text content only (never
 * innerHTML), so log lines and cell sources can never inject markup.
 */
import { Status } from './api';

type Child = Node | string | null | undefined | false;

/** Create an element with attributes and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    node.setAttribute(name, value);
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) {
      continue;
    }
    node.append(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return node;
}

/** A status badge: draft / approved / stale / bad-signature / unreadable. */
export function badge(status: Status | string, title = ''): HTMLSpanElement {
  const span = h('span', { class: `reifier-badge reifier-badge-${status}` }, status);
  if (title) {
    span.title = title;
  }
  return span;
}

/** Format a probability as a whole percentage. */
export function percent(value: number | undefined): string {
  return value === undefined ? '–' : `${Math.round(value * 100)}%`;
}

/** A two-column table of label → content rows. */
export function facts(rows: [string, Child][]): HTMLTableElement {
  return h(
    'table',
    { class: 'reifier-facts' },
    ...rows.map(([label, value]) => h('tr', {}, h('th', {}, label), h('td', {}, value)))
  );
}
