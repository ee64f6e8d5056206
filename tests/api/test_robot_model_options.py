"""A robot's model options through HTTP: set on create, replaced by PATCH, shown by GET, and
refused with a 422 that names every unknown option or the option out of range."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient

from tests.api.conftest import bearer
from tests.api.test_robots import robot_body

Client = AsyncTestClient  # type: ignore[type-arg]


async def test_options_are_set_on_create_replaced_by_patch_and_shown_by_get(
    client: Client, admin_token: str, member_token: str
) -> None:
    options = {"max_tokens": 900, "temperature": 0.3, "reasoning_effort": "low"}
    created = await client.post("/robots", headers=bearer(admin_token),
                                json=robot_body(model_options=options))
    assert created.status_code == 201, created.text
    robot = created.json()
    assert robot["model_options"] == options

    fetched = await client.get(f"/robots/{robot['id']}", headers=bearer(member_token))
    assert fetched.json()["model_options"] == options

    patched = await client.patch(f"/robots/{robot['id']}", headers=bearer(admin_token),
                                 json={"model_options": {"temperature": 1.5}})
    assert patched.status_code == 200, patched.text
    # The options are replaced whole, as the robot's other fields are.
    assert patched.json()["model_options"] == {"temperature": 1.5}
    untouched = await client.patch(f"/robots/{robot['id']}", headers=bearer(admin_token),
                                   json={"name": f"{robot['name']}-2"})
    assert untouched.json()["model_options"] == {"temperature": 1.5}
    cleared = await client.patch(f"/robots/{robot['id']}", headers=bearer(admin_token),
                                 json={"model_options": {"temperature": None}})
    assert cleared.json()["model_options"] == {}
    again = await client.get(f"/robots/{robot['id']}", headers=bearer(member_token))
    assert again.json()["model_options"] == {}


async def test_a_robot_without_options_shows_none(client: Client, admin_token: str) -> None:
    created = await client.post("/robots", headers=bearer(admin_token), json=robot_body())
    assert created.status_code == 201 and created.json()["model_options"] == {}


async def test_every_unknown_option_is_named_in_one_422(client: Client,
                                                        admin_token: str) -> None:
    body = {"top_k": 5, "temperature": 0.5, "foo": True}
    created = await client.post("/robots", headers=bearer(admin_token),
                                json=robot_body(model_options=body))
    _assert_invalid(created.json(), created.status_code,
                    {"field": "model_options", "unknown": ["top_k", "foo"]})
    assert "top_k" in created.json()["detail"] and "foo" in created.json()["detail"]

    robot = (await client.post("/robots", headers=bearer(admin_token),
                               json=robot_body())).json()
    patched = await client.patch(f"/robots/{robot['id']}", headers=bearer(admin_token),
                                 json={"model_options": {"stop": ["x"], "seed": 1}})
    _assert_invalid(patched.json(), patched.status_code,
                    {"field": "model_options", "unknown": ["stop", "seed"]})


async def test_a_value_out_of_range_or_of_the_wrong_type_names_its_option(
    client: Client, admin_token: str
) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"temperature": 2.5}, "temperature"),
        ({"temperature": -0.1}, "temperature"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"max_tokens": 1_000_000}, "max_tokens"),
        ({"max_tokens": 12.5}, "max_tokens"),
        ({"max_tokens": True}, "max_tokens"),
        ({"reasoning_effort": "extreme"}, "reasoning_effort"),
        ({"temperature": 0.2, "reasoning_effort": 3}, "reasoning_effort"),
    ]
    for options, option in cases:
        response = await client.post("/robots", headers=bearer(admin_token),
                                     json=robot_body(model_options=options))
        _assert_invalid(response.json(), response.status_code,
                        {"field": f"model_options.{option}"})
        assert f"model_options.{option}" in response.json()["detail"], response.json()


async def test_options_that_are_not_an_object_are_refused_as_the_schema_says(
    client: Client, admin_token: str
) -> None:
    response = await client.post("/robots", headers=bearer(admin_token),
                                 json=robot_body(model_options=["temperature"]))
    assert response.status_code == 400, response.text
    assert "model_options" in response.json()["detail"]


def _assert_invalid(problem: dict[str, Any], status: int, metadata: dict[str, Any]) -> None:
    assert status == 422, problem
    assert problem["type"].endswith("/problems/invalid-field"), problem
    assert problem["metadata"] == metadata, problem
