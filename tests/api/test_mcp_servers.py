"""MCP servers through HTTP: registration, a write-only bearer token, validation, refresh
against a real MCP server (the `mcp` SDK's, on loopback), and its tools in the catalogue."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import msgspec
import psycopg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from app.adapters.server_secret import KeyCipher
from app.api.app import create_app
from app.config.settings import Settings
from app.domain.tools import NATIVE_TOOLS
from tests.api.conftest import bearer
from tests.api.providers_support import tokens
from tests.api.reference import check
from tests.api.test_problems import problem
from tests.mcp_support import (
    TOOL_NAMES,
    McpTestServer,
    closed_port_url,
    mcp_server_in_thread,
    silent_server,
    stop_in_thread,
)

Client = AsyncTestClient[Litestar]
PATH = "/robots/mcp-servers"


@pytest.fixture
def mcp_settings(fresh_settings: Settings) -> Settings:
    # A database of its own: cached tools show in every GET /robots/tools.
    return msgspec.structs.replace(fresh_settings, secret_key="mcp-test-secret-" + "y" * 24,
                                   mcp_call_timeout_s=1.5)


@pytest.fixture
async def api(mcp_settings: Settings) -> AsyncIterator[Client]:
    async with AsyncTestClient(app=create_app(mcp_settings)) as c:
        yield c


@pytest.fixture
async def auth(mcp_settings: Settings) -> tuple[dict[str, str], dict[str, str]]:
    admin, member = await tokens(mcp_settings)
    return bearer(admin), bearer(member)


@pytest.fixture
def mcp() -> Iterator[McpTestServer]:
    with mcp_server_in_thread() as server:
        yield server


def slug() -> str:
    return f"wx-{uuid.uuid4().hex[:8]}"


def body(url: str, **fields: Any) -> dict[str, Any]:
    return {"name": "Weather", "slug": slug(), "url": url, "description": "Forecasts",
            **fields}


async def registered(api: Client, admin: dict[str, str], mcp: McpTestServer,
                     **fields: Any) -> dict[str, Any]:
    created = await api.post(PATH, headers=admin,
                             json=body(mcp.url, bearer_token=mcp.token, **fields))
    assert created.status_code == 201, created.text
    server: dict[str, Any] = created.json()
    return server


async def test_a_server_is_registered_refreshed_and_its_tools_are_listed_and_given(
    api: Client, auth: tuple[dict[str, str], dict[str, str]], mcp: McpTestServer,
) -> None:
    admin, member = auth
    server = await registered(api, admin, mcp)
    s = server["slug"]
    assert server["has_bearer_token"] is True and server["tools"] == []
    assert "tools_refreshed_at" not in server and "bearer_token" not in server

    refreshed = await api.post(f"{PATH}/{server['id']}/refresh", headers=admin)
    assert refreshed.status_code == 200, refreshed.text
    ids = [f"mcp:{s}:{name}" for name in TOOL_NAMES]
    assert refreshed.json()["tools"] == ids and refreshed.json()["tools_refreshed_at"]
    assert mcp.authorizations and set(mcp.authorizations) == {f"Bearer {mcp.token}"}

    listed = (await api.get("/robots/tools", headers=member)).json()["tools"]
    assert [t["id"] for t in listed] == [*(t.id for t in NATIVE_TOOLS), *ids]
    by_id = {t["id"]: t for t in listed}
    forecast = by_id[f"mcp:{s}:forecast"]
    check(forecast, "RobotToolInfo")
    assert forecast["source"] == "mcp" and forecast["callable_name"] == f"{s}_forecast"
    assert forecast["name"] == "Weather forecast" and forecast["available"] is True
    assert forecast["description"] == "Tomorrow's weather in a city."
    assert forecast["input_schema"]["properties"]["city"]["type"] == "string"
    # Read-only says so; the others may not run twice.
    assert forecast["idempotent"] is True and by_id[f"mcp:{s}:shout"]["idempotent"] is False

    robot = await api.post("/robots", headers=admin, json={
        "name": f"forecaster-{s}", "description": "", "playbook": "Forecast.",
        "tools": ["current_time", f"mcp:{s}:forecast"]})
    assert robot.status_code == 201, robot.text
    assert robot.json()["tools"] == ["current_time", f"mcp:{s}:forecast"]
    unknown = await api.post("/robots", headers=admin, json={
        "name": f"wrong-{s}", "description": "", "playbook": "x",
        "tools": [f"mcp:{s}:tornado", "mcp:nowhere:forecast"]})
    assert problem(unknown, 422, "invalid-field")["metadata"] == {"field": "tools"}
    assert f"mcp:{s}:tornado" in unknown.json()["detail"]

    disabled = await api.patch(f"{PATH}/{server['id']}", headers=admin, json={"enabled": False})
    assert disabled.json()["enabled"] is False
    listed = (await api.get("/robots/tools", headers=member)).json()["tools"]
    assert {t["available"] for t in listed if t["source"] == "mcp"} == {False}
    # A disabled server's tools can still be given (and are offered once it is enabled).
    patched = await api.patch(f"/robots/{robot.json()['id']}", headers=admin,
                              json={"tools": [f"mcp:{s}:shout"]})
    assert patched.status_code == 200, patched.text


async def test_the_bearer_token_is_write_only_encrypted_and_never_leaks(
    api: Client, auth: tuple[dict[str, str], dict[str, str]], mcp: McpTestServer,
    mcp_settings: Settings, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    admin = auth[0]
    seen: list[httpx.Response] = []

    async def call(method: str, path: str, **kw: Any) -> httpx.Response:
        response = await api.request(method, path, headers=admin, **kw)
        seen.append(response)
        return response

    created = await call("POST", PATH, json=body(mcp.url, bearer_token=mcp.token))
    path = f"{PATH}/{created.json()['id']}"
    assert (await call("POST", f"{path}/refresh")).status_code == 200
    await call("GET", PATH)
    await call("GET", path)
    await call("GET", "/robots/tools")
    for bad in ({"bearer_token": mcp.token, "clear_bearer_token": True},
                {"bearer_token": f"{mcp.token} {mcp.token}"},
                {"bearer_token": mcp.token, "colour": 1},
                {"url": "http://127.0.0.1:1/mcp"}):
        assert (await call("PATCH", path, json=bad)).status_code in (400, 422)
    wrong = await call("PATCH", path, json={"bearer_token": "not-the-token"})
    assert wrong.json()["has_bearer_token"] is True
    refused = await call("POST", f"{path}/refresh")
    assert problem(refused, 502, "mcp-server-failed")["metadata"]["reason"] == "error"
    assert "HTTP 401" in refused.json()["detail"] and "token" in refused.json()["detail"]

    # The token really reached the server, so its absence elsewhere means something.
    assert f"Bearer {mcp.token}" in mcp.authorizations
    for response in seen:
        assert mcp.token not in response.text and mcp.token not in str(response.headers)
    assert mcp.token not in caplog.text
    for record in caplog.records:
        assert mcp.token not in record.getMessage() and mcp.token not in str(record.__dict__)
    assert mcp_settings.database_url
    async with await psycopg.AsyncConnection.connect(mcp_settings.database_url) as conn:
        stored = await (await conn.execute(
            "SELECT bearer_token_encrypted FROM mcp_servers WHERE id = %s",
            [created.json()["id"]])).fetchone()
        events = await (await conn.execute(
            "SELECT count(*) FROM events WHERE data::text LIKE %s OR metadata::text LIKE %s",
            [f"%{mcp.token}%", f"%{mcp.token}%"])).fetchone()
    assert stored is not None and mcp.token.encode() not in bytes(stored[0])
    assert KeyCipher(mcp_settings).decrypt(bytes(stored[0])) == "not-the-token"
    assert events == (0,)


async def test_a_server_down_or_silent_is_a_502_or_504_and_the_cache_stays(
    api: Client, auth: tuple[dict[str, str], dict[str, str]], mcp: McpTestServer,
) -> None:
    admin = auth[0]
    server = await registered(api, admin, mcp)
    path = f"{PATH}/{server['id']}"
    cached = (await api.post(f"{path}/refresh", headers=admin)).json()
    assert len(cached["tools"]) == len(TOOL_NAMES)

    stop_in_thread(mcp)
    down = await api.post(f"{path}/refresh", headers=admin)
    assert problem(down, 502, "mcp-server-failed")["metadata"] == {
        "mcp_server_id": server["id"], "reason": "unreachable"}
    assert "cannot reach" in down.json()["detail"] and mcp.url in down.json()["detail"]
    assert (await api.get(path, headers=admin)).json() == {
        k: v for k, v in cached.items() if k != "skipped_tools"}

    with silent_server() as url:
        moved = await api.patch(path, headers=admin, json={"url": url, "bearer_token": "t"})
        assert moved.status_code == 200, moved.text
        silent = await api.post(f"{path}/refresh", headers=admin)
    assert problem(silent, 504, "mcp-server-timeout")["metadata"]["reason"] == "timeout"
    assert "1.5 s" in silent.json()["detail"]
    assert (await api.get(path, headers=admin)).json()["tools"] == cached["tools"]

    nowhere = await api.post(PATH, headers=admin, json=body(closed_port_url()))
    refused = await api.post(f"{PATH}/{nowhere.json()['id']}/refresh", headers=admin)
    assert problem(refused, 502, "mcp-server-failed")["metadata"]["reason"] == "unreachable"


async def test_crud_keeps_what_is_not_sent_and_delete_removes_the_tools(
    api: Client, auth: tuple[dict[str, str], dict[str, str]], mcp: McpTestServer,
) -> None:
    admin = auth[0]
    server = await registered(api, admin, mcp, enabled=False)
    path = f"{PATH}/{server['id']}"
    assert server["enabled"] is False and server["description"] == "Forecasts"
    await api.post(f"{path}/refresh", headers=admin)

    renamed = (await api.patch(path, headers=admin, json={
        "name": "Met office", "slug": server["slug"], "enabled": True})).json()
    assert renamed["name"] == "Met office" and renamed["enabled"] is True
    assert renamed["description"] == "Forecasts" and renamed["has_bearer_token"] is True
    assert renamed["updated_at"] > server["updated_at"]
    cleared = (await api.patch(path, headers=admin, json={"clear_bearer_token": True})).json()
    assert cleared["has_bearer_token"] is False
    moved = await api.patch(path, headers=admin, json={"url": "https://mcp.example.org/mcp"})
    assert moved.json()["url"] == "https://mcp.example.org/mcp"  # no token to follow it

    listing = (await api.get(PATH, headers=admin)).json()["servers"]
    assert [s["id"] for s in listing] == [server["id"]]
    deleted = await api.delete(path, headers=admin)
    assert deleted.status_code == 200 and deleted.json()["id"] == server["id"]
    assert problem(await api.get(path, headers=admin), 404, "not-found")["metadata"] == {
        "mcp_server_id": server["id"]}
    listed = (await api.get("/robots/tools", headers=admin)).json()["tools"]
    assert {t["source"] for t in listed} == {"native"}


@pytest.mark.parametrize(("fields", "status", "slug_", "field"), [
    ({"slug": "Weather"}, 400, "invalid-request", None),
    ({"slug": "wx_1"}, 400, "invalid-request", None),
    ({"slug": "1wx"}, 400, "invalid-request", None),
    ({"slug": "w" * 33}, 400, "invalid-request", None),
    ({"slug": "robot"}, 422, "invalid-field", "slug"),
    ({"url": "ftp://example.org/mcp"}, 422, "invalid-field", "url"),
    ({"url": "mcp.example.org"}, 422, "invalid-field", "url"),
    ({"url": "https://user:pw@example.org/mcp"}, 422, "invalid-field", "url"),
    ({"url": ""}, 400, "invalid-request", None),
    ({"name": ""}, 400, "invalid-request", None),
    ({"bearer_token": "two words"}, 422, "invalid-field", "bearer_token"),
    ({"colour": "blue"}, 400, "invalid-request", None),
    ({"enabled": "yes"}, 400, "invalid-request", None),
])
async def test_a_bad_registration_is_a_clear_4xx(
    api: Client, auth: tuple[dict[str, str], dict[str, str]], fields: dict[str, Any],
    status: int, slug_: str, field: str | None,
) -> None:
    sent = {**body("https://mcp.example.org/mcp"), **fields}
    refused = problem(await api.post(PATH, headers=auth[0], json=sent), status, slug_)
    if field is not None:
        assert refused["metadata"] == {"field": field}
    assert "two words" not in refused["detail"]
    assert (await api.get(PATH, headers=auth[0])).json()["servers"] == []


async def test_changes_that_cannot_be_made_are_refused(
    api: Client, auth: tuple[dict[str, str], dict[str, str]],
) -> None:
    admin = auth[0]
    first = (await api.post(PATH, headers=admin, json=body(
        "https://one.example.org/mcp", bearer_token="secret-one"))).json()
    taken = await api.post(PATH, headers=admin, json=body("https://two.example.org/mcp",
                                                          slug=first["slug"]))
    assert problem(taken, 409, "mcp-slug-taken")["metadata"] == {"field": "slug"}
    path = f"{PATH}/{first['id']}"
    renamed = await api.patch(path, headers=admin, json={"slug": "other"})
    assert problem(renamed, 422, "invalid-field")["metadata"] == {"field": "slug"}
    moved = await api.patch(path, headers=admin, json={"url": "https://evil.example.org/mcp"})
    assert problem(moved, 422, "invalid-field")["metadata"] == {"field": "url"}
    assert "bearer_token" in moved.json()["detail"]
    both = await api.patch(path, headers=admin,
                           json={"bearer_token": "new", "clear_bearer_token": True})
    assert problem(both, 422, "invalid-field")["metadata"] == {"field": "clear_bearer_token"}
    assert (await api.get(path, headers=admin)).json()["url"] == "https://one.example.org/mcp"


async def test_only_managers_reach_mcp_servers_and_unknown_ids_are_404s(
    api: Client, auth: tuple[dict[str, str], dict[str, str]],
) -> None:
    admin, member = auth
    server_path = f"{PATH}/{uuid.uuid4()}"
    for method, path in (("GET", PATH), ("POST", PATH), ("GET", server_path),
                         ("PATCH", server_path), ("DELETE", server_path),
                         ("POST", f"{server_path}/refresh")):
        json = {} if method in ("POST", "PATCH") else None
        problem(await api.request(method, path, headers=member, json=json), 403, "forbidden")
        problem(await api.request(method, path, json=json), 401, "unauthenticated")
        if path != PATH:
            problem(await api.request(method, path, headers=admin, json=json), 404,
                    "not-found")
