"""Read models built from the event log. The list below is every projection there is."""

from __future__ import annotations

from projections.base import Projection
from projections.messages import MessagesProjection
from projections.sessions import SessionsProjection
from projections.turns import TurnsProjection


def all_projections() -> list[Projection]:
    return [SessionsProjection(), MessagesProjection(), TurnsProjection()]


def projection_named(name: str) -> Projection:
    for projection in all_projections():
        if projection.name == name:
            return projection
    known = ", ".join(p.name for p in all_projections())
    raise KeyError(f"no projection named {name!r} (known: {known})")
