"""A NUL character (U+0000) cannot be stored by PostgreSQL: wherever a request carries one it
is refused with a 400 that names the field, and nothing is recorded."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from app.bootstrap import Services
from tests.api.conftest import bearer
from tests.api.seed import seed_session

Client = AsyncTestClient  # type: ignore[type-arg]
NUL = "\x00"


def refused(response: Any, *, field: str | None = None, parameter: str | None = None) -> None:
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["type"] == "/problems/invalid-text"
    named = field or parameter
    assert named is not None and named in body["detail"] and "NUL" in body["detail"]
    assert body["metadata"] == ({"field": field} if field else {"parameter": parameter})


def chat(session_id: str, *parts: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"id": session_id, "messages": [{"id": f"m-{uuid.uuid4().hex[:8]}", "role": "user",
                                            "parts": list(parts)}], **extra}


async def events_of(client: Client, token: str, session_id: str) -> Any:
    return await client.get(f"/robots/sessions/{session_id}/events", headers=bearer(token))


@pytest.mark.parametrize("path", ["/robots/chat/sse", "/robots/sessions"])
async def test_a_nul_in_a_message_names_its_part_and_records_nothing(
    client: Client, member_token: str, path: str,
) -> None:
    session = f"nul-{uuid.uuid4().hex[:8]}"
    body = chat(session, {"type": "text", "text": "fine"},
                {"type": "text", "text": f"bro{NUL}ken"})
    refused(await client.post(path, headers=bearer(member_token), json=body),
            field="messages[0].parts[1].text")
    assert (await events_of(client, member_token, session)).status_code == 404


async def test_a_nul_anywhere_in_the_body_is_found(client: Client, member_token: str) -> None:
    session = f"nul-{uuid.uuid4().hex[:8]}"
    body = chat(session, {"type": "text", "text": "fine"}, robotId=f"r{NUL}")
    refused(await client.post("/robots/chat/sse", headers=bearer(member_token), json=body),
            field="robotId")


async def test_an_escaped_backslash_before_u0000_is_plain_text(client: Client,
                                                               member_token: str) -> None:
    # `\\u0000` in JSON is a backslash and "u0000": six printable characters, no NUL.
    session = f"nul-{uuid.uuid4().hex[:8]}"
    response = await client.post("/robots/sessions", headers=bearer(member_token),
                                 json=chat(session, {"type": "text", "text": "a \\u0000 b"}))
    assert response.status_code == 202, response.text
    history = (await events_of(client, member_token, session)).json()
    posted = next(e for e in history["events"] if e["type"] == "MessagePosted")
    assert posted["data"]["parts"][0]["text"] == "a \\u0000 b"


@pytest.mark.parametrize("field", ["name", "description", "playbook"])
async def test_a_nul_in_a_robot_is_refused(client: Client, admin_token: str,
                                           field: str) -> None:
    name = f"robot-{uuid.uuid4().hex[:8]}"
    body = {"name": name, "description": "helps", "playbook": "Be brief."}
    body[field] = body[field] + NUL
    refused(await client.post("/robots", headers=bearer(admin_token), json=body), field=field)
    created = await client.post("/robots", headers=bearer(admin_token),
                                json={**body, field: "clean"})
    assert created.status_code == 201, created.text  # the name was not taken by the refusal
    robot = created.json()["id"]
    refused(await client.patch(f"/robots/{robot}", headers=bearer(admin_token),
                               json={"meta": {"tags": ["ok", f"n{NUL}"]}}),
            field="meta.tags[1]")


@pytest.mark.parametrize("body, field", [
    ({"name": f"re{NUL}named"}, "name"),
    ({"situation": NUL}, "situation"),
    ({"metadata": {"team": {"lead": f"a{NUL}"}}}, "metadata.team.lead"),
    ({"metadata": {f"te{NUL}am": "core"}}, "metadata"),
])
async def test_a_nul_in_session_settings_changes_nothing(
    client: Client, member_token: str, app_services: Services, body: dict[str, Any],
    field: str,
) -> None:
    account = await app_services.accounts.by_token(member_token)
    assert account is not None
    session = f"nul-{uuid.uuid4().hex[:8]}"
    await seed_session(app_services.store, session, author=str(account.id))
    refused(await client.patch(f"/robots/sessions/{session}", headers=bearer(member_token),
                               json=body), field=field)
    history = (await events_of(client, member_token, session)).json()
    assert [e["type"] for e in history["events"]] == ["SessionStarted"]


async def test_a_nul_in_my_name_is_refused(client: Client, member_token: str) -> None:
    before = (await client.get("/accounts/me", headers=bearer(member_token))).json()
    refused(await client.patch("/accounts/me", headers=bearer(member_token),
                               json={"name": f"Ada{NUL}"}), field="name")
    after = (await client.get("/accounts/me", headers=bearer(member_token))).json()
    assert after == before


@pytest.mark.parametrize("url, parameter", [
    ("/sessions?metadata_filter.team=a%00b", "metadata_filter.team"),
    ("/robots/sessions?metadata_filter=%7B%22team%22%3A%22a%5Cu0000%22%7D", "metadata_filter"),
    ("/robots/sessions/some-session?before=m%00", "before"),
    ("/robots/sessions/some%00session", "session_id"),
    ("/robots/sessions/some%00session/stream", "session_id"),
])
async def test_a_nul_in_the_url_is_refused(client: Client, member_token: str, url: str,
                                           parameter: str) -> None:
    refused(await client.get(url, headers=bearer(member_token)), parameter=parameter)
