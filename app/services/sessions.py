"""One session's own settings from the API's side: change them, delete it, fork it.
(Reading it back is app/services/session_reads.py.)"""

from __future__ import annotations

import uuid
from typing import Any

from app.bootstrap import Services
from app.domain import decisions
from app.domain.accounts import Account
from app.domain.session import SessionState
from app.domain.session_access import check_change
from app.eventstore import Event, EventMetadata


async def change_settings(services: Services, account: Account, session_id: str,
                          changes: dict[str, Any]) -> None:
    """One SessionSettingsChanged with what really changes. Raises SessionNotFound,
    NotPermitted (see app/domain/session_access.py)."""
    command = decisions.ChangeSettings(session_id=session_id, changes=changes)

    def decide(state: SessionState) -> list[Event]:
        check_change(account, state, session_id, "change")
        return decisions.change_settings(state, command)

    await services.handler.execute(session_id, decide,
                                   metadata=EventMetadata(actor=str(account.id)))


async def delete(services: Services, account: Account, session_id: str) -> None:
    """Hidden from listings; its events stay. Raises SessionNotFound, NotPermitted."""
    command = decisions.DeleteSession(session_id=session_id)

    def decide(state: SessionState) -> list[Event]:
        check_change(account, state, session_id, "delete")
        return decisions.delete_session(state, command)

    await services.handler.execute(session_id, decide,
                                   metadata=EventMetadata(actor=str(account.id)))


async def fork(services: Services, account: Account, session_id: str,
               at_message_id: str) -> str:
    """A new session holding this one's history up to `at_message_id`; its id.
    Raises SessionNotFound, UnknownMessage."""
    source = await services.handler.load(session_id)
    command = decisions.ForkSession(source_id=session_id, source=source,
                                    at_message_id=at_message_id,
                                    new_session_id=uuid.uuid4().hex,
                                    requested_by=str(account.id))
    await services.handler.execute(
        command.new_session_id, lambda state: decisions.fork_session(state, command),
        metadata=EventMetadata(actor=str(account.id)))
    return command.new_session_id
