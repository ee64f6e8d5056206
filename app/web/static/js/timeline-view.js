// One session's history as a timeline: every event of its log in order, each turn's events
// together under the turn's report (GET /robots/sessions/{id}/turns/{turn_id}: status,
// attempts, usage per step, time to first token, duration). The log is the session's memory:
// this is a replay of what happened.

import { api } from './api.js';
import { focusHeading, formatJson, formatMs, formatTime, h, shortId } from './dom.js';
import { groupByTurn, offsetMs, summary } from './events.js';

const PAGE = 1000; // events per request: the API's most

async function allEvents(sessionPath) {
  const events = [];
  let after = 0;
  for (;;) {
    const page = await api(`${sessionPath}/events?after=${after}&limit=${PAGE}`);
    events.push(...page.events);
    if (page.next_after === undefined || page.next_after === null) return events;
    after = page.next_after;
  }
}

export async function timelineView(container, { sessionId }) {
  const path = `/robots/sessions/${encodeURIComponent(sessionId)}`;
  const [session, events] = await Promise.all([api(`${path}?limit=1`), allEvents(path)]);
  const entries = groupByTurn(events);
  const report = (turnId) => api(`${path}/turns/${encodeURIComponent(turnId)}`).catch(() => null);
  const reports = new Map(await Promise.all(entries.filter((e) => e.kind === 'turn').map(
    async ({ turnId }) => [turnId, await report(turnId)])));
  const start = events[0]?.recorded_at;
  let turnNumber = 0;
  container.replaceChildren(h('section', { class: 'timeline', 'aria-labelledby': 'timeline-title' },
    h('h2', { id: 'timeline-title' }, `Timeline: ${session.name || sessionId}`),
    h('p', {}, h('a', { href: `#/chat/${encodeURIComponent(sessionId)}` }, 'Back to the chat'),
      ` · ${events.length} events, from ${formatTime(start)}`),
    h('ol', { class: 'events' }, entries.map((entry) => (entry.kind === 'event'
      ? eventItem(entry.event, start)
      : turnItem(entry, reports.get(entry.turnId), (turnNumber += 1), start))))));
  focusHeading(container);
}

function eventItem(event, start) {
  return h('li', { class: `event ${event.type}` },
    h('span', { class: 'offset' }, `+${formatMs(offsetMs(event, start))}`), ' ',
    h('span', { class: 'type' }, event.type), ' ',
    h('span', { class: 'summary' }, summary(event)),
    h('details', { class: 'raw' },
      h('summary', {}, `data · v${event.version}`), h('pre', {}, formatJson(event.data))));
}

function turnItem(group, report, number, start) {
  const heading = `Turn ${number}`;
  return h('li', { class: 'turn' },
    h('section', { 'aria-label': `${heading} (${group.turnId})` },
      h('h3', {}, heading, ' ', h('span', { class: 'meta' }, shortId(group.turnId)),
        report ? h('span', { class: `badge ${report.status}` }, report.status) : null),
      report ? turnReport(report) : null,
      h('ol', { class: 'events' }, group.events.map((event) => eventItem(event, start)))));
}

function turnReport(report) {
  const fields = [
    ['Model', report.model ?? '–'],
    ['Attempts', String(report.attempts)],
    ['Tokens', `${report.usage.input_tokens ?? 0} in / ${report.usage.output_tokens ?? 0} out`],
    ['First token', formatMs(report.time_to_first_token_ms)],
    ['Duration', formatMs(report.duration_ms)],
    ['Finish', report.finish_reason ?? '–'],
  ];
  if (report.error) fields.push(['Error', report.error]);
  return h('div', { class: 'report' },
    h('dl', {}, fields.map(([term, value]) => [h('dt', {}, term), h('dd', {}, value)])),
    report.steps.length ? h('table', { class: 'list steps' },
      h('caption', {}, 'Steps'),
      h('thead', {}, h('tr', {}, ['Step', 'Finish', 'Tokens in', 'Tokens out', 'Tool calls'].map(
        (label) => h('th', { scope: 'col' }, label)))),
      h('tbody', {}, report.steps.map((step) => h('tr', {},
        h('td', {}, String(step.step)), h('td', {}, step.finish_reason),
        h('td', {}, String(step.usage.input_tokens ?? 0)),
        h('td', {}, String(step.usage.output_tokens ?? 0)),
        h('td', {}, String(step.tool_calls)))))) : null);
}
