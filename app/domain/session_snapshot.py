"""A folded session state as bytes, for the snapshot rows that save a load from folding a
long stream from its start (app/services/handler.py).

A snapshot is a cache, never the truth: one written by another shape of the state (a field
added, renamed or retyped, or `FOLD_VERSION` bumped because an event now folds otherwise)
is not this code's to read, so its `SHAPE` differs and readers ask only for their own.
"""

from __future__ import annotations

import hashlib
import logging

import msgspec

from app.domain.session import FOLD_VERSION, SessionState

log = logging.getLogger(__name__)


def shape_of(state_type: type, fold_version: int) -> str:
    """The name of a snapshot's shape. The JSON schema names every field, type and default of
    the state and of what it holds, so a change of any of them is a new shape without anyone
    remembering to bump a number."""
    schema = msgspec.json.encode(msgspec.json.schema(state_type), order="sorted")
    return f"v{fold_version}-{hashlib.sha256(schema).hexdigest()[:16]}"


SHAPE = shape_of(SessionState, FOLD_VERSION)

_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(SessionState)


def encode(state: SessionState) -> bytes | None:
    """The state as bytes; None when it cannot be (a part holding a number msgpack cannot:
    that session folds from its log instead)."""
    try:
        return _encoder.encode(state)
    except (msgspec.EncodeError, OverflowError) as exc:
        log.warning("no snapshot for a session at version %s: %s", state.version, exc)
        return None


def decode(data: bytes) -> SessionState | None:
    """The state a snapshot of this `SHAPE` holds; None for bytes that do not decode (then
    the stream is folded from its start)."""
    try:
        return _decoder.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        log.warning("a session snapshot did not decode; folding the log instead: %s", exc)
        return None
