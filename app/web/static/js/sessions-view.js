// The sessions, newest first, 20 a page (GET /robots/sessions?page=N): open one to chat in
// it, or its timeline to see what happened.

import { api } from './api.js';
import { focusHeading, formatTime, h } from './dom.js';

const pageLink = (page, label, rel) => h('a', { href: `#/sessions?page=${page}`, rel }, label);

export async function sessionsView(container, { query }) {
  const page = Math.max(1, Number.parseInt(query.get('page') ?? '1', 10) || 1);
  const result = await api(`/robots/sessions?page=${page}`);
  const rows = result.sessions.map((session) => {
    const id = encodeURIComponent(session.id);
    return h('tr', {},
      h('th', { scope: 'row' }, h('a', { href: `#/chat/${id}` }, session.name || session.id)),
      h('td', {}, session.created_by?.name ?? session.created_by?.handle ?? '–'),
      h('td', {}, h('time', { datetime: session.updatedAt }, formatTime(session.updatedAt))),
      h('td', {}, h('a', { href: `#/timeline/${id}`,
        'aria-label': `Timeline of ${session.name || session.id}` }, 'Timeline')));
  });
  container.replaceChildren(h('section', { 'aria-labelledby': 'sessions-title' },
    h('h2', { id: 'sessions-title' }, 'Sessions'),
    rows.length === 0
      ? h('p', {}, 'No sessions yet: ', h('a', { href: '#/chat' }, 'start a chat'), '.')
      : h('table', { class: 'list' },
        h('caption', {}, `Page ${result.current_page} of ${Math.max(1, result.total_pages)}`,
          ` · ${result.results} sessions`),
        h('thead', {}, h('tr', {},
          h('th', { scope: 'col' }, 'Name'), h('th', { scope: 'col' }, 'Started by'),
          h('th', { scope: 'col' }, 'Last change'),
          h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Timeline')))),
        h('tbody', {}, rows)),
    h('nav', { class: 'pager', 'aria-label': 'Pages of sessions' },
      page > 1 ? pageLink(page - 1, 'Newer', 'prev') : null,
      result.next_page ? pageLink(result.next_page, 'Older', 'next') : null)));
  focusHeading(container);
}
