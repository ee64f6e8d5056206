"""Providers and models through HTTP: write-only keys, permissions, validation, refresh."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import psycopg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from app.adapters.llm.local_model import DEFAULT_MODEL, LocalModelServer
from app.adapters.server_secret import KeyCipher
from app.api.app import create_app
from app.config.settings import Settings
from tests.api.conftest import bearer
from tests.api.providers_support import (
    aimed_at,
    model_server_in_thread,
    stored_token,
    tokens,
)

Client = AsyncTestClient[Litestar]


@pytest.fixture
def model_server() -> Iterator[LocalModelServer]:
    with model_server_in_thread() as server:
        yield server


@pytest.fixture
def aimed_settings(fresh_settings: Settings, model_server: LocalModelServer) -> Settings:
    return aimed_at(fresh_settings, model_server)


@pytest.fixture
async def api(aimed_settings: Settings) -> AsyncIterator[Client]:
    async with AsyncTestClient(app=create_app(aimed_settings)) as c:
        yield c


@pytest.fixture
async def auth(aimed_settings: Settings) -> tuple[dict[str, str], dict[str, str]]:
    admin, member = await tokens(aimed_settings)
    return bearer(admin), bearer(member)


def by_name(listing: httpx.Response) -> dict[str, Any]:
    assert listing.status_code == 200, listing.text
    return {p["provider"]: p for p in listing.json()["providers"]}


async def test_a_key_is_write_only_encrypted_and_never_leaks(
    api: Client, auth: tuple[dict[str, str], dict[str, str]], aimed_settings: Settings,
    model_server: LocalModelServer, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    admin = auth[0]
    key = f"tk_{uuid.uuid4().hex}"  # not key-shaped, so only our own care keeps it out
    seen: list[httpx.Response] = []

    async def call(method: str, path: str, **kw: Any) -> httpx.Response:
        response = await api.request(method, path, headers=admin, **kw)
        seen.append(response)
        return response

    for name in ("openai", "anthropic", "down"):
        patched = await call("PATCH", f"/robots/providers/{name}", json={"api_key": key})
        assert patched.status_code == 200 and patched.json()["settings"]["has_api_key"]
    refreshed = await call("POST", "/robots/providers/openai/models/refresh")
    assert refreshed.json()["cache"]["stale"] is False, refreshed.text
    assert (await call("POST", "/robots/providers/anthropic/models/refresh")).status_code == 200
    failed = await call("POST", "/robots/providers/down/models/refresh")
    assert failed.json()["cache"]["last_error"]
    await call("GET", "/robots/providers")
    await call("GET", "/robots/models")
    for bad in ({"api_key": key, "clear_api_key": True}, {"api_key": key, "colour": 1},
                {"api_key": f"{key} {key}"}, {"api_key": key, "enabled": "yes"},
                {"base_url": "http://127.0.0.1:1/v1"}):
        assert (await call("PATCH", "/robots/providers/openai", json=bad)).status_code in (
            400, 422)

    # The key really went to the providers, so its absence elsewhere means something.
    carried = [r for r in model_server.requests if key in str(r.headers.values())]
    assert {"anthropic-version" in r.headers for r in carried} == {True, False}
    for response in seen:
        assert key not in response.text and key not in str(response.headers.items())
    assert key not in caplog.text
    for record in caplog.records:
        assert key not in record.getMessage() and key not in str(record.__dict__)

    token = await stored_token(aimed_settings, "openai")
    assert token is not None and key.encode() not in token
    assert KeyCipher(aimed_settings).decrypt(token) == key
    assert aimed_settings.database_url
    async with await psycopg.AsyncConnection.connect(aimed_settings.database_url) as conn:
        events = await (await conn.execute(
            "SELECT count(*) FROM events WHERE data::text LIKE %s OR metadata::text LIKE %s",
            [f"%{key}%", f"%{key}%"])).fetchone()
    assert events == (0,)


async def test_has_api_key_follows_set_and_clear(
    api: Client, auth: tuple[dict[str, str], dict[str, str]], aimed_settings: Settings,
) -> None:
    admin = auth[0]
    before = by_name(await api.get("/robots/providers", headers=admin))
    assert list(before)[:3] == ["anthropic", "openai", "local"] and {"fake", "down"} <= set(before)
    assert before["anthropic"]["settings"] == {
        "enabled": True, "has_api_key": False, "requires_api_key": True,
        "base_url": aimed_settings.anthropic_base_url}
    assert before["local"]["settings"]["requires_api_key"] is False
    assert before["anthropic"]["supported"] and before["anthropic"]["models"] == []
    assert before["anthropic"]["cache"] == {"stale": True}

    path = "/robots/providers/anthropic"
    set_ = await api.patch(path, headers=admin, json={"api_key": "  sk-ant-123456789\n"})
    assert set_.json()["settings"]["has_api_key"] is True
    kept = await api.patch(path, headers=admin, json={"enabled": False})
    assert kept.json()["settings"] == {**set_.json()["settings"], "enabled": False}
    cleared = await api.patch(path, headers=admin, json={"clear_api_key": True})
    assert cleared.json()["settings"]["has_api_key"] is False
    assert await stored_token(aimed_settings, "anthropic") is None


async def test_an_environment_key_counts_as_configured(
    fresh_settings: Settings, model_server: LocalModelServer,
) -> None:
    settings = aimed_at(fresh_settings, model_server, openai_api_key="sk-from-the-env-0000",
                        openai_compatible="vllm=http://user:pw@gpu.internal:8000/v1?t=abc")
    admin = bearer((await tokens(settings))[0])
    async with AsyncTestClient(app=create_app(settings)) as api:
        listed = by_name(await api.get("/robots/providers", headers=admin))
        assert listed["openai"]["settings"]["has_api_key"] is True
        assert listed["anthropic"]["settings"]["has_api_key"] is False
        # An operator's URL may carry credentials: they are not shown.
        assert listed["vllm"]["settings"]["base_url"] == "http://gpu.internal:8000/v1"
        cleared = await api.patch("/robots/providers/openai", headers=admin,
                                  json={"clear_api_key": True})
        assert cleared.json()["settings"]["has_api_key"] is True  # the environment's remains
        # The environment's key only goes to the environment's base URL.
        moved = await api.patch("/robots/providers/openai", headers=admin,
                                json={"base_url": "https://proxy.example/v1/"})
        assert moved.json()["settings"] == {"enabled": True, "has_api_key": False,
                                            "requires_api_key": True,
                                            "base_url": "https://proxy.example/v1"}
        back = await api.patch("/robots/providers/openai", headers=admin,
                               json={"base_url": None})
        assert back.json()["settings"]["has_api_key"] is True
        refreshed = await api.post("/robots/providers/openai/models/refresh", headers=admin)
        assert refreshed.json()["cache"]["stale"] is False
        assert model_server.app.requests[-1].headers["authorization"] == (
            "Bearer sk-from-the-env-0000")


async def test_a_member_is_refused_everywhere(
    api: Client, auth: tuple[dict[str, str], dict[str, str]],
) -> None:
    member = auth[1]
    for method, path, body in [
        ("GET", "/robots/providers", None), ("GET", "/robots/models", None),
        ("PATCH", "/robots/providers/openai", {"enabled": False}),
        ("PATCH", "/robots/providers/nope", {"enabled": False}),
        ("POST", "/robots/providers/openai/models/refresh", None),
    ]:
        response = await api.request(method, path, headers=member, json=body)
        assert response.status_code == 403, (method, path, response.text)
        assert "MANAGE_ROBOTS" in response.json()["detail"]
    assert (await api.get("/robots/providers")).status_code == 401


async def test_an_unknown_provider_is_a_404(
    api: Client, auth: tuple[dict[str, str], dict[str, str]],
) -> None:
    for method, path in [("PATCH", "/robots/providers/nope"),
                         ("POST", "/robots/providers/nope/models/refresh")]:
        response = await api.request(method, path, headers=auth[0], json={"enabled": True})
        assert response.status_code == 404, response.text
        problem = response.json()
        assert problem["type"] == "/problems/not-found" and "openai" in problem["detail"]


async def test_invalid_fields_are_named(
    api: Client, auth: tuple[dict[str, str], dict[str, str]],
) -> None:
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"enabled": "yes"}, 400, "enabled"),
        ({"api_key": ""}, 400, "api_key"),
        ({"api_key": 12345}, 400, "api_key"),
        ({"api_key": "two words"}, 422, "api_key"),
        ({"api_key": "k-1", "clear_api_key": True}, 422, "clear_api_key"),
        ({"base_url": "ftp://example.com"}, 422, "base_url"),
        ({"base_url": "http://"}, 422, "base_url"),
        ({"base_url": "http://me:pw@example.com/v1"}, 422, "base_url"),
        ({"base_url": "http://example.com/v1?token=1"}, 422, "base_url"),
        ({"base_url": "http://example.com:99999"}, 422, "base_url"),
        ({"colour": "red"}, 400, "colour"),
    ]
    for body, status, field in cases:
        response = await api.patch("/robots/providers/fake", headers=auth[0], json=body)
        assert response.status_code == status, (body, response.text)
        assert field in response.json()["detail"], (body, response.json())
        if status == 422:
            assert response.json()["metadata"] == {"field": field}
    # A stored key may not silently follow a new base URL.
    await api.patch("/robots/providers/fake", headers=auth[0], json={"api_key": "k-1"})
    moved = await api.patch("/robots/providers/fake", headers=auth[0],
                            json={"base_url": "http://elsewhere.example/v1"})
    assert moved.status_code == 422 and moved.json()["metadata"] == {"field": "base_url"}
    with_key = await api.patch("/robots/providers/fake", headers=auth[0],
                               json={"base_url": "http://elsewhere.example/v1", "api_key": "k-2"})
    assert with_key.status_code == 200, with_key.text


async def test_refresh_lists_the_providers_models(
    api: Client, auth: tuple[dict[str, str], dict[str, str]], model_server: LocalModelServer,
) -> None:
    admin = auth[0]
    for name in ("openai", "anthropic"):
        await api.patch(f"/robots/providers/{name}", headers=admin, json={"api_key": "k-123"})
        status = (await api.post(f"/robots/providers/{name}/models/refresh",
                                 headers=admin)).json()
        assert status["cache"]["stale"] is False and status["cache"]["last_refreshed_at"]
        assert "last_error" not in status["cache"]
        assert {"ref": f"{name}/{DEFAULT_MODEL}", "provider": name,
                "model": DEFAULT_MODEL} in status["models"]
        assert {m["model"] for m in status["models"]} == set(model_server.app.models)
    models = (await api.get("/robots/models", headers=admin)).json()["models"]
    assert {m["provider"] for m in models} == {"openai", "anthropic"}
    assert all(m["ref"] == f"{m['provider']}/{m['model']}" for m in models)

    await api.patch("/robots/providers/anthropic", headers=admin, json={"enabled": False})
    models = (await api.get("/robots/models", headers=admin)).json()["models"]
    assert {m["provider"] for m in models} == {"openai"}
    # A new key makes the cached list stale until the next refresh.
    rekeyed = await api.patch("/robots/providers/openai", headers=admin,
                              json={"api_key": "k-456"})
    assert rekeyed.json()["cache"]["stale"] is True and rekeyed.json()["models"]


async def test_a_failed_refresh_is_recorded_and_answered_clearly(
    api: Client, auth: tuple[dict[str, str], dict[str, str]],
) -> None:
    admin = auth[0]
    down = await api.post("/robots/providers/down/models/refresh", headers=admin)
    assert down.status_code == 200, down.text
    cache = down.json()["cache"]
    assert cache["stale"] is True and "last_refreshed_at" not in cache
    assert "could not connect to model provider 'down'" in cache["last_error"]

    fine = await api.post("/robots/providers/fake/models/refresh", headers=admin)
    assert fine.json()["cache"]["stale"] is False and fine.json()["models"]
    await api.patch("/robots/providers/fake", headers=admin,
                    json={"base_url": "http://127.0.0.1:9/v1"})
    broken = (await api.post("/robots/providers/fake/models/refresh", headers=admin)).json()
    assert broken["cache"]["stale"] is True and broken["cache"]["last_error"]
    assert broken["cache"]["last_refreshed_at"] == fine.json()["cache"]["last_refreshed_at"]
    assert broken["models"] == fine.json()["models"]  # the last good list stays
    listed = by_name(await api.get("/robots/providers", headers=admin))
    assert listed["fake"]["cache"] == broken["cache"]

    no_key = (await api.post("/robots/providers/openai/models/refresh", headers=admin)).json()
    assert "has no API key" in no_key["cache"]["last_error"]
    assert "PATCH /robots/providers/openai" in no_key["cache"]["last_error"]


async def test_the_local_provider_lists_its_models_offline(
    api: Client, auth: tuple[dict[str, str], dict[str, str]],
) -> None:
    status = (await api.post("/robots/providers/local/models/refresh",
                             headers=auth[0])).json()
    assert status["cache"]["stale"] is False, status
    assert f"local/{DEFAULT_MODEL}" in {m["ref"] for m in status["models"]}
