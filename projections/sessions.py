"""Sessions read model: one row per session, from the session streams."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import msgspec

from app.domain.events import (
    AssistantMessageCompleted,
    MessagePosted,
    RobotSwitched,
    SessionDeleted,
    SessionForked,
    SessionNamed,
    SessionRenamed,
    SessionSettingsChanged,
    SessionStarted,
    SessionSummarised,
    TurnRequested,
)
from app.eventstore import RecordedEvent
from projections.base import Conn
from projections.session_counts import INSERTED, UPDATED, counted, drop_zero_counts

# A batch is folded per session in Python (later events overwrite earlier columns), then
# written set-based: one INSERT for sessions started in the batch, one UPDATE per distinct set
# of changed columns for the others. `version` still guards every write, so replaying a
# batch that was applied changes nothing, counts included (they move with what a statement
# changed).
_TYPES = {
    "id": "text", "name": "text", "created_by": "uuid", "created_at": "timestamptz",
    "updated_at": "timestamptz", "deleted_at": "timestamptz", "metadata": "jsonb",
    "version": "int8", "situation": "text", "system_template": "text",
    "render_templates": "bool", "token_budget": "int4", "context_overflow": "text",
    "recall_options": "jsonb", "summary": "text", "active_robot_id": "text",
    "forked_from": "text", "auto_run_tools": "bool", "forward_tool_calls": "bool",
}  # fmt: skip
_JSON_COLUMNS = frozenset({"recall_options", "metadata"})
_COUNTED_COLUMNS = frozenset({"metadata", "deleted_at"})  # created_by is set once, at start


class Statement(NamedTuple):
    sql: str
    counts: bool = False  # moves session_counts, returning the counts it brought to zero


def _unnest(columns: Sequence[str]) -> str:
    # jsonb travels as text: psycopg has no binary dumper for a list of JSON strings.
    return ", ".join(
        "%b::text[]" if _TYPES[c] == "jsonb" else f"%b::{_TYPES[c]}[]" for c in columns
    )


def _select(columns: Sequence[str]) -> str:
    return ", ".join(f"u.{c}::jsonb" if _TYPES[c] == "jsonb" else f"u.{c}" for c in columns)


def _insert_sql(columns: tuple[str, ...]) -> Statement:
    return Statement(counted(
        f"INSERT INTO sessions ({', '.join(columns)})"
        f" SELECT {_select(columns)} FROM unnest({_unnest(columns)}) AS u({', '.join(columns)})"
        f" ON CONFLICT (id) DO NOTHING RETURNING {INSERTED}"
    ), counts=True)


def _update_sql(columns: tuple[str, ...]) -> Statement:
    sets = ", ".join(
        f"{c} = u.{c}::jsonb" if _TYPES[c] == "jsonb" else f"{c} = u.{c}"
        for c in columns
        if c != "id"
    )
    source = f"unnest({_unnest(columns)}) AS u({', '.join(columns)})"
    guard = "s.id = u.id AND s.version < u.version"
    if not _COUNTED_COLUMNS & set(columns):
        return Statement(f"UPDATE sessions s SET {sets} FROM {source} WHERE {guard}")
    # `o` is the row as this statement's snapshot saw it, before the update: the projection
    # is the only writer of sessions, so nothing changes it in between.
    return Statement(counted(
        f"UPDATE sessions s SET {sets} FROM {source} JOIN sessions o ON o.id = u.id"
        f" WHERE {guard} RETURNING {UPDATED}"
    ), counts=True)


def _json(value: Any) -> str | None:
    return None if value is None else msgspec.json.encode(value).decode()


class SessionsProjection:
    name: str = "sessions"
    tables: tuple[str, ...] = ("sessions", "session_counts")

    async def apply(self, conn: Conn, events: Sequence[RecordedEvent]) -> None:
        started: dict[str, dict[str, Any]] = {}  # whole rows of sessions new in this batch
        changed: dict[str, dict[str, Any]] = {}  # changed columns of older sessions
        for rec in events:
            sid, columns = _changes(rec)
            if columns is None:
                continue
            if isinstance(rec.event, SessionStarted):
                started.setdefault(sid, columns)
            else:
                target = started.get(sid)
                if target is None:
                    target = changed.setdefault(sid, {"id": sid})
                target.update(columns)
        counting = []
        for statement, rows in _grouped(started, _insert_sql) + _grouped(changed, _update_sql):
            cursor = await conn.execute(statement.sql, rows)
            if statement.counts:
                counting.append(cursor)
        await drop_zero_counts(conn, counting)


def _grouped(
    rows: dict[str, dict[str, Any]], sql: Callable[[tuple[str, ...]], Statement]
) -> list[tuple[Statement, list[list[Any]]]]:
    """One statement per distinct column set, its parameters as one array per column."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows.values():
        groups.setdefault(tuple(sorted(row)), []).append(row)
    return [
        (
            sql(columns),
            [[_json(r[c]) if c in _JSON_COLUMNS else r[c] for r in group] for c in columns],
        )
        for columns, group in groups.items()
    ]


def _changes(rec: RecordedEvent) -> tuple[str, dict[str, Any] | None]:
    """The session a recorded event touches and the columns it sets (None: not ours)."""
    at, version = rec.recorded_at, rec.stream_version
    match rec.event:
        case SessionStarted(session_id=sid, created_by=by, name=name, metadata=meta):
            row = {"id": sid, "name": name, "created_by": by, "created_at": at}
            return sid, row | {"updated_at": at, "metadata": meta, "version": version}
        case SessionRenamed(session_id=sid, name=name):
            return sid, {"name": name, "updated_at": at, "version": version}
        case SessionNamed(session_id=sid, name=name):  # the robot's, beside a turn: no update
            return sid, {"name": name, "version": version}
        case SessionDeleted(session_id=sid):
            return sid, {"deleted_at": at, "updated_at": at, "version": version}
        case MessagePosted() | AssistantMessageCompleted():
            sid = rec.stream_id.removeprefix("session-")
            return sid, {"updated_at": at, "version": version}
        case SessionSettingsChanged(session_id=sid):
            return sid, rec.event.changes() | {"updated_at": at, "version": version}
        case SessionSummarised(session_id=sid, summary=summary):  # made by no one: not an update
            return sid, {"summary": summary, "version": version}
        case SessionForked(session_id=sid, from_session_id=source, robot_id=rid):
            return sid, {"forked_from": source, "active_robot_id": rid, "version": version}
        case TurnRequested(session_id=sid, robot_id=rid) | RobotSwitched(session_id=sid,
                                                                        robot_id=rid):
            return sid, {"active_robot_id": rid, "version": version}
    return "", None
