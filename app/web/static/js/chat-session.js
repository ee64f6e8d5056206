// The AI SDK's own Chat (AbstractChat, the class useChat wraps) with its DefaultChatTransport,
// pointed at this API: POST /robots/chat/sse to send, GET /robots/chat/sse/{id}/stream to
// resume. What the playground adds: a state that tells the page when to draw, the active
// turn (the stream's `start` messageId is `msg-<turn id>`) for the stop button, and a note
// in sessionStorage while a turn streams, so a reload knows to resume it.

import {
  AbstractChat,
  DefaultChatTransport,
  lastAssistantMessageIsCompleteWithApprovalResponses,
  lastAssistantMessageIsCompleteWithToolCalls,
} from '../vendor/ai-chat.js';
import { api, authHeaders } from './api.js';

// The bundled `ai` is major 7: it takes `reset-step`, so a retried attempt's stream drops
// the dead attempt's partial step in place (README: "The stream when a turn is retried").
const STREAM_FEATURES = { 'x-robots-stream-features': 'reset-step' };

export const turnIdOf = (messageId) =>
  typeof messageId === 'string' && messageId.startsWith('msg-') ? messageId.slice(4) : null;

const streamingKey = (sessionId) => `robots.playground.streaming.${sessionId}`;

export const streamedBeforeReload = (sessionId) =>
  sessionStorage.getItem(streamingKey(sessionId)) !== null;

// The state useChat keeps in React, kept here in fields that call `onChange` when set.
class ObservedChatState {
  #status = 'ready';
  #error = undefined;
  #messages;

  constructor(messages, onChange) {
    this.#messages = messages;
    this.onChange = onChange;
  }

  get status() { return this.#status; }
  set status(value) { this.#status = value; this.onChange(); }
  get error() { return this.#error; }
  set error(value) { this.#error = value; this.onChange(); }
  get messages() { return this.#messages; }
  set messages(value) { this.#messages = value; this.onChange(); }

  pushMessage = (message) => { this.messages = this.#messages.concat(message); };
  popMessage = () => { this.messages = this.#messages.slice(0, -1); };
  replaceMessage = (index, message) => {
    this.messages = this.#messages.map((m, i) => (i === index ? this.snapshot(message) : m));
  };
  snapshot = (thing) => structuredClone(thing);
}

// The transport tells `onStart` each stream's `start` messageId; the SDK gets every chunk.
class TurnWatchingTransport extends DefaultChatTransport {
  constructor({ onStart, ...options }) {
    super(options);
    this.onStart = onStart;
  }

  processResponseStream(stream) {
    const onStart = this.onStart;
    return super.processResponseStream(stream).pipeThrough(new TransformStream({
      transform(chunk, controller) {
        if (chunk.type === 'start' && chunk.messageId) onStart(chunk.messageId);
        controller.enqueue(chunk);
      },
    }));
  }
}

export class PlaygroundChat extends AbstractChat {
  // robotId(): the robot to send with each post (undefined: the session's own).
  constructor({ id, messages = [], robotId, onChange, onData, onError }) {
    super({
      id,
      state: new ObservedChatState(messages, () => this.onChange?.()),
      transport: new TurnWatchingTransport({
        api: '/robots/chat/sse',
        headers: () => ({ ...authHeaders(), ...STREAM_FEATURES }),
        body: () => ({ robotId: robotId() || undefined }),
        onStart: (messageId) => this.#started(messageId),
      }),
      onData,
      onError,
      onFinish: ({ isAbort, isError }) => this.#finished(isAbort || isError),
      sendAutomaticallyWhen: (options) => this.#answersComplete(options),
    });
    this.onChange = onChange;
    this.activeTurn = null;
    this.stopRequested = false;
    this.clientToolAnswered = false;
  }

  get busy() {
    return this.status === 'submitted' || this.status === 'streaming';
  }

  #started(messageId) {
    this.activeTurn = turnIdOf(messageId);
    sessionStorage.setItem(streamingKey(this.id), this.activeTurn ?? '');
    if (this.stopRequested) queueMicrotask(() => this.stopTurn());
    this.onChange?.();
  }

  // A turn that ended by itself is done with; one cut off (a reload, a lost connection)
  // keeps its note, so opening the session again resumes it.
  #finished(cutOff) {
    if (!cutOff) sessionStorage.removeItem(streamingKey(this.id));
    this.activeTurn = null;
    this.stopRequested = false; // a post refused before its stream began stops nothing later
    this.onChange?.();
  }

  // Post the answers once every call the turn waits on has one: approvals as the SDK
  // decides, a client tool's output only once the person gave one (a turn that ended on
  // its step limit right after server tools ran looks "complete with tool calls" too).
  #answersComplete(options) {
    if (lastAssistantMessageIsCompleteWithApprovalResponses(options)) return true;
    if (this.clientToolAnswered && lastAssistantMessageIsCompleteWithToolCalls(options)) {
      this.clientToolAnswered = false;
      return true;
    }
    return false;
  }

  answerClientTool(part, output) {
    this.clientToolAnswered = true;
    return this.addToolOutput({ tool: part.toolName, toolCallId: part.toolCallId, output });
  }

  // Stop: cancel the turn on the server (any instance stops it within a second) and stop
  // reading. Before the stream has said which turn it is, the stop waits for its `start`.
  async stopTurn() {
    const turnId = this.activeTurn;
    if (!turnId) {
      this.stopRequested = this.busy;
      return;
    }
    this.stopRequested = false;
    sessionStorage.removeItem(streamingKey(this.id));
    const session = `/robots/sessions/${encodeURIComponent(this.id)}`;
    const turn = `${session}/turns/${encodeURIComponent(turnId)}`;
    const [cancelled] = await Promise.allSettled([
      api(`${turn}/cancel`, { method: 'POST' }),
      this.stop(),
    ]);
    if (cancelled.status === 'rejected') throw cancelled.reason;
  }

  // Opening a session: resume its stream when a turn may still be answering (the last
  // message is a question, or this tab was streaming it before a reload).
  resumeIfStreaming() {
    const last = this.lastMessage;
    if (last?.role === 'user' || streamedBeforeReload(this.id)) return this.resumeStream();
    return Promise.resolve();
  }
}
