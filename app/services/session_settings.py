"""A session's settings changed from the API: a system template is checked (it must parse)
before the change is recorded, so a broken one never reaches a turn."""

from __future__ import annotations

from typing import Any

from app.bootstrap import Services
from app.domain.accounts import Account
from app.domain.templates import check_template
from app.services import sessions


async def change(services: Services, account: Account, session_id: str,
                 changes: dict[str, Any]) -> None:
    """Raises TemplateError (with the line) for a system template that does not parse, else
    as sessions.change_settings (SessionNotFound)."""
    template = changes.get("system_template")
    if isinstance(template, str):
        check_template(template)
    await sessions.change_settings(services, account, session_id, changes)
