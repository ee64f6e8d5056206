// What both clients share: how a message's parts are folded for the tests to compare, and
// the chat state useChat keeps (its Chat class takes one).

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
