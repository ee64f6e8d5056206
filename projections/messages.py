"""Messages read model: one row per message, parts as the AI SDK's UI message parts."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from app.domain.answer_metadata import answer_metadata, finish_reason_metadata
from app.domain.events import (
    AssistantMessageCompleted,
    MessagePosted,
    TurnCompleted,
    TurnRequested,
)
from app.domain.session import reply_id
from app.eventstore import RecordedEvent
from projections.base import Conn

_INSERT = """
INSERT INTO messages (session_id, id, role, parts, robot_id, robot_name, model, author_id,
                      turn_id, created_at, position, metadata)
VALUES (%s, %s, %s, %s::jsonb, %s, %s, %s, %s, %s, %s, %s, %s::jsonb)
ON CONFLICT (session_id, id) DO NOTHING
"""
# A turn that waited stores its reply at each wait: the last one stands.
_REPLY = _INSERT.replace("DO NOTHING", "DO UPDATE SET parts = EXCLUDED.parts,"
                         " robot_id = EXCLUDED.robot_id, robot_name = EXCLUDED.robot_name,"
                         " model = EXCLUDED.model, metadata = EXCLUDED.metadata")
# A regenerated answer leaves the session's messages (the log keeps it).
_REPLACED = ("DELETE FROM messages WHERE session_id = %s AND turn_id = %s"
             " AND role = 'assistant'")
_FINISH_REASON = ("UPDATE messages SET metadata = coalesce(metadata, '{}') || %s::jsonb"
                  " WHERE session_id = %s AND id = %s")
# A question sits at twice its global position; its reply right after it (2p + 1), though
# other questions may have been queued in between (migrations/0011). A reply whose
# question is not in this session (a fork's copy) keeps its own place.
_REPLY_POSITION = """
SELECT coalesce((SELECT position + 1 FROM messages
                 WHERE session_id = %s AND turn_id = %s AND role = 'user'), %s)
"""


class MessagesProjection:
    name: str = "messages"
    tables: tuple[str, ...] = ("messages",)

    async def apply(self, conn: Conn, events: Sequence[RecordedEvent]) -> None:
        for rec in events:
            at, pos = rec.recorded_at, rec.global_position
            match rec.event:
                case MessagePosted(session_id=sid, message_id=mid, parts=parts, author_id=by):
                    await conn.execute(_INSERT, [sid, mid, "user", _json(parts), None, None,
                                                 None, by, None, at, pos * 2, None])
                case TurnRequested(session_id=sid, message_id=mid, turn_id=tid,
                                   regenerates=old):
                    if old is not None:
                        await conn.execute(_REPLACED, [sid, old])
                    await conn.execute(
                        "UPDATE messages SET turn_id = %s WHERE session_id = %s AND id = %s",
                        [tid, sid, mid])
                case TurnCompleted(turn_id=tid, finish_reason=reason) if (
                        extra := finish_reason_metadata(reason)):
                    await conn.execute(_FINISH_REASON, [_json(extra), _session(rec),
                                                        reply_id(tid)])
                case AssistantMessageCompleted(message_id=mid, parts=parts, robot_id=rid,
                                               robot_name=rname, model=model, turn_id=tid,
                                               usage=usage):
                    sid = _session(rec)
                    row = await (await conn.execute(_REPLY_POSITION,
                                                    [sid, tid, pos * 2])).fetchone()
                    await conn.execute(_REPLY, [sid, mid, "assistant", _json(parts), rid,
                                                 rname, model, None, tid, at,
                                                 row[0] if row else pos * 2,
                                                 _json(answer_metadata(model, usage))])


def _session(rec: RecordedEvent) -> str:
    return rec.stream_id.removeprefix("session-")


def _json(value: object) -> str:
    return msgspec.json.encode(value).decode()
