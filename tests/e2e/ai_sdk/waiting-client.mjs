// The real AI SDK client (the `ai` package, 6 or 7) through a turn that waits on it, the way an
// app built on useChat does it: the SDK's own Chat class (AbstractChat, which useChat wraps)
// with DefaultChatTransport and `sendAutomaticallyWhen`. It sends a message; the turn's stream
// ends waiting on a tool call; the client answers with the SDK's own call, and the SDK itself
// posts the answer and folds the continuation into the same assistant message.
//
//   node waiting-client.mjs --ai 6|7 --base URL --token T --session S --robot R --send TEXT \
//        (--approve | --deny [--reason TEXT] | --output JSON)
//
// --approve / --deny: sendAutomaticallyWhen is lastAssistantMessageIsCompleteWithApprovalResponses
//   and the answer is addToolApprovalResponse({id, approved, reason}) for the part in state
//   approval-requested.
// --output: sendAutomaticallyWhen is lastAssistantMessageIsCompleteWithToolCalls and the answer
//   is addToolOutput({tool, toolCallId, output}) for the part in state input-available (a client
//   tool's call).
//
// Both calls resolve before the automatic send they start has finished (the SDK does not await
// it), so the client waits until the chat is idle again: every request it made has finished
// (onFinish) and no new one starts within SETTLE_MS.
//
// Prints one JSON object on stdout: `requests` (each POST's status, the JSON body the SDK sent,
// the chunk types it parsed, the `start` messageId and finishReason), `waiting` (the assistant
// message when the first stream ended), `answered` (the tool part the client answered, as it
// was posted), `messages` (the chat's final messages, tool parts with toolName, input, output
// and errorText always present, null when unset), `status`, and `failures`: everything the SDK
// rejected or reported through onError, in its own words; exit status 1 if any.
//
// Signatures read from the dist of ai 6.0.326 and 7.0.173 (the same in both):
// addToolApprovalResponse({id, approved, reason?, options?}) turns the part whose approval.id is
// `id` from approval-requested to approval-responded; addToolOutput({tool, toolCallId, output} |
// {state: 'output-error', tool, toolCallId, errorText}) sets the part with that toolCallId (`tool`
// only types it). Each then asks sendAutomaticallyWhen and, when it says yes, posts (trigger
// submit-message, messageId = the assistant message's id) without awaiting the response.

import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';

import {
  CLIENT_OPTIONS, assembledPart, chatOptions, describeError, isToolPart, sdkPackageOf,
} from './ui-parts.mjs';

const SETTLE_MS = 300;

const { values: args } = parseArgs({
  options: {
    ...CLIENT_OPTIONS,
    approve: { type: 'boolean', default: false },
    deny: { type: 'boolean', default: false },
    reason: { type: 'string' },
    output: { type: 'string' },
  },
});
const sdkPackage = sdkPackageOf(args.ai);
const answers = [args.approve, args.deny, args.output !== undefined].filter(Boolean).length;
if (!sdkPackage || !args.base || !args.token || !args.session || !args.robot ||
    args.send === undefined || answers !== 1 || (args.reason !== undefined && !args.deny)) {
  process.stderr.write(
    'usage: --ai 6|7 --base URL --token T --session S --robot R --send TEXT' +
      ' (--approve | --deny [--reason TEXT] | --output JSON)\n',
  );
  process.exit(2);
}
const {
  AbstractChat,
  DefaultChatTransport,
  lastAssistantMessageIsCompleteWithApprovalResponses,
  lastAssistantMessageIsCompleteWithToolCalls,
} = await import(sdkPackage);
const deadline = performance.now() + Number(args['timeout-ms']);

const result = {
  sdkVersion: createRequire(import.meta.url)(`${sdkPackage}/package.json`).version,
  nodeVersion: process.version,
  requests: [], // { status, body, chunkTypes, startMessageId, finishReason }
  waiting: null,
  answered: null,
  messages: [],
  status: null,
  failures: [],
};

const assembled = (message) => ({ ...message, parts: message.parts.map(assembledPart) });

let finished = 0; // requests the chat has finished with (onFinish, called once per request)

class Chat extends AbstractChat {
  constructor() {
    super({
      ...chatOptions(DefaultChatTransport, args, result),
      onFinish: () => {
        finished += 1;
      },
      sendAutomaticallyWhen: args.output !== undefined
        ? lastAssistantMessageIsCompleteWithToolCalls
        : lastAssistantMessageIsCompleteWithApprovalResponses,
    });
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const busy = (chat) => chat.status === 'submitted' || chat.status === 'streaming';

// Until every request made has finished and none starts for SETTLE_MS.
const settled = async (chat) => {
  let quietSince = null;
  while (performance.now() < deadline) {
    const idle = !busy(chat) && finished === result.requests.length;
    if (!idle) quietSince = null;
    else if (quietSince === null) quietSince = performance.now();
    else if (performance.now() - quietSince >= SETTLE_MS) return;
    await sleep(20);
  }
  throw new Error(`the chat was still busy after ${args['timeout-ms']} ms (status ${chat.status})`);
};

const chat = new Chat();
try {
  await chat.sendMessage({
    id: `m-${randomUUID()}`,
    role: 'user',
    parts: [{ type: 'text', text: args.send }],
  });
  await settled(chat);
  const waiting = chat.messages.at(-1);
  result.waiting = assembled(waiting);
  if (waiting.role !== 'assistant') throw new Error('the first stream left no assistant message');
  const sent = result.requests.length;
  if (args.output !== undefined) {
    const part = waiting.parts.find((p) => isToolPart(p) && p.state === 'input-available');
    if (!part) throw new Error('no tool part waits for its output (state input-available)');
    const tool = part.type === 'dynamic-tool' ? part.toolName : part.type.slice('tool-'.length);
    await chat.addToolOutput({ tool, toolCallId: part.toolCallId,
                               output: JSON.parse(args.output) });
  } else {
    const part = waiting.parts.find((p) => isToolPart(p) && p.state === 'approval-requested');
    if (!part) throw new Error('no tool part waits for approval (state approval-requested)');
    await chat.addToolApprovalResponse({ id: part.approval.id, approved: args.approve,
                                         ...(args.reason !== undefined
                                           ? { reason: args.reason } : {}) });
  }
  await settled(chat);
  if (result.requests.length === sent) {
    throw new Error('sendAutomaticallyWhen sent nothing after the answer');
  }
  const posted = result.requests[sent].body.messages.at(-1);
  result.answered = posted.parts.map(assembledPart).find(
    (p) => isToolPart(p) && ['approval-responded', 'output-available'].includes(p.state)) ?? null;
} catch (error) {
  result.failures.push(describeError(error));
}

result.status = chat.status;
result.messages = chat.messages.map(assembled);
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exitCode = result.failures.length ? 1 : 0;
