"""Authentication and permissions through HTTP, and tokens kept out of responses and logs."""

from __future__ import annotations

import logging
import uuid

import pytest
from litestar.testing import AsyncTestClient

from app.adapters.accounts import AccountStore, hash_token
from app.api.auth import SESSION_COOKIE
from app.bootstrap import Services
from app.domain.accounts import Role
from tests.api.conftest import bearer

Client = AsyncTestClient  # type: ignore[type-arg]


async def test_anonymous_requests_get_a_401_problem(client: Client) -> None:
    response = await client.get("/robots/sessions")
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["title"] == "Unauthorized" and "Bearer" in body["detail"]
    assert body["trace_id"] == response.headers["x-trace-id"]


async def test_an_unknown_token_gets_a_401(client: Client) -> None:
    response = await client.get("/accounts/me", headers=bearer("rbt_not-a-real-token"))
    assert response.status_code == 401
    assert response.json()["detail"] == "the token is not valid"


async def test_a_guest_without_use_robots_gets_a_403(client: Client, guest_token: str) -> None:
    assert (await client.get("/accounts/me", headers=bearer(guest_token))).status_code == 200
    response = await client.get("/robots/sessions", headers=bearer(guest_token))
    assert response.status_code == 403
    assert "USE_ROBOTS" in response.json()["detail"]


async def test_a_member_with_use_robots_gets_a_200(client: Client, member_token: str) -> None:
    response = await client.get("/robots/sessions", headers=bearer(member_token))
    assert response.status_code == 200
    assert response.json()["current_page"] == 1


async def test_the_storyden_session_cookie_authenticates(client: Client,
                                                         member_token: str) -> None:
    client.cookies.set(SESSION_COOKIE, member_token)
    try:
        response = await client.get("/accounts/me")
    finally:
        client.cookies.clear()
    assert response.status_code == 200
    assert response.json()["permissions"] == ["USE_ROBOTS"]


async def test_admin_has_every_permission(client: Client, admin_token: str) -> None:
    response = await client.get("/accounts/me", headers=bearer(admin_token))
    assert response.json()["permissions"] == ["MANAGE_ROBOTS", "USE_ROBOTS"]


async def test_health_and_readiness_need_no_token(client: Client) -> None:
    assert (await client.get("/health")).json() == {"status": "ok", "checks": {}}
    ready = await client.get("/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"postgres": "ok", "redis": "ok"}
    assert (await client.get("/schema/openapi.json")).status_code == 200


async def test_a_token_never_appears_in_a_response_or_a_log_line(
    client: Client, admin_token: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    responses = [
        await client.get("/accounts/me", headers=bearer(admin_token)),
        await client.get("/robots/sessions", headers=bearer(admin_token)),
        await client.patch("/accounts/me", headers=bearer(admin_token), content=b"{bad"),
        await client.get("/nope", headers=bearer(admin_token)),
    ]
    assert [r.status_code for r in responses] == [200, 200, 400, 404]
    for response in responses:
        assert admin_token not in response.text
        assert admin_token not in str(response.headers)
    assert caplog.records, "expected the requests to log something"
    assert all(admin_token not in record.getMessage() for record in caplog.records)


async def test_a_checked_token_is_trusted_for_a_while_and_only_if_it_was_valid(
    app_services: Services,
) -> None:
    account, token = await app_services.accounts.create(
        f"trusted-{uuid.uuid4().hex[:8]}", None, Role.MEMBER)
    trusting = AccountStore(app_services.pool, trust_s=60)
    checking = AccountStore(app_services.pool, trust_s=0)
    assert await trusting.by_token("rbt_not-a-real-token") is None
    assert (await trusting.by_token(token)) == account
    async with app_services.pool.connection() as conn:
        await conn.execute("DELETE FROM api_tokens WHERE token_hash = %s", [hash_token(token)])
    # The database no longer knows the token: only the store that checked it before (and
    # trusts for 60 s) still answers from memory; a store that trusts nothing refuses it.
    assert (await trusting.by_token(token)) == account
    assert await checking.by_token(token) is None
    await trusting.rename(account.id, "Renamed")  # a change here forgets what it trusted
    assert await trusting.by_token(token) is None
