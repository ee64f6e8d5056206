"""What a tool call runs with: the service's parts, and who and where it acts for."""

from __future__ import annotations

from datetime import datetime

import msgspec

from app.bootstrap import Services
from app.domain.accounts import Account


class ToolContext(msgspec.Struct, frozen=True, kw_only=True):
    services: Services
    # The account whose message started the turn: a tool has its permissions, no more.
    account: Account | None
    session_id: str
    turn_id: str
    now: datetime


class ToolFailed(Exception):
    """A tool could not do what it was asked; the message goes to the model as the call's
    error result, and the turn goes on."""
