// The real AI SDK client (the `ai` package) against our chat stream, the way useChat does it:
// DefaultChatTransport posts the chat (or reconnects to it) and parses the SSE with the SDK's
// own chunk schema; readUIMessageStream folds the chunks into the final UIMessage. Both majors
// are installed side by side (package.json aliases `ai6` and `ai7`); --ai picks one.
//
//   node chat-client.mjs --ai 6|7 --base http://127.0.0.1:8000 --token T --session S \
//        --send "Hi" [--robot R]
//   node chat-client.mjs --ai 6|7 --base http://127.0.0.1:8000 --token T --session S --resume \
//        [--background "Hi" [--robot R]]
//
// --header "name: value" (repeatable) adds a header to the transport's requests, as an app's
// DefaultChatTransport({headers}) would (e.g. "x-robots-stream-features: reset-step").
//
// --chat (with --send) drives the SDK's own Chat class, the one useChat wraps, instead of
// readUIMessageStream: sendMessage, then, if the chat ended in error, resumeStream() once, as
// an app's retry button would. `chat` has its final status and its messages' ids and roles;
// `message` is its last assistant message; chunk types and errors of both requests add up.
//
// --background first starts a turn without streaming it (our POST /robots/sessions, not an SDK
// call), then reconnects to it at once, so the SDK follows the turn while it runs.
//
// Prints one JSON object on stdout. `failures` lists everything the SDK rejected (schema
// validation, protocol errors, HTTP errors) with the SDK's own error text; exit status 1 if any.
// An `error` chunk from the server is not a failure: the SDK reports it through onError, and it
// is listed under `surfacedErrors`. `parts` is the assembled message's parts in full, tool parts
// with `toolName`, `input`, `output` and `errorText` always present (null when unset).
//
// What differs between ai 6.0.326 and 7.0.173 for the UI message stream (read from their dist:
// uiMessageChunkSchema and processUIMessageStream):
// - Chunks only v7 knows: `reset-step`, `tool-approval-response`, `custom`, `reasoning-file`,
//   `steering-message`; `text-end.citations`; `tool-approval-request.reason`/`isAutomatic`;
//   finishReason `interrupted`. v6 fails the whole stream on any of them (TypeValidationError:
//   no member of the chunk union matches). Unknown extra fields pass in both (looseObject).
// - `reset-step` (v7) drops the current step's parts (all after the last step-start, which
//   stays) and forgets open text, reasoning and tool-input ids: a retried attempt can erase the
//   dead one's partial parts. v6 has no equivalent: it keeps every part it was sent.
// - `finish-step` forgets open text/reasoning ids in v6, not in v7 (only reset-step does).
// - `tool-input-error` on a static tool: v6 stores the chunk's input as `rawInput`, leaving
//   `input` unset; v7 stores it as `input`. For a dynamic tool both store `input`.
// - The same in both: `dynamic: true` on tool-input-start/-available makes a `dynamic-tool`
//   part carrying `toolName`, otherwise the part is `tool-<toolName>`; tool-output-available /
//   -error / -denied and tool-approval-request find the part by toolCallId (current step first,
//   then the whole message) and fail with UIMessageStreamError when there is none;
//   messageMetadata on start / finish / message-metadata is merged into `message.metadata`.
// - An HTTP error: v6 throws Error(response text); v7 an APICallError with statusCode and
//   responseBody. (dataPartSchemas are keyed `data-x` in v6, `x` in v7; we pass none.)

import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';

import {
  CLIENT_OPTIONS, MemoryChatState, assembledPart, sdkPackageOf,
} from './ui-parts.mjs';

const { values: args } = parseArgs({
  options: {
    ...CLIENT_OPTIONS,
    background: { type: 'string' },
    'message-id': { type: 'string' },
    header: { type: 'string', multiple: true, default: [] },
    resume: { type: 'boolean', default: false },
    chat: { type: 'boolean', default: false },
  },
});
const sdkPackage = sdkPackageOf(args.ai);
if (
  !sdkPackage ||
  !args.base ||
  !args.token ||
  !args.session ||
  (args.send === undefined) === !args.resume ||
  (args.background !== undefined && !args.resume) ||
  (args.chat && args.send === undefined)
) {
  process.stderr.write(
    'usage: --ai 6|7 --base URL --token T --session S' +
      ' (--send TEXT [--robot ID] [--chat] | --resume [--background TEXT [--robot ID]])' +
      ' [--header "name: value"]...\n',
  );
  process.exit(2);
}
const { AbstractChat, DefaultChatTransport, readUIMessageStream } = await import(sdkPackage);
const base = args.base.replace(/\/$/, '');
const userMessage = (text) => ({
  id: args['message-id'] ?? `m-${randomUUID()}`,
  role: 'user',
  parts: [{ type: 'text', text }],
});

// For a schema rejection, the issues of the union member named by the chunk's own `type`
// (the SDK's message lists every member of the union).
const chunkIssues = (error) => {
  const issues = error?.cause?.issues;
  if (!Array.isArray(issues)) return undefined;
  return issues
    .flatMap((issue) =>
      issue.code === 'invalid_union' && Array.isArray(issue.errors)
        ? (issue.errors.find((member) => !member.some((i) => i.path?.[0] === 'type')) ?? [issue])
        : [issue],
    )
    .map((issue) => `${(issue.path ?? []).join('.') || '(chunk)'}: ${issue.message}`);
};

