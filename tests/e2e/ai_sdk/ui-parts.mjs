// What the clients share: how a message's parts are folded for the tests to compare, the
// chat state useChat keeps (its Chat class takes one), errors in the SDK's words and a
// transport that records what it sent and parsed.

// A tool part names its tool in its type (`tool-<name>`) unless it is a `dynamic-tool`; JSON has
// no undefined, so the fields tests compare are always present, null when the SDK left them
// unset. Every other field the SDK set (rawInput, providerExecuted, approval, ...) follows.
export const isToolPart = (part) => part.type === 'dynamic-tool' || part.type.startsWith('tool-');
export const assembledPart = (part) => {
  if (!isToolPart(part)) return part;
  const { type, toolCallId, toolName, state, input, output, errorText, ...rest } = part;
  return {
    type,
    toolCallId,
    toolName: type === 'dynamic-tool' ? toolName : type.slice('tool-'.length),
    state,
    input: input ?? null,
    output: output ?? null,
    errorText: errorText ?? null,
    ...rest,
  };
};

// The state useChat keeps in React, in memory: a pushed message is the live one, a replaced
// one a snapshot.
export class MemoryChatState {
  status = 'ready';
  error = undefined;
  messages = [];
  pushMessage = (message) => {
    this.messages = this.messages.concat(message);
  };
  popMessage = () => {
    this.messages = this.messages.slice(0, -1);
  };
  replaceMessage = (index, message) => {
    this.messages = this.messages.map((m, i) => (i === index ? this.snapshot(message) : m));
  };
  snapshot = (thing) => structuredClone(thing);
}

// An error in the SDK's own words, with what its error classes add (JSON drops the rest).
export const describeError = (error) => ({
  name: error?.name ?? typeof error,
  message: error?.message ?? String(error),
  ...(error?.value !== undefined ? { value: error.value } : {}),
  ...(error?.statusCode !== undefined ? { statusCode: error.statusCode } : {}),
  ...(error?.responseBody !== undefined ? { responseBody: error.responseBody } : {}),
  ...(error?.cause !== undefined ? { cause: String(error.cause?.message ?? error.cause) } : {}),
});

// A DefaultChatTransport (the SDK's own, passed in: `ai` 6 or 7) that records each POST the
// SDK makes into `requests`: its status, the JSON body sent, the chunk types parsed, the
// `start` messageId and the finishReason. The SDK gets every response and chunk untouched.
export const observedTransport = (DefaultChatTransport, requests, options) => {
  const observingFetch = async (url, init) => {
    const request = { status: null, body: JSON.parse(init.body), chunkTypes: [],
                      startMessageId: null, finishReason: null };
    requests.push(request);
    const response = await fetch(url, init);
    request.status = response.status;
    return response;
  };
  class ObservedTransport extends DefaultChatTransport {
    processResponseStream(stream) {
      const request = requests.at(-1);
      return super.processResponseStream(stream).pipeThrough(
        new TransformStream({
          transform(chunk, controller) {
            request.chunkTypes.push(chunk.type);
            if (chunk.type === 'start') request.startMessageId = chunk.messageId ?? null;
            if (chunk.type === 'finish') request.finishReason = chunk.finishReason ?? null;
            controller.enqueue(chunk);
          },
        }),
      );
    }
  }
  return new ObservedTransport({ ...options, fetch: observingFetch });
};

// What every test client's Chat is made with: the session as its id, the observed transport
// to our chat route with the robot in the body, useChat's in-memory state, and failures
// recorded in the SDK's words.
export const chatOptions = (DefaultChatTransport, args, result) => ({
  id: args.session,
  transport: observedTransport(DefaultChatTransport, result.requests, {
    api: `${args.base.replace(/\/$/, '')}/robots/chat/sse`,
    headers: { Authorization: `Bearer ${args.token}` },
    body: { robotId: args.robot },
  }),
  state: new MemoryChatState(),
  onError: (error) => result.failures.push(describeError(error)),
});

// The command-line options every test client takes (parseArgs); each adds its own.
export const CLIENT_OPTIONS = {
  ai: { type: 'string' },
  base: { type: 'string' },
  token: { type: 'string' },
  session: { type: 'string' },
  robot: { type: 'string' },
  send: { type: 'string' },
  'timeout-ms': { type: 'string', default: '30000' },
};

// The npm alias of `ai` major 6 or 7 (package.json installs both); undefined for another.
const SDK_PACKAGES = { 6: 'ai6', 7: 'ai7' };
export const sdkPackageOf = (major) =>
  (Object.hasOwn(SDK_PACKAGES, major) ? SDK_PACKAGES[major] : undefined);
