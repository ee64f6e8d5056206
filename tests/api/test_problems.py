"""Bad input gets a 4xx problem document that says what is wrong, never a 500."""

from __future__ import annotations

from litestar.testing import AsyncTestClient

from tests.api.conftest import bearer

Client = AsyncTestClient  # type: ignore[type-arg]


async def test_malformed_json_is_a_400_problem(client: Client, member_token: str) -> None:
    response = await client.patch("/accounts/me", headers=bearer(member_token),
                                  content=b'{"name": ')
    assert response.status_code == 400
    body = response.json()
    assert set(body) >= {"type", "title", "detail", "trace_id"}
    assert "JSON" in body["detail"] or "malformed" in body["detail"].lower()


async def test_a_wrong_type_names_the_field(client: Client, member_token: str) -> None:
    response = await client.patch("/accounts/me", headers=bearer(member_token),
                                  json={"name": 42})
    assert response.status_code == 400
    assert "name" in response.json()["detail"] and "str" in response.json()["detail"]


async def test_an_unknown_field_is_refused_by_name(client: Client, member_token: str) -> None:
    response = await client.patch("/accounts/me", headers=bearer(member_token),
                                  json={"name": "ok", "colour": "blue"})
    assert response.status_code == 400
    assert "colour" in response.json()["detail"]


async def test_a_valid_change_is_applied(client: Client, member_token: str) -> None:
    response = await client.patch("/accounts/me", headers=bearer(member_token),
                                  json={"name": "Ada"})
    assert response.status_code == 200
    again = await client.get("/accounts/me", headers=bearer(member_token))
    assert again.json()["name"] == "Ada"


async def test_bad_query_parameters_are_400s(client: Client, member_token: str) -> None:
    for query in ("page=0", "page=abc", "account_id=not-a-uuid"):
        response = await client.get(f"/robots/sessions?{query}", headers=bearer(member_token))
        assert response.status_code == 400, query
        assert response.json()["detail"], query


async def test_unknown_route_and_method_are_problems(client: Client, member_token: str) -> None:
    missing = await client.get("/robots/nothing-here", headers=bearer(member_token))
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    wrong = await client.delete("/accounts/me", headers=bearer(member_token))
    assert wrong.status_code == 405