const describe = (error) => ({
  name: error?.name ?? typeof error,
  message: error?.message ?? String(error),
  ...(chunkIssues(error) ? { issues: chunkIssues(error) } : {}),
  // TypeValidationError carries the rejected chunk; APICallError the status and body.
  ...(error?.value !== undefined ? { value: error.value } : {}),
  ...(error?.statusCode !== undefined ? { statusCode: error.statusCode } : {}),
  ...(error?.responseBody !== undefined ? { responseBody: error.responseBody } : {}),
  ...(error?.cause !== undefined ? { cause: String(error.cause?.message ?? error.cause) } : {}),
});

const result = {
  mode: args.resume ? 'resume' : 'send',
  sdkVersion: createRequire(import.meta.url)(`${sdkPackage}/package.json`).version,
  nodeVersion: process.version,
  responses: [], // status and headers of each HTTP response, observed only
  chunkTypes: [],
  finishReason: null, // of the `finish` chunk
  startMessageId: null,
  errorChunks: [], // errorText of each `error` chunk the SDK parsed
  surfacedErrors: [], // what readUIMessageStream reported for those chunks (onError)
  failures: [],
  background: null, // the 202 that started the background turn
  timing: null, // ms from the SDK call to the response, the first chunk and the end
  streamed: false, // false: reconnect answered 204 (nothing to resume)
  // The last UIMessage readUIMessageStream yielded: what useChat renders. A snapshot is taken
  // when a chunk changes what is shown, so a trailing step-start (start-step publishes none)
  // is not in it.
  message: null,
  parts: [], // its parts in full (see assembledPart)
  chat: null, // --chat: { status, resumed, messages: [{ id, role }] }
};

// A pass-through fetch so the report can show the response headers; the SDK gets the response
// untouched.
const observingFetch = async (url, init) => {
  const response = await fetch(url, init);
  result.responses.push({
    method: init?.method ?? 'GET',
    url: String(url),
    status: response.status,
    headers: Object.fromEntries(response.headers),
  });
  return response;
};

const extraHeaders = Object.fromEntries(
  args.header.map((line) => [line.slice(0, line.indexOf(':')).trim(),
                             line.slice(line.indexOf(':') + 1).trim()]),
);
const transportOptions = {
  api: `${base}/robots/chat/sse`,
  headers: { Authorization: `Bearer ${args.token}`, ...extraHeaders },
  body: args.robot ? { robotId: args.robot } : undefined,
  fetch: observingFetch,
};
const transport = new DefaultChatTransport(transportOptions);
const abortSignal = AbortSignal.timeout(Number(args['timeout-ms']));
let since = () => null;

// Records each chunk the SDK parsed, passing it on untouched.
const observe = (chunks) =>
  chunks.pipeThrough(
    new TransformStream({
      transform(chunk, controller) {
        if (result.timing) result.timing.firstChunkMs ??= since();
        result.chunkTypes.push(chunk.type);
        if (chunk.type === 'start') result.startMessageId = chunk.messageId ?? null;
        if (chunk.type === 'error') result.errorChunks.push(chunk.errorText);
        if (chunk.type === 'finish') result.finishReason = chunk.finishReason ?? null;
        controller.enqueue(chunk);
      },
    }),
  );

// An `error` chunk reaches onError as `new Error(errorText)`; anything else
// (TypeValidationError, JSONParseError, UIMessageStreamError, ...) is a rejection.
const report = (error) => {
  const fromChunk = error?.name === 'Error' && result.errorChunks.includes(error.message);
  (fromChunk ? result.surfacedErrors : result.failures).push(describe(error));
};


const runChat = async () => {
  class ObservedTransport extends DefaultChatTransport {
    processResponseStream(stream) {
      result.streamed = true;
      return observe(super.processResponseStream(stream));
    }
  }
  class Chat extends AbstractChat {
    constructor() {
      super({ id: args.session, transport: new ObservedTransport(transportOptions),
              state: new MemoryChatState(), onError: report });
    }
  }
  const chat = new Chat();
  abortSignal.addEventListener('abort', () => chat.stop());
  await chat.sendMessage(userMessage(args.send));
  const resumed = chat.status === 'error';
  if (resumed) await chat.resumeStream();
  result.chat = { status: chat.status, resumed,
                  messages: chat.messages.map(({ id, role }) => ({ id, role })) };
  result.message = chat.messages.findLast((m) => m.role === 'assistant') ?? null;
};

try {
  if (args.background !== undefined) {
    const response = await fetch(`${base}/robots/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', Authorization: `Bearer ${args.token}` },
      body: JSON.stringify({
        id: args.session,
        trigger: 'submit-message',
        messages: [userMessage(args.background)],
        ...(args.robot ? { robotId: args.robot } : {}),
      }),
      signal: abortSignal,
    });
    result.background = { status: response.status, body: await response.json() };
    if (response.status !== 202) {
      throw new Error(`POST /robots/sessions answered ${response.status}`);
    }
  }
  const started = performance.now();
  since = () => Math.round(performance.now() - started);
  const chunks = args.chat
    ? null
    : args.resume
    ? await transport.reconnectToStream({ chatId: args.session, abortSignal })
    : await transport.sendMessages({
        chatId: args.session,
        trigger: 'submit-message',
        messageId: undefined,
        messages: [userMessage(args.send)],
        abortSignal,
      });
  result.timing = { responseMs: since(), firstChunkMs: null, endMs: null };
  if (args.chat) {
    await runChat();
    result.timing.endMs = since();
  } else if (chunks !== null) {
    result.streamed = true;
    const reported = [];
    for await (const message of readUIMessageStream({
      stream: observe(chunks),
      onError: (error) => reported.push(error),
    })) {
      result.message = message;
    }
    result.timing.endMs = since();
    reported.forEach(report);
  }
} catch (error) {
  result.failures.push(describe(error));
}

result.parts = (result.message?.parts ?? []).map(assembledPart);
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exitCode = result.failures.length ? 1 : 0;
