// The playground's start: sign in with an API token (kept in this browser's localStorage),
// then one view at a time by the address's hash: #/chat[/<session>], #/sessions,
// #/timeline/<session>, #/robots.

import { ApiError, describeError, me, savedToken } from './api.js';
import { chatView } from './chat-view.js';
import { focusHeading, h } from './dom.js';
import { robotsView } from './robots-view.js';
import { sessionsView } from './sessions-view.js';
import { timelineView } from './timeline-view.js';

const TOKEN_GONE = 'The saved token is not valid any more: sign in again.';
const main = document.getElementById('main');
const nav = document.getElementById('nav');
const accountBox = document.getElementById('account');

let account = null;
let closeView = null; // the open view's cleanup
let shown = 0; // views opened: a slow one must not outlive a later one

// '#/chat/s-1?x=y' -> { name: 'chat', id: 's-1', query }
function route() {
  const [path, search] = location.hash.replace(/^#\/?/, '').split('?');
  const [name, id] = path.split('/').map(decodeURIComponent);
  return { name: name || 'chat', id: id || null, query: new URLSearchParams(search ?? '') };
}

const VIEWS = {
  chat: (r) => chatView(main, { sessionId: r.id }),
  sessions: (r) => sessionsView(main, { query: r.query }),
  timeline: (r) => timelineView(main, { sessionId: r.id }),
  robots: (r) => robotsView(main, { account, query: r.query }),
};

async function show() {
  const current = route();
  closeView?.();
  closeView = null;
  const open = VIEWS[current.name] ?? VIEWS.chat;
  markCurrentLink(current.name);
  main.setAttribute('aria-busy', 'true');
  const generation = ++shown;
  try {
    const close = (await open(current)) ?? null;
    if (generation === shown) closeView = close;
    else close?.(); // another view opened meanwhile
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return signOut(TOKEN_GONE);
    main.replaceChildren(h('section', { 'aria-labelledby': 'failed-title' },
      h('h2', { id: 'failed-title' }, 'This could not be shown'),
      h('p', { class: 'error', role: 'alert' }, describeError(error))));
    focusHeading(main);
  } finally {
    main.removeAttribute('aria-busy');
  }
}

function markCurrentLink(name) {
  for (const link of nav.querySelectorAll('a')) {
    const current = link.getAttribute('href') === `#/${name}`;
    if (current) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
}

function signInView(message) {
  const field = h('input', { id: 'token', name: 'token', type: 'password', required: true,
    autocomplete: 'off', spellcheck: 'false', 'aria-describedby': 'token-help' });
  const problem = h('p', { class: 'error', role: 'alert' }, message ?? '');
  const submit = async (event) => {
    event.preventDefault();
    savedToken.set(field.value.trim());
    try {
      await start();
    } catch (error) {
      savedToken.clear();
      problem.textContent = error instanceof ApiError && error.status === 401
        ? 'That token is not valid.' : describeError(error);
      field.focus();
    }
  };
  main.replaceChildren(h('section', { class: 'sign-in', 'aria-labelledby': 'sign-in-title' },
    h('h2', { id: 'sign-in-title' }, 'Sign in'),
    h('form', { onsubmit: submit },
      h('label', { for: 'token' }, 'API token'), field,
      h('p', { id: 'token-help', class: 'hint' },
        'Every API call this page makes carries it; it stays in this browser. On a dev',
        ' machine, ', h('code', {}, 'make run'), ' (or ', h('code', {}, 'robots dev'),
        ') prints the dev admin\'s token when it starts (',
        h('code', {}, 'dev admin token: rbt_…'), ') and keeps it in ',
        h('code', {}, '.robots/dev-admin-token'), '. Other accounts get theirs from ',
        h('code', {}, 'robots accounts create'), '.'),
      problem,
      h('button', { type: 'submit', class: 'primary' }, 'Sign in'))));
  focusHeading(main);
}

function signOut(message) {
  savedToken.clear();
  account = null;
  closeView?.();
  closeView = null;
  nav.hidden = true;
  accountBox.hidden = true;
  signInView(message);
}

async function start() {
  account = await me();
  nav.hidden = false;
  accountBox.hidden = false;
  accountBox.replaceChildren(
    h('span', {}, 'Signed in as ', h('strong', {}, account.name || account.handle),
      ` (${account.roles.join(', ')})`),
    h('button', { type: 'button', class: 'link', onclick: () => signOut() }, 'Sign out'));
  await show();
}

window.addEventListener('hashchange', () => { if (account) show(); });

if (savedToken.get()) {
  start().catch((error) => {
    if (error instanceof ApiError && error.status === 401) signOut(TOKEN_GONE);
    else signInView(describeError(error));
  });
} else {
  signInView();
}
