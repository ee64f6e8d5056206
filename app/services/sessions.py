"""One session's own settings from the API's side: change them, delete it, fork it."""

from __future__ import annotations

import uuid
from typing import Any

from app.bootstrap import Services
from app.domain import decisions
from app.domain.accounts import Account
from app.domain.events import session_stream
from app.eventstore import Checkpoint, EventMetadata
from app.readmodels.waiting import wait_for
from app.services.turn_streams import READ_MODELS


async def change_settings(services: Services, account: Account, session_id: str,
                          changes: dict[str, Any]) -> None:
    """One SessionSettingsChanged with what really changes. Raises SessionNotFound."""
    command = decisions.ChangeSettings(session_id=session_id, changes=changes)
    await services.handler.execute(
        session_id, lambda state: decisions.change_settings(state, command),
        metadata=EventMetadata(actor=str(account.id)))


async def delete(services: Services, account: Account, session_id: str) -> None:
    """Hidden from listings; its events stay. Raises SessionNotFound."""
    command = decisions.DeleteSession(session_id=session_id)
    await services.handler.execute(
        session_id, lambda state: decisions.delete_session(state, command),
        metadata=EventMetadata(actor=str(account.id)))


async def fork(services: Services, account: Account, session_id: str,
               at_message_id: str) -> str:
    """A new session holding this one's history up to `at_message_id`; its id.
    Raises SessionNotFound, UnknownMessage."""
    source = await services.handler.load(session_id)
    command = decisions.ForkSession(source_id=session_id, at_message_id=at_message_id,
                                    new_session_id=uuid.uuid4().hex,
                                    requested_by=str(account.id))
    await services.handler.execute(
        command.new_session_id, lambda _: decisions.fork_session(source, command),
        metadata=EventMetadata(actor=str(account.id)))
    return command.new_session_id


async def caught_up(services: Services, session_id: str) -> None:
    """Read your own writes: wait until projections include the stream's last event."""
    async with services.pool.connection() as conn:
        row = await (await conn.execute(
            "SELECT transaction_id::text::bigint, global_position FROM events"
            " WHERE stream_id = %s ORDER BY stream_version DESC LIMIT 1",
            [session_stream(session_id)])).fetchone()
    if row:
        await wait_for(services.pool, Checkpoint(*row), READ_MODELS,
                       services.settings.read_your_writes_timeout_s)
