"""OPTIONS and CORS: a preflight gets CORS headers only from an origin CORS_ALLOW_ORIGINS
lists, and OPTIONS on any route is answered (never a 500), with or without a token."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest
from litestar.testing import AsyncTestClient

from app.api.app import create_app
from app.config.settings import Settings, load_settings
from tests.api.conftest import bearer

Client = AsyncTestClient  # type: ignore[type-arg]
TEAM = "https://team.example.org"
ELSEWHERE = "https://elsewhere.example.com"
GUARDED = ["/robots/sessions", "/robots/sessions/some-session", "/robots/chat/sse",
           "/robots/sessions/some-session/stream", "/robots/providers", "/robots/tools",
           "/robots/sessions/some-session/turns/some-turn/cancel", "/accounts/me"]


@pytest.fixture
async def cors_client(settings: Settings) -> AsyncIterator[Client]:
    listed = msgspec.structs.replace(settings, cors_allow_origins=f" {TEAM} ,http://localhost:3000")
    async with AsyncTestClient(app=create_app(listed)) as c:
        yield c


def preflight(origin: str | None, token: str | None = None) -> dict[str, str]:
    headers = {"Access-Control-Request-Method": "POST",
               "Access-Control-Request-Headers": "authorization, content-type"}
    if origin:
        headers["Origin"] = origin
    return {**headers, **(bearer(token) if token else {})}


def cors_headers(response: Any) -> set[str]:
    return {k for k in response.headers if k.lower().startswith("access-control-allow")}


@pytest.mark.parametrize("path", GUARDED)
async def test_options_is_answered_with_or_without_a_token(client: Client, member_token: str,
                                                           path: str) -> None:
    for token in (None, member_token):
        for origin in (None, TEAM):
            response = await client.options(path, headers=preflight(origin, token))
            assert response.status_code == 204, (token, origin, response.text)
            assert "OPTIONS" in response.headers["allow"]
            assert cors_headers(response) == set()  # no origin is listed by default


@pytest.mark.parametrize("path", GUARDED)
async def test_a_preflight_from_a_listed_origin_gets_cors_headers(cors_client: Client,
                                                                  member_token: str,
                                                                  path: str) -> None:
    for token in (None, member_token):
        allowed = await cors_client.options(path, headers=preflight(TEAM, token))
        assert allowed.status_code == 204, allowed.text
        assert allowed.headers["access-control-allow-origin"] == TEAM
        assert allowed.headers["access-control-allow-credentials"] == "true"
        assert "POST" in allowed.headers["access-control-allow-methods"]
        assert "authorization" in allowed.headers["access-control-allow-headers"]
        refused = await cors_client.options(path, headers=preflight(ELSEWHERE, token))
        assert refused.status_code < 500
        assert cors_headers(refused) == set()
        plain = await cors_client.options(path, headers=preflight(None, token))
        assert plain.status_code == 204 and cors_headers(plain) == set()


async def test_answers_carry_cors_headers_only_for_a_listed_origin(cors_client: Client,
                                                                  member_token: str) -> None:
    listed = await cors_client.get("/accounts/me",
                                   headers={"Origin": TEAM, **bearer(member_token)})
    assert listed.status_code == 200
    assert listed.headers["access-control-allow-origin"] == TEAM
    assert "x-trace-id" in listed.headers["access-control-expose-headers"]
    other = await cors_client.get("/accounts/me",
                                  headers={"Origin": ELSEWHERE, **bearer(member_token)})
    assert other.status_code == 200
    assert "access-control-allow-origin" not in other.headers
    # An error too, so a browser client can read the problem document.
    denied = await cors_client.get("/robots/sessions", headers={"Origin": TEAM})
    assert denied.status_code == 401
    assert denied.headers["access-control-allow-origin"] == TEAM


def test_the_origins_come_from_the_environment() -> None:
    assert load_settings({}).cors_origins == []
    read = load_settings({"CORS_ALLOW_ORIGINS": f"{TEAM}, http://localhost:3000"})
    assert read.cors_origins == [TEAM, "http://localhost:3000"]


async def test_allow_names_every_method_of_the_path(client: Client, member_token: str) -> None:
    # Litestar's own answer listed only the first handler's methods: GET without PATCH.
    response = await client.options("/accounts/me", headers=preflight(None, member_token))
    assert set(response.headers["allow"].split(", ")) == {"GET", "PATCH", "OPTIONS"}
    refused = await client.delete("/accounts/me",
                                  headers={"authorization": f"Bearer {member_token}"})
    assert refused.status_code == 405
    assert set(refused.headers["allow"].split(", ")) == {"GET", "PATCH", "OPTIONS"}
