"""Every member reads every session and chats in it; changing or deleting one is for its
creator and managers, cancelling a turn also for its poster (app/domain/session_access.py)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest
from litestar.testing import AsyncTestClient

from app.bootstrap import Services
from app.config.settings import Settings
from app.domain.accounts import Role
from tests.api.conftest import bearer
from tests.api.seed import projector


class Team(msgspec.Struct, kw_only=True):
    client: Any
    creator: dict[str, str]
    member: dict[str, str]
    stranger: dict[str, str]
    admin: dict[str, str]


@pytest.fixture
async def team(fresh_settings: Settings) -> AsyncIterator[Team]:
    from app.api.app import create_app

    services = await Services.start(fresh_settings)
    tokens = [(await services.accounts.create(handle, None, role))[1]
              for handle, role in (("cleo", Role.MEMBER), ("mo", Role.MEMBER),
                                   ("stan", Role.MEMBER), ("ada", Role.ADMIN))]
    assert fresh_settings.database_url
    async with projector(fresh_settings.database_url), AsyncTestClient(
            app=create_app(fresh_settings)) as client:
        yield Team(client=client, **dict(zip(("creator", "member", "stranger", "admin"),
                                              map(bearer, tokens), strict=True)))
    await services.close()


async def post(team: Team, who: dict[str, str], session: str, **extra: Any) -> dict[str, Any]:
    body = {"id": session, "messages": [{"id": f"m-{uuid.uuid4().hex[:8]}", "role": "user",
                                         "parts": [{"type": "text", "text": "hello"}]}], **extra}
    response = await team.client.post("/robots/sessions", headers=who, json=body)
    assert response.status_code == 202, response.text
    accepted: dict[str, Any] = response.json()
    return accepted


async def event_types(team: Team, session: str) -> list[str]:
    response = await team.client.get(f"/robots/sessions/{session}/events", headers=team.admin)
    return [e["type"] for e in response.json()["events"]]


def forbidden(response: Any, session: str) -> None:
    assert response.status_code == 403, response.text
    body = response.json()
    assert body["type"] == "/problems/forbidden" and body["metadata"] == {"session_id": session}


async def test_only_the_creator_and_managers_change_or_delete_a_session(team: Team) -> None:
    session = f"s-{uuid.uuid4().hex[:8]}"
    await post(team, team.creator, session)
    before = await event_types(team, session)
    read = await team.client.get(f"/robots/sessions/{session}", headers=team.stranger)
    assert read.status_code == 200  # reading stays open to every member
    for who in (team.member, team.stranger):
        forbidden(await team.client.patch(f"/robots/sessions/{session}", headers=who,
                                          json={"name": "mine now"}), session)
        forbidden(await team.client.delete(f"/robots/sessions/{session}", headers=who), session)
    assert await event_types(team, session) == before
    for who, name in ((team.creator, "by the creator"), (team.admin, "by a manager")):
        renamed = await team.client.patch(f"/robots/sessions/{session}", headers=who,
                                          json={"name": name})
        assert renamed.status_code == 200 and renamed.json()["name"] == name
    gone = await team.client.delete(f"/robots/sessions/{session}", headers=team.creator)
    assert gone.status_code == 204


async def test_a_manager_deletes_any_session(team: Team) -> None:
    session = f"s-{uuid.uuid4().hex[:8]}"
    await post(team, team.creator, session)
    assert (await team.client.delete(f"/robots/sessions/{session}",
                                     headers=team.admin)).status_code == 204
    assert (await event_types(team, session))[-1] == "SessionDeleted"


async def test_a_turn_is_cancelled_by_its_poster_the_creator_or_a_manager(team: Team) -> None:
    session = f"s-{uuid.uuid4().hex[:8]}"
    first = (await post(team, team.creator, session))["turnId"]
    # No worker runs here: the first turn stays requested, so the next ones queue behind it.
    second = (await post(team, team.member, session, multitask="enqueue"))["turnId"]
    third = (await post(team, team.member, session, multitask="enqueue"))["turnId"]

    async def cancel(who: dict[str, str], turn: str) -> Any:
        return await team.client.post(f"/robots/sessions/{session}/turns/{turn}/cancel",
                                      headers=who)

    forbidden(await cancel(team.stranger, second), session)
    forbidden(await cancel(team.member, first), session)  # posting later is not owning
    assert (await cancel(team.member, second)).json()["status"] == "cancelled"  # its poster
    assert (await cancel(team.creator, third)).json()["status"] == "cancelled"
    assert (await cancel(team.admin, first)).json()["status"] == "cancelled"
    assert (await event_types(team, session)).count("TurnCancelled") == 3


async def test_an_interrupt_is_a_cancel_and_needs_the_same_right(team: Team) -> None:
    session = f"s-{uuid.uuid4().hex[:8]}"
    await post(team, team.creator, session)
    before = await event_types(team, session)
    def body(message_id: str, multitask: str) -> dict[str, Any]:
        return {"id": session, "multitask": multitask,
                "messages": [{"id": message_id, "role": "user",
                              "parts": [{"type": "text", "text": "stop that"}]}]}

    forbidden(await team.client.post("/robots/sessions", headers=team.stranger,
                                     json=body("late", "interrupt")), session)
    assert await event_types(team, session) == before
    queued = await team.client.post("/robots/sessions", headers=team.stranger,
                                    json=body("late", "enqueue"))
    assert queued.status_code == 202  # chatting in it stays open
    interrupted = await team.client.post("/robots/sessions", headers=team.creator,
                                         json=body("mine", "interrupt"))
    assert interrupted.status_code == 202
    assert "TurnCancelled" in await event_types(team, session)
