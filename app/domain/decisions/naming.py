"""A new session is named by its robot: whether a turn should ask for a name, what the model
is asked about, and recording the title it gave (cleaned) unless someone named it first."""

from __future__ import annotations

import re

import msgspec

from app.domain.events import SessionNamed
from app.domain.session import SessionState, Turn
from app.eventstore import Event

# A naming call that failed (or a turn that ended before it did) is asked again by the next
# turns, but only the session's first few: a model that cannot name leaves it unnamed.
NAMING_TURNS = 3
MAX_NAME_CHARS = 60  # a title, not a sentence: what a session list shows on one line
MAX_TEXT_CHARS = 2000  # of what the people said: enough to say what it is about
# Quotes (typographic ones too) and markdown's bold and heading marks.
_QUOTES = "\"'`\u201c\u201d\u2018\u2019\u00ab\u00bb*#"
_LABEL = re.compile(r"^(title|name)\s*:\s*", re.IGNORECASE)


class NameSession(msgspec.Struct, frozen=True, kw_only=True):
    session_id: str
    name: str  # the model's answer, as it gave it
    robot_id: str
    turn_id: str
    model: str


def wants_a_name(state: SessionState, turn: Turn) -> bool:
    """Whether `turn` should ask its robot's model for the session's name: nobody named the
    session yet, `turn` is one of its first NAMING_TURNS, and there is text to go on."""
    if not state.exists or state.deleted or state.name is not None or state.named_by:
        return False
    if turn.turn_id not in (t.turn_id for t in state.turns[:NAMING_TURNS]):
        return False
    return bool(naming_text(state, turn))


def naming_text(state: SessionState, turn: Turn) -> str:
    """What the people said up to `turn`'s question (its text parts, one line each, cut at
    MAX_TEXT_CHARS): what the model names the session after."""
    lines: list[str] = []
    for message in state.messages:
        if message.role == "user":
            text = " ".join("".join(p.get("text", "") for p in message.parts
                                    if p.get("type") == "text").split())
            if text:
                lines.append(text)
        if message.id == turn.message_id:
            break
    return "\n".join(lines)[:MAX_TEXT_CHARS].strip()


def clean_name(answer: str) -> str:
    """The title in a model's answer: its first line, without quotes, markdown marks, a
    "Title:" label or trailing dots, cut at a word to MAX_NAME_CHARS. "" when none is left."""
    line = next((ln for ln in answer.splitlines() if ln.strip()), "")
    name = " ".join(_LABEL.sub("", line.strip().strip(_QUOTES).strip()).split())
    name = name.strip(_QUOTES).rstrip(" .,;:").strip(_QUOTES).strip()
    if len(name) > MAX_NAME_CHARS:
        head = name[:MAX_NAME_CHARS + 1]
        name = (head.rsplit(" ", 1)[0] if " " in head else head[:-1]).rstrip(" .,;:")
    return name


def name_session(state: SessionState, cmd: NameSession) -> list[Event]:
    """The robot's name for the session; nothing when a person or the robot named it
    meanwhile, the session is gone, or the answer holds no title."""
    name = clean_name(cmd.name)
    if (not state.exists or state.deleted or state.name is not None or state.named_by
            or not name):
        return []
    return [SessionNamed(session_id=cmd.session_id, name=name, robot_id=cmd.robot_id,
                         turn_id=cmd.turn_id, model=cmd.model)]
