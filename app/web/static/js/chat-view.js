// The chat: pick a robot, talk with it through the AI SDK's Chat, stop a turn, answer the
// calls a turn waits on, fork at a message. `#/chat` starts a new session (its id is made
// here, and the address becomes `#/chat/<id>` with the first message), `#/chat/<id>` opens
// one: its messages, and its stream if a turn is still answering.

import { allPages, api, ApiError, describeError } from './api.js';
import { PlaygroundChat } from './chat-session.js';
import { focusHeading, h, newId } from './dom.js';
import { renderMessage } from './parts.js';

const LAST_ROBOT_KEY = 'robots.playground.robot';
const PAGE = 100; // messages per page: the API's most

const STATUS = { submitted: 'Sending…', streaming: 'The robot is answering…' };

const sessionPath = (id) => `/robots/sessions/${encodeURIComponent(id)}`;
// A stored message as the Chat holds one (the robot's name is kept aside, in robotNames).
const asUIMessage = ({ id, role, parts, metadata }) =>
  ({ id, role, parts, metadata: metadata ?? undefined });

async function loadSession(id) {
  try {
    return await api(`${sessionPath(id)}?limit=${PAGE}`);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null; // not started yet
    throw error;
  }
}

export async function chatView(container, { sessionId }) {
  const id = sessionId ?? newId('s');
  const [session, robots] = await Promise.all([
    sessionId ? loadSession(sessionId) : null,
    allPages('/robots', 'robots').catch(() => []),
  ]);
  const view = new ChatView(container, id, session, robots);
  view.chat.resumeIfStreaming();
  return () => view.close();
}

class ChatView {
  constructor(container, id, session, robots) {
    this.id = id;
    this.started = session !== null;
    this.name = session?.name ?? null;
    this.olderBefore = session?.message_list?.next_before ?? null;
    this.robots = robots;
    this.sessionRobot = session?.active_robot_id ?? null;
    this.robotNames = new Map(); // message id -> the robot that wrote it
    this.nodes = new Map(); // message id -> { message, busy, node }
    this.error = null;
    this.frame = null;
    const messages = (session?.message_list?.messages ?? []).map((m) => {
      if (m.robot) this.robotNames.set(m.id, m.robot.name);
      return asUIMessage(m);
    });
    this.chat = new PlaygroundChat({
      id,
      messages,
      robotId: () => this.robotSelect.value,
      onChange: () => this.schedule(),
      onData: (part) => this.onData(part),
      onError: (error) => this.showError(error),
    });
    this.build(container, session);
    this.draw();
    focusHeading(container);
  }

  build(container, session) {
    const chosen = session
      ? session.active_robot_id ?? '' : localStorage.getItem(LAST_ROBOT_KEY) ?? '';
    const remember = () => localStorage.setItem(LAST_ROBOT_KEY, this.robotSelect.value);
    this.robotSelect = h('select', { id: 'robot', onchange: remember },
      h('option', { value: '' }, session ? "The session's robot" : 'The built-in robot'),
      this.robots.map((robot) => h('option', { value: robot.id, selected: robot.id === chosen },
        `${robot.name} (${robot.model})`)));
    this.title = h('h2', { id: 'chat-title' });
    this.timelineLink = h('a', { href: `#/timeline/${encodeURIComponent(this.id)}` }, 'Timeline');
    this.older = h('button', { type: 'button', class: 'link', onclick: () => this.loadOlder() },
      'Show older messages');
    this.list = h('ol', { class: 'messages', role: 'log', 'aria-labelledby': 'chat-title' });
    this.status = h('p', { class: 'status', role: 'status' });
    this.alert = h('p', { class: 'error', role: 'alert' });
    this.input = h('textarea', { id: 'message', name: 'message', rows: 3, required: true,
      'aria-describedby': 'message-hint', onkeydown: (e) => this.onKey(e) });
    this.sendButton = h('button', { type: 'submit', class: 'primary' }, 'Send');
    this.stopButton = h('button', { type: 'button', onclick: () => this.stop() }, 'Stop');
    container.replaceChildren(h('section', { class: 'chat', 'aria-labelledby': 'chat-title' },
      this.title,
      h('div', { class: 'toolbar' },
        h('label', { for: 'robot' }, 'Robot'), this.robotSelect,
        this.timelineLink,
        h('a', { href: '#/chat', class: 'button' }, 'New chat')),
      this.older, this.list, this.status, this.alert,
      h('form', { class: 'composer', onsubmit: (e) => this.send(e) },
        h('label', { for: 'message' }, 'Message'), this.input,
        h('p', { id: 'message-hint', class: 'hint' },
          'Enter sends, Shift+Enter starts a new line.'),
        h('div', { class: 'buttons' }, this.sendButton, this.stopButton))));
  }

