"""Robots CRUD through HTTP, with permissions, validation and pagination."""

from __future__ import annotations

import uuid
from typing import Any

from litestar.testing import AsyncTestClient

from app.domain.robots import DEFAULT_ROBOT_ID
from app.domain.tools import NATIVE_TOOLS
from tests.api import reference
from tests.api.conftest import bearer

Client = AsyncTestClient  # type: ignore[type-arg]


def robot_body(**overrides: Any) -> dict[str, Any]:
    body = {"name": f"robot-{uuid.uuid4().hex[:8]}", "description": "helps",
            "playbook": "Be brief.", "model": "openai/gpt-4.1-mini"}
    return {**body, **overrides}


async def test_admin_creates_reads_updates_and_deletes_a_robot(
    client: Client, admin_token: str, member_token: str
) -> None:
    created = await client.post("/robots", headers=bearer(admin_token),
                                json=robot_body(tools=["current_time"], meta={"team": "mods"}))
    assert created.status_code == 201, created.text
    robot = created.json()
    assert robot["model"] == "openai/gpt-4.1-mini" and robot["tools"] == ["current_time"]
    assert robot["author"]["handle"].startswith("admin-") and robot["meta"] == {"team": "mods"}
    assert set(robot) >= {"id", "createdAt", "updatedAt", "name", "description", "playbook"}

    fetched = await client.get(f"/robots/{robot['id']}", headers=bearer(member_token))
    assert fetched.status_code == 200 and fetched.json()["name"] == robot["name"]

    patched = await client.patch(f"/robots/{robot['id']}", headers=bearer(admin_token),
                                 json={"playbook": "Be kind.", "model": None})
    assert patched.status_code == 200
    assert patched.json()["playbook"] == "Be kind."
    assert patched.json()["description"] == "helps"  # untouched
    assert patched.json()["model"] == "local/echo"  # back to the default

    deleted = await client.delete(f"/robots/{robot['id']}", headers=bearer(admin_token))
    assert deleted.status_code == 200 and deleted.json()["deletedAt"]
    gone = await client.get(f"/robots/{robot['id']}", headers=bearer(member_token))
    assert gone.status_code == 404 and gone.json()["title"] == "Not Found"
    # The name is free again once the robot is deleted.
    again = await client.post("/robots", headers=bearer(admin_token),
                              json=robot_body(name=robot["name"]))
    assert again.status_code == 201


async def test_a_member_cannot_manage_robots(client: Client, member_token: str,
                                             admin_token: str) -> None:
    assert (await client.post("/robots", headers=bearer(member_token),
                              json=robot_body())).status_code == 403
    robot = (await client.post("/robots", headers=bearer(admin_token),
                               json=robot_body())).json()
    for response in (
        await client.patch(f"/robots/{robot['id']}", headers=bearer(member_token),
                           json={"name": "x"}),
        await client.delete(f"/robots/{robot['id']}", headers=bearer(member_token)),
    ):
        assert response.status_code == 403
        assert "MANAGE_ROBOTS" in response.json()["detail"]


async def test_a_taken_name_is_a_409(client: Client, admin_token: str) -> None:
    body = robot_body()
    assert (await client.post("/robots", headers=bearer(admin_token), json=body)).status_code == 201
    clash = await client.post("/robots", headers=bearer(admin_token),
                              json=robot_body(name=body["name"].upper()))
    assert clash.status_code == 409
    assert clash.json()["metadata"] == {"field": "name"}


async def test_invalid_fields_are_named(client: Client, admin_token: str) -> None:
    cases = [
        (robot_body(model="gpt-4"), 422, "model"),
        (robot_body(model="nowhere/model-x"), 422, "model"),
        (robot_body(tools=["launch_rockets"]), 422, "tools"),
        (robot_body(name=""), 400, "name"),
        (robot_body(playbook=7), 400, "playbook"),
        ({"name": "only-a-name"}, 400, "description"),
        (robot_body(colour="red"), 400, "colour"),
    ]
    for body, status, field in cases:
        response = await client.post("/robots", headers=bearer(admin_token), json=body)
        assert response.status_code == status, (body, response.text)
        assert field in response.json()["detail"], (body, response.json())


async def test_the_built_in_robot_exists_from_the_start(client: Client,
                                                       member_token: str) -> None:
    response = await client.get(f"/robots/{DEFAULT_ROBOT_ID}", headers=bearer(member_token))
    assert response.status_code == 200
    assert response.json()["name"] == "Assistant"
    assert response.json()["author"]["handle"] == "system"


