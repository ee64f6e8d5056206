// A session's events (GET /robots/sessions/{id}/events) in a line each, and grouped by the
// turn they belong to: what the timeline shows. Pure functions of the events' data.

import { cut, formatMs, shortId } from './dom.js';

const usage = (u) => (u ? `${u.input_tokens ?? 0} in / ${u.output_tokens ?? 0} out tokens` : '');
const textOf = (parts) =>
  (parts ?? []).filter((p) => p.type === 'text').map((p) => p.text).join(' ');
const join = (...pieces) => pieces.filter(Boolean).join(' · ');

const SUMMARIES = {
  SessionStarted: (d) => join('session started', d.name),
  SessionNamed: (d) => `named “${d.name}” by ${d.model}`,
  SessionRenamed: (d) => `renamed “${d.name}”`,
  SessionSettingsChanged: (d) =>
    `changed ${Object.keys(d).filter((k) => k !== 'session_id').join(', ') || 'nothing'}`,
  SessionForked: (d) =>
    `forked from ${shortId(d.from_session_id)} at message ${shortId(d.at_message_id)}`,
  SessionSummarised: (d) => `${d.messages} messages summarised by ${d.model}`,
  SessionDeleted: () => 'deleted',
  MessagePosted: (d) => `“${cut(textOf(d.parts), 100)}”`,
  RobotSwitched: (d) => `switched to robot ${shortId(d.robot_id)}`,
  TurnRequested: (d) => join(d.regenerates ? `regenerates ${shortId(d.regenerates)}` : 'asked',
    d.multitask !== 'reject' ? d.multitask : null),
  TurnStarted: (d) =>
    join(`attempt ${d.attempt}`, d.robot_name, d.model, `worker ${shortId(d.worker_id)}`),
  StepCompleted: (d) => join(`step ${d.step}`, d.finish_reason, usage(d.usage),
    d.tool_calls?.length ? `calls ${d.tool_calls.map((c) => c.name).join(', ')}` : null),
  ToolCallStarted: (d) => `${d.name} started`,
  ToolCallCompleted: (d) => join(`${d.name}: ${d.outcome}`, d.error),
  TurnBeganWaiting: (d) => `waits on ${d.calls.map((c) => `${c.name} (${c.kind})`).join(', ')}`,
  ToolApprovalAnswered: (d) => join(d.approved ? 'approved' : 'denied', d.reason),
  TurnResumed: () => 'goes on with the answers',
  TurnCancelRequested: (d) => `${d.reason} asked`,
  AssistantMessageCompleted: (d) => join(`“${cut(textOf(d.parts), 100)}”`, d.model, usage(d.usage)),
  TurnCompleted: (d) => join(d.finish_reason, usage(d.usage),
    `first token ${formatMs(d.time_to_first_token_ms)}`, `took ${formatMs(d.duration_ms)}`),
  TurnFailed: (d) => `failed: ${d.error}`,
  TurnCancelled: (d) => d.reason,
};

export const summary = (event) => (SUMMARIES[event.type] ?? (() => ''))(event.data ?? {});

// The turn an event belongs to, if any.
export const turnOf = (event) => event.data?.turn_id ?? null;

// [{ kind: 'event', event } | { kind: 'turn', turnId, events: [...] }] in the log's order,
// a turn placed where it was requested.
export function groupByTurn(events) {
  const entries = [];
  const turns = new Map();
  for (const event of events) {
    const turnId = turnOf(event);
    if (!turnId) {
      entries.push({ kind: 'event', event });
      continue;
    }
    if (!turns.has(turnId)) {
      const group = { kind: 'turn', turnId, events: [] };
      turns.set(turnId, group);
      entries.push(group);
    }
    turns.get(turnId).events.push(event);
  }
  return entries;
}

// Milliseconds from `start` to the event, for the "+120 ms" beside each line.
export const offsetMs = (event, start) => new Date(event.recorded_at) - new Date(start);