  schedule() {
    this.frame ??= requestAnimationFrame(() => {
      this.frame = null;
      this.draw();
    });
  }

  draw() {
    const busy = this.chat.busy;
    this.title.textContent = this.name || 'New conversation';
    document.title = `${this.name || 'New conversation'} · Robots playground`;
    this.timelineLink.hidden = !this.started;
    this.older.hidden = !this.olderBefore || busy;
    this.list.setAttribute('aria-busy', String(busy));
    this.sendButton.disabled = busy;
    this.stopButton.disabled = !busy;
    this.status.textContent = STATUS[this.chat.status] ?? '';
    this.alert.textContent = this.error ?? '';
    this.drawMessages(busy);
  }

  // Only messages that changed are drawn again: the SDK replaces a message object when it
  // changes, so an unchanged one keeps its node (and whatever has focus in it).
  drawMessages(busy) {
    const nearBottom = this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < 80;
    const context = {
      busy,
      robotName: (message) => this.robotNames.get(message.id),
      actions: {
        approve: (part, approved, reason) => this.act(
          () => this.chat.addToolApprovalResponse({ id: part.approval.id, approved, reason })),
        output: (part, value) => this.act(() => this.chat.answerClientTool(part, value)),
        fork: (message) => this.act(() => this.fork(message)),
      },
    };
    const nodes = this.chat.messages.map((message) => {
      // An answer is the robot's that was picked when it came (the API names stored ones).
      if (message.role === 'assistant' && !this.robotNames.has(message.id)) {
        this.robotNames.set(message.id, this.selectedRobotName());
      }
      const known = this.nodes.get(message.id);
      if (known && known.message === message && known.busy === busy) return known.node;
      const node = renderMessage(message, context);
      this.nodes.set(message.id, { message, busy, node });
      return node;
    });
    nodes.forEach((node, index) => {
      const at = this.list.children[index];
      if (at !== node) this.list.insertBefore(node, at ?? null);
    });
    while (this.list.children.length > nodes.length) this.list.lastElementChild.remove();
    if (nearBottom) this.list.scrollTop = this.list.scrollHeight;
  }

  selectedRobotName() {
    const id = this.robotSelect.value || this.sessionRobot;
    return this.robots.find((r) => r.id === id)?.name ?? 'Robot';
  }

  onKey(event) {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      this.input.form.requestSubmit();
    }
  }

  async send(event) {
    event.preventDefault();
    const text = this.input.value.trim();
    if (!text || this.chat.busy) return;
    this.input.value = '';
    this.error = null;
    if (!this.started) {
      this.started = true; // the post starts the session: give it its address
      history.replaceState(null, '', `#/chat/${encodeURIComponent(this.id)}`);
    }
    await this.chat.sendMessage({ text });
  }

  stop() {
    this.act(() => this.chat.stopTurn());
  }

  onData(part) {
    if (part.type === 'data-session-name' && part.data?.name) {
      this.name = part.data.name;
      this.schedule();
    }
  }

  async loadOlder() {
    if (!this.olderBefore || this.chat.busy) return;
    const before = encodeURIComponent(this.olderBefore);
    const page = await api(`${sessionPath(this.id)}?limit=${PAGE}&before=${before}`)
      .catch((error) => this.showError(error));
    if (!page) return;
    for (const m of page.message_list.messages) {
      if (m.robot) this.robotNames.set(m.id, m.robot.name);
    }
    this.olderBefore = page.message_list.next_before ?? null;
    this.chat.messages = page.message_list.messages.map(asUIMessage).concat(this.chat.messages);
  }

  async fork(message) {
    const forked = await api(`${sessionPath(this.id)}/fork`,
      { method: 'POST', body: { at_message_id: message.id } });
    location.hash = `#/chat/${encodeURIComponent(forked.id)}`;
  }

  async act(action) {
    this.error = null;
    this.schedule();
    try {
      await action();
    } catch (error) {
      this.showError(error);
    }
  }

  showError(error) {
    this.error = describeError(error);
    this.schedule();
  }

  // Leaving the view stops reading, not the turn: coming back resumes its stream.
  close() {
    this.chat.onChange = null;
    if (this.frame) cancelAnimationFrame(this.frame);
    if (this.chat.busy) this.chat.stop();
  }
}
