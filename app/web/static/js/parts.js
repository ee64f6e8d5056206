// One chat message as the page shows it: its parts in order (text, reasoning, tool calls
// with their input and output, files), and what a person may do with it (answer a call the
// turn waits on, fork the session at it).

import { authHeaders } from './api.js';
import { cut, formatJson, h } from './dom.js';

const isToolPart = (part) => part.type === 'dynamic-tool' || part.type.startsWith('tool-');
const toolName = (part) =>
  part.type === 'dynamic-tool' ? part.toolName : part.type.slice('tool-'.length);

const TOOL_STATES = {
  'input-streaming': 'being written',
  'input-available': 'called',
  'approval-requested': 'waits for your approval',
  'approval-responded': 'answered',
  'output-available': 'done',
  'output-error': 'failed',
  'output-denied': 'denied',
};

// ctx: { busy, robotName, actions: { approve(part, approved, reason), output(part, value),
//        fork(message) } }
export function renderMessage(message, ctx) {
  const mine = message.role === 'user';
  const who = mine ? 'You'
    : message.role === 'assistant' ? ctx.robotName(message) ?? 'Robot' : message.role;
  return h('li', { class: `message ${message.role}`, 'data-message-id': message.id },
    h('article', { 'aria-label': `${who} said` },
      h('header', {}, h('span', { class: 'who' }, who), usageLine(message.metadata)),
      h('div', { class: 'parts' }, message.parts.map((part) => renderPart(part, ctx))),
      ctx.busy ? null : h('footer', {},
        h('button', { type: 'button', class: 'link', onclick: () => ctx.actions.fork(message),
                      title: 'A new session with the history up to this message' },
          'Fork from here'))));
}

function usageLine(metadata) {
  if (!metadata?.model && !metadata?.usage) return null;
  const usage = metadata.usage
    ? ` · ${metadata.usage.inputTokens ?? 0} in / ${metadata.usage.outputTokens ?? 0} out` : '';
  const finish = metadata.finishReason ? ` · ${metadata.finishReason}` : '';
  return h('span', { class: 'meta' }, `${metadata.model ?? ''}${usage}${finish}`);
}

function renderPart(part, ctx) {
  if (part.type === 'text') return h('p', { class: 'text' }, part.text);
  if (part.type === 'reasoning') {
    return h('details', { class: 'reasoning', open: part.state === 'streaming' },
      h('summary', {}, part.state === 'streaming' ? 'Thinking…' : 'Reasoning'),
      h('p', { class: 'thought' }, part.text));
  }
  if (isToolPart(part)) return renderTool(part, ctx);
  if (part.type === 'file') return renderFile(part);
  if (part.type === 'source-url') {
    return h('p', { class: 'source' }, 'Source: ', h('span', {}, part.title || part.url));
  }
  return null; // step-start and data parts: structure, not content
}

function renderTool(part, ctx) {
  const name = toolName(part);
  const waiting = part.state === 'approval-requested'
    || (part.state === 'input-available' && !ctx.busy && !part.providerExecuted);
  return h('details', { class: `tool ${part.state}`, open: waiting || undefined },
    h('summary', {}, h('span', { class: 'tool-name' }, name),
      ` ${TOOL_STATES[part.state] ?? part.state}`),
    h('div', { class: 'tool-body' },
      h('h4', {}, 'Input'),
      h('pre', {}, formatJson(part.input ?? part.rawInput ?? null)),
      part.state === 'output-available'
        ? [h('h4', {}, 'Output'), h('pre', {}, formatJson(part.output))] : null,
      part.state === 'output-error'
        ? [h('h4', {}, 'Error'), h('p', { class: 'error-text' }, part.errorText)] : null,
      part.state === 'output-denied' || part.approval?.approved === false
        ? h('p', {}, `Denied${part.approval?.reason ? `: ${part.approval.reason}` : ''}`) : null,
      part.state === 'approval-requested' && !ctx.busy ? approvalForm(part, ctx) : null,
      part.state === 'input-available' && waiting ? clientOutputForm(part, ctx) : null));
}

function approvalForm(part, ctx) {
  const reason = h('input', { type: 'text', name: 'reason', autocomplete: 'off' });
  const id = `reason-${part.toolCallId}`;
  reason.id = id;
  const answer = (approved) =>
    ctx.actions.approve(part, approved, reason.value.trim() || undefined);
  return h('div', { class: 'answer', role: 'group', 'aria-label': `Approve ${toolName(part)}?` },
    h('label', { for: id }, 'Reason (optional)'), reason,
    h('button', { type: 'button', class: 'primary', onclick: () => answer(true) }, 'Approve'),
    h('button', { type: 'button', onclick: () => answer(false) }, 'Deny'));
}

function clientOutputForm(part, ctx) {
  const id = `output-${part.toolCallId}`;
  const field = h('textarea', { id, rows: 3, spellcheck: 'false' });
  const problem = h('p', { class: 'error-text', role: 'alert' });
  const send = (event) => {
    event.preventDefault();
    try {
      ctx.actions.output(part, JSON.parse(field.value || 'null'));
    } catch (error) {
      problem.textContent = `Not JSON: ${error.message}`;
    }
  };
  return h('form', { class: 'answer', onsubmit: send },
    h('label', { for: id }, `Output of ${toolName(part)} (JSON): the robot waits for it`),
    field, h('button', { type: 'submit', class: 'primary' }, 'Send output'), problem);
}

// A stored file's url is a path on the API that needs the token: fetched, then shown.
function renderFile(part) {
  const label = part.filename || part.mediaType || 'file';
  if (!part.mediaType?.startsWith('image/')) return h('p', { class: 'file' }, `File: ${label}`);
  const image = h('img', { alt: label, class: 'file' });
  if (part.url?.startsWith('data:')) {
    image.src = part.url;
  } else if (part.url?.startsWith('/robots/files/')) {
    fetch(part.url, { headers: authHeaders() })
      .then((response) => (response.ok ? response.blob() : null))
      .then((blob) => { if (blob) image.src = URL.createObjectURL(blob); })
      .catch(() => { image.alt = `${label} (could not be loaded)`; });
  } else {
    return h('p', { class: 'file' }, `File: ${label} (${cut(part.url ?? '', 60)})`);
  }
  return image;
}