async def test_pagination_boundaries(fresh_client: Client, fresh_admin_token: str) -> None:
    auth = bearer(fresh_admin_token)
    first = (await fresh_client.get("/robots", headers=auth)).json()
    assert (first["results"], first["total_pages"], first["current_page"]) == (1, 1, 1)
    assert "next_page" not in first
    for i in range(19):
        await fresh_client.post("/robots", headers=auth, json=robot_body(name=f"r{i:02}"))
    exactly_one = (await fresh_client.get("/robots", headers=auth)).json()
    assert exactly_one["results"] == 20 and exactly_one["total_pages"] == 1
    assert len(exactly_one["robots"]) == 20 and "next_page" not in exactly_one
    await fresh_client.post("/robots", headers=auth, json=robot_body(name="r19"))
    page1 = (await fresh_client.get("/robots?page=1", headers=auth)).json()
    page2 = (await fresh_client.get("/robots?page=2", headers=auth)).json()
    assert page1["next_page"] == 2 and page1["total_pages"] == 2
    assert [r["name"] for r in page2["robots"]] == ["r19"] and "next_page" not in page2
    beyond = (await fresh_client.get("/robots?page=3", headers=auth)).json()
    assert beyond["robots"] == [] and beyond["current_page"] == 3
    assert (await fresh_client.get("/robots?page=-1", headers=auth)).status_code == 400


async def test_every_change_is_recorded(client: Client, admin_token: str) -> None:
    from app.adapters.robots import RobotStore

    robot = (await client.post("/robots", headers=bearer(admin_token), json=robot_body())).json()
    await client.patch(f"/robots/{robot['id']}", headers=bearer(admin_token),
                       json={"description": "new"})
    await client.delete(f"/robots/{robot['id']}", headers=bearer(admin_token))
    store: RobotStore = client.app.state.services.robots
    changes = await store.changes(uuid.UUID(robot["id"]))
    assert [kind for kind, _ in changes] == ["created", "updated", "deleted"]
    assert changes[1][1] == {"description": "new"}


async def test_the_tool_catalogue_lists_tool_ids(client: Client, member_token: str) -> None:
    listed = (await client.get("/robots/tools", headers=bearer(member_token))).json()
    reference.check(listed, "RobotToolListResult")
    tools = listed["tools"]
    assert [t["id"] for t in tools] == [t.id for t in NATIVE_TOOLS]
    assert {t["source"] for t in tools} == {"native"}
    for tool in tools:
        reference.check(tool, "RobotToolInfo")
        assert tool["input_schema"]["type"] == "object"
    confirm = {t["id"] for t in tools if t["requires_confirmation"]}
    assert confirm == {"robot_delete"}


async def test_a_robots_step_limit_defaults_to_20_and_stays_within_1_to_100(
    client: Client, admin_token: str,
) -> None:
    robot = (await client.post("/robots", headers=bearer(admin_token),
                               json=robot_body())).json()
    assert robot["max_steps"] == 20
    patched = await client.patch(f"/robots/{robot['id']}", headers=bearer(admin_token),
                                 json={"max_steps": 3})
    assert patched.status_code == 200 and patched.json()["max_steps"] == 3
    for bad in (0, 101):
        refused = await client.patch(f"/robots/{robot['id']}", headers=bearer(admin_token),
                                     json={"max_steps": bad})
        assert refused.status_code == 400, refused.text
        assert "max_steps" in refused.json()["detail"]


async def test_client_tools_and_approval_marks_are_checked_and_kept(
        client: Client, admin_token: str) -> None:
    tool = {"name": "pick_colour", "description": "Ask for a colour",
            "input_schema": {"type": "object", "properties": {"why": {"type": "string"}}}}
    made = await client.post("/robots", headers=bearer(admin_token), json=robot_body(
        tools=["robot_get"], client_tools=[tool], tools_requiring_approval=["robot_get"]))
    assert made.status_code == 201, made.text
    assert made.json()["client_tools"] == [tool]
    assert made.json()["tools_requiring_approval"] == ["robot_get"]
    refused = {
        "a name twice": {"client_tools": [tool, tool]},
        "a native tool's name": {"client_tools": [{**tool, "name": "current_time"}]},
        "not an object": {"client_tools": [{**tool, "input_schema": {"type": "string"}}]},
        "not a schema": {"client_tools": [{**tool, "input_schema": {
            "type": "object", "properties": {"why": {"type": "nonsense"}}}}]},
        "an unknown tool": {"tools_requiring_approval": ["no_such_tool"]},
    }
    for why, fields in refused.items():
        answer = await client.patch(f"/robots/{made.json()['id']}",
                                    headers=bearer(admin_token), json=fields)
        assert answer.status_code == 422, (why, answer.text)
        assert answer.json()["metadata"]["field"] in ("client_tools",
                                                      "tools_requiring_approval"), why
    badly_named = await client.patch(f"/robots/{made.json()['id']}",
                                     headers=bearer(admin_token),
                                     json={"client_tools": [{**tool, "name": "no spaces"}]})
    assert badly_named.status_code == 400
