// What the playground takes from the `ai` package: the Chat that useChat wraps, its HTTP
// transport, and the checks that post answered tool calls by themselves.
import './zod-jitless.js'; // first: see there

export {
  AbstractChat,
  DefaultChatTransport,
  lastAssistantMessageIsCompleteWithApprovalResponses,
  lastAssistantMessageIsCompleteWithToolCalls,
} from 'ai';
