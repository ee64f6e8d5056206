// Building the page from data without innerHTML: every text a robot or a person wrote goes
// in as text, never as markup.

// h('button', { type: 'button', onclick }, 'Send'): attributes starting with `on` are
// listeners, `hidden`/`disabled`-like booleans are set when true, the rest are attributes.
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      element.addEventListener(name.slice(2), value);
    } else if (name === 'value' || name === 'checked' || name === 'selected') {
      element[name] = value; // the live property, which a form reads
    } else {
      element.setAttribute(name, value === true ? '' : String(value));
    }
  }
  append(element, children);
  return element;
}

export function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

export function replaceChildren(element, ...children) {
  element.replaceChildren();
  return append(element, children);
}

// A short random id the API takes for sessions and messages ([A-Za-z0-9_-]): randomUUID
// exists only on https and localhost, getRandomValues everywhere.
export function newId(prefix) {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return `${prefix}-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

export const shortId = (id) => (id && id.length > 12 ? `${id.slice(0, 10)}…` : id ?? '');

export function formatTime(iso) {
  if (!iso) return '';
  const when = new Date(iso);
  return Number.isNaN(when.getTime()) ? iso : when.toLocaleString();
}

export function formatMs(ms) {
  if (ms === null || ms === undefined) return '–';
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`;
}

export function formatJson(value) {
  try {
    return JSON.stringify(value, null, 2);
  } catch {
    return String(value);
  }
}

export const cut = (text, length = 120) =>
  text && text.length > length ? `${text.slice(0, length - 1)}…` : text ?? '';

// A heading a view moves focus to when it opens, so keyboard and screen reader users land
// on what changed.
export function focusHeading(container) {
  const heading = container.querySelector('h1, h2');
  if (heading) {
    heading.setAttribute('tabindex', '-1');
    heading.focus({ preventScroll: false });
  }
}
