"""Bad input gets a 4xx problem document that says what is wrong, never a 500."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from litestar.testing import AsyncTestClient

from app.api.problems import SLUG_BY_STATUS
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


def problem(response: Any, status: int, slug: str) -> dict[str, Any]:
    """The response's problem document, checked for the shape every error shares."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["type"] == f"/problems/{slug}"
    assert body["detail"] and isinstance(body["metadata"], dict)
    assert body["trace_id"] == response.headers["x-trace-id"]
    return body


async def test_unknown_route_and_method_are_problems(client: Client, member_token: str) -> None:
    missing = problem(await client.get("/robots/nothing-here", headers=bearer(member_token)),
                      404, "not-found")
    assert missing["metadata"] == {"path": "/robots/nothing-here"}
    wrong = await client.delete("/accounts/me", headers=bearer(member_token))
    body = problem(wrong, 405, "method-not-allowed")
    assert "DELETE" in body["detail"] and "GET" in body["metadata"]["allowed"]
    assert "PATCH" in wrong.headers["allow"]


async def test_every_error_names_its_type(client: Client, member_token: str,
                                          guest_token: str) -> None:
    anonymous = problem(await client.get("/robots/sessions"), 401, "unauthenticated")
    assert anonymous["metadata"] == {}
    problem(await client.get("/accounts/me", headers=bearer("rbt_nope")), 401,
            "unauthenticated")
    denied = problem(await client.get("/robots/sessions", headers=bearer(guest_token)), 403,
                     "forbidden")
    assert denied["metadata"] == {"permission": "USE_ROBOTS"}
    gone = problem(await client.get("/robots/sessions/no-such-session",
                                    headers=bearer(member_token)), 404, "not-found")
    assert gone["metadata"] == {"session_id": "no-such-session"}
    problem(await client.patch("/accounts/me", headers=bearer(member_token),
                               content=b'{"name": '), 400, "invalid-json")
    problem(await client.patch("/accounts/me", headers=bearer(member_token),
                               json={"name": 42}), 400, "invalid-request")


async def test_a_body_over_the_limit_is_a_413_problem(client: Client, member_token: str) -> None:
    huge = b'{"name": "' + b"a" * (11 * 1024 * 1024) + b'"}'
    problem(await client.patch("/accounts/me", headers=bearer(member_token), content=huge),
            413, "too-large")


def test_the_readme_lists_every_problem_type_the_code_raises() -> None:
    root = Path(__file__).resolve().parents[2]
    raised = {m for path in (root / "app").rglob("*.py")
              for m in re.findall(r'slug="([a-z-]+)"', path.read_text())}
    raised |= set(SLUG_BY_STATUS.values())
    readme = (root / "README.md").read_text()
    listed = set(re.findall(r"^\| `/problems/([a-z-]+)` \|", readme, flags=re.MULTILINE))
    assert raised - listed == set(), "raised but not in README.md's table of errors"
    assert listed - raised == set(), "in README.md's table but never raised"
