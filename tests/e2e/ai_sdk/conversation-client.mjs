// The real AI SDK client (the `ai` package, 6 or 7) through a conversation's own features, the
// way an app built on useChat uses them: the SDK's Chat class (AbstractChat, which useChat wraps)
// with DefaultChatTransport sends a message, takes the `data-session-name` part in `onData`
// and the answer's metadata (the `finish` part's messageMetadata) on the message, then calls
// `regenerate()` (the SDK drops the latest answer and posts trigger 'regenerate-message').
//
//   node conversation-client.mjs --ai 6|7 --base URL --token T --session S --robot R --send TEXT
//        [--regenerate-id]   (regenerate({messageId: <the answer's id>}) instead of regenerate())
//
// Prints one JSON object on stdout: `requests` (each POST's status, the JSON body the SDK sent
// and the chunk types it parsed), `data` (every data part onData received, in order), `first`
// (the chat's messages after the first answer), `messages` (after the regenerate), `status`,
// and `failures`: everything the SDK rejected or reported through onError; exit 1 if any.
//
// Read from the dist of ai 6.0.326 and 7.0.173 (the same in both): regenerate({messageId?})
// cuts the messages before the assistant message (or after a user one) and posts trigger
// 'regenerate-message' with `messageId` as given (undefined: absent from the body);
// onData receives data parts, `transient` ones only there, never in the message's parts.

import { createRequire } from 'node:module';
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';

import {
  CLIENT_OPTIONS, assembledPart, chatOptions, describeError, sdkPackageOf,
} from './ui-parts.mjs';

const { values: args } = parseArgs({
  options: {
    ...CLIENT_OPTIONS,
    'regenerate-id': { type: 'boolean', default: false },
  },
});
const sdkPackage = sdkPackageOf(args.ai);
if (!sdkPackage || !args.base || !args.token || !args.session || !args.robot ||
    args.send === undefined) {
  process.stderr.write('usage: --ai 6|7 --base URL --token T --session S --robot R' +
                       ' --send TEXT [--regenerate-id]\n');
  process.exit(2);
}
const { AbstractChat, DefaultChatTransport } = await import(sdkPackage);

const result = {
  sdkVersion: createRequire(import.meta.url)(`${sdkPackage}/package.json`).version,
  nodeVersion: process.version,
  requests: [], // { status, body, chunkTypes, startMessageId, finishReason }
  data: [],
  first: [],
  messages: [],
  status: null,
  failures: [],
};

class Chat extends AbstractChat {
  constructor() {
    super({
      ...chatOptions(DefaultChatTransport, args, result),
      onData: (part) => result.data.push(part),
    });
  }
}

const assembled = (message) => ({ ...message, parts: message.parts.map(assembledPart) });
// The timer is unref'd: a pending one would keep node running after the result is printed.
const withTimeout = (promise) => Promise.race([promise, new Promise((_, reject) => setTimeout(
  () => reject(new Error(`no answer within ${args['timeout-ms']} ms`)),
  Number(args['timeout-ms'])).unref())]);

const chat = new Chat();
try {
  await withTimeout(chat.sendMessage({
    id: `m-${randomUUID()}`, role: 'user', parts: [{ type: 'text', text: args.send }],
  }));
  result.first = chat.messages.map(assembled);
  const answer = chat.messages.at(-1);
  if (answer?.role !== 'assistant') throw new Error('the first send left no assistant message');
  await withTimeout(args['regenerate-id'] ? chat.regenerate({ messageId: answer.id })
                                          : chat.regenerate());
} catch (error) {
  result.failures.push(describeError(error));
}
result.status = chat.status;
result.messages = chat.messages.map(assembled);
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exitCode = result.failures.length ? 1 : 0;
