"""The sessions read API: Storyden and Julep listings, one session, changes, history."""

from __future__ import annotations

import itertools
import math
from collections.abc import AsyncIterator
from typing import Any, cast

import msgspec
import pytest
from litestar.testing import AsyncTestClient

from app.bootstrap import Services
from app.config.settings import Settings
from app.domain.accounts import Account, Role
from app.readmodels.session_listing import ListQuery, list_sessions
from tests.api import reference
from tests.api.conftest import bearer
from tests.api.seed import projected, projector, seed_session
from tests.projections.sessions_support import reference as plain_listing

Client = AsyncTestClient  # type: ignore[type-arg]


class World(msgspec.Struct, kw_only=True):
    client: Any
    services: Services
    admin: Account
    member: Account
    auth: dict[str, str]


@pytest.fixture
async def world(fresh_settings: Settings) -> AsyncIterator[World]:
    from app.api.app import create_app

    services = await Services.start(fresh_settings)
    admin, token = await services.accounts.create("ada", "Ada", Role.ADMIN)
    member, _ = await services.accounts.create("bob", "Bob", Role.MEMBER)
    assert fresh_settings.database_url
    async with projector(fresh_settings.database_url), AsyncTestClient(
            app=create_app(fresh_settings)) as client:
        yield World(client=client, services=services, admin=admin, member=member,
                    auth=bearer(token))
    await services.close()


async def seed(world: World, count: int, **kw: Any) -> list[str]:
    ids = [f"s{i:03}" for i in range(count)]
    result = None
    for sid in ids:
        result = await seed_session(world.services.store, sid, author=str(world.admin.id), **kw)
    if result:
        await projected(world.services.store, result)
    return ids


async def get(world: World, url: str) -> Any:
    response = await world.client.get(url, headers=world.auth)
    assert response.status_code == 200, response.text
    return response.json()


async def test_storyden_pages_at_their_edges(world: World) -> None:
    empty = await get(world, "/robots/sessions")
    assert (empty["results"], empty["total_pages"], empty["current_page"]) == (0, 1, 1)
    assert empty["sessions"] == [] and "next_page" not in empty
    ids = await seed(world, 20)
    one_page = await get(world, "/robots/sessions")
    assert one_page["results"] == 20 and "next_page" not in one_page
    assert [s["id"] for s in one_page["sessions"]] == ids[::-1]  # newest first
    reference.check(one_page, "RobotSessionsListResult")
    await seed_session(world.services.store, "s999", author=str(world.member.id))
    await projected(world.services.store, await seed_session(
        world.services.store, "zz-last", author=str(world.member.id)))
    first = await get(world, "/robots/sessions?page=1")
    last = await get(world, "/robots/sessions?page=2")
    assert first["next_page"] == 2 and first["total_pages"] == 2
    assert len(last["sessions"]) == 2 and "next_page" not in last
    mine = await get(world, f"/robots/sessions?account_id={world.member.id}")
    assert [s["id"] for s in mine["sessions"]] == ["zz-last", "s999"]
    assert mine["sessions"][0]["created_by"]["handle"] == "bob"


async def test_julep_limit_offset_sort_and_direction(world: World) -> None:
    ids = await seed(world, 5)
    page = await get(world, "/robots/sessions?limit=2&offset=2&direction=asc")
    assert [s["id"] for s in page["sessions"]] == ids[2:4]
    assert (page["page_size"], page["current_page"], page["next_page"]) == (2, 2, 3)
    # Touch the oldest: it becomes the most recently updated.
    await world.client.patch(f"/robots/sessions/{ids[0]}", headers=world.auth,
                             json={"situation": "on call"})
    by_update = await get(world, "/robots/sessions?sort_by=updated_at&limit=1")
    assert by_update["sessions"][0]["id"] == ids[0]
    julep = await get(world, "/sessions?limit=2&sort_by=created_at&direction=asc")
    assert [s["id"] for s in julep["items"]] == ids[:2]
    assert set(julep["items"][0]) == {
        "id", "title", "situation", "system_template", "summary", "render_templates",
        "token_budget", "context_overflow", "recall_options", "metadata", "created_at",
        "updated_at", "kind", "auto_run_tools", "forward_tool_calls"}
    assert (julep["items"][0]["auto_run_tools"], julep["items"][0]["forward_tool_calls"]) == (
        True, False)


async def test_metadata_filters_match_json_scalars_on_every_key(world: World) -> None:
    store, author = world.services.store, str(world.admin.id)
    await seed_session(store, "gold-3", author=author, metadata={"tier": 3, "vip": True,
                                                                 "team": "gold"})
    await seed_session(store, "gold-str", author=author, metadata={"tier": "3", "vip": True,
                                                                   "team": "gold"})
    await projected(store, await seed_session(store, "silver", author=author,
                                              metadata={"tier": 3, "vip": False}))

    async def listed(query: str) -> list[str]:
        return sorted(s["id"] for s in (await get(world, f"/sessions?{query}"))["items"])

    assert await listed("metadata_filter.tier=3") == ["gold-3", "silver"]
    assert await listed('metadata_filter.tier="3"') == ["gold-str"]
    assert await listed("metadata_filter.vip=true&metadata_filter.tier=3") == ["gold-3"]
    assert await listed("metadata_filter.team=gold") == ["gold-3", "gold-str"]
    assert await listed("metadata_filter.team=silver") == []


async def test_julep_metadata_filter_as_a_json_object(world: World) -> None:
    store, author = world.services.store, str(world.admin.id)
    await seed_session(store, "gold-3", author=author, metadata={"tier": 3, "team": "gold",
                                                                 "tags": ["a", "b"]})
    await seed_session(store, "gold-4", author=author, metadata={"tier": 4, "team": "gold"})
    await projected(store, await seed_session(store, "silver", author=author,
                                              metadata={"tier": 3, "team": "silver"}))

    async def listed(**params: str) -> list[str]:
        response = await world.client.get("/sessions", headers=world.auth, params=params)
        assert response.status_code == 200, response.text
        storyden = await world.client.get("/robots/sessions", headers=world.auth,
                                          params=params)
        ids = sorted(s["id"] for s in response.json()["items"])
        assert sorted(s["id"] for s in storyden.json()["sessions"]) == ids
        return ids

    assert await listed(metadata_filter='{"team": "gold"}') == ["gold-3", "gold-4"]
    assert await listed(metadata_filter='{"team": "gold", "tier": 3}') == ["gold-3"]
    assert await listed(metadata_filter='{"tags": ["b"]}') == ["gold-3"]
    assert await listed(metadata_filter="{}") == ["gold-3", "gold-4", "silver"]
    assert await listed(**{"metadata_filter": '{"tier": 3}',
                           "metadata_filter.team": "silver"}) == ["silver"]
    for bad in ("gold", '"gold"', "[1]", "3", "null", '{"team": '):
        refused = await world.client.get("/sessions", headers=world.auth,
                                         params={"metadata_filter": bad})
        assert refused.status_code == 400, (bad, refused.text)
        assert refused.json()["metadata"] == {"parameter": "metadata_filter"}
    clash = await world.client.get("/sessions", headers=world.auth, params={
        "metadata_filter": '{"team": "gold"}', "metadata_filter.team": "silver"})
    assert clash.status_code == 400 and "contradicts" in clash.json()["detail"]


@pytest.mark.parametrize("query, names", [
    ("page=0", "page"), ("page=2&offset=0", "page"), ("limit=0", "limit"),
    ("limit=101", "limit"), ("offset=-1", "offset"), ("sort_by=name", "sort_by"),
    ("direction=up", "direction"), ("metadata_filter.=x", "metadata_filter"),
])
async def test_invalid_listing_parameters_are_400s_that_say_why(world: World, query: str,
                                                                names: str) -> None:
    for path in ("/robots/sessions", "/sessions"):
        response = await world.client.get(f"{path}?{query}", headers=world.auth)
        assert response.status_code == 400, (path, query, response.text)
        assert names in response.text


async def test_one_session_pages_its_messages_newest_first_in_chronological_order(
    world: World,
) -> None:
    await seed(world, 1, exchanges=30)  # 60 messages
    whole = await get(world, "/robots/sessions/s000")
    reference.check(whole, "RobotSession")
    messages = whole["message_list"]["messages"]
    assert len(messages) == 50 and whole["message_list"]["results"] == 60
    assert messages[-1]["id"] == "msg-s000-t29" and messages[0]["id"] == "s000-u5"
    assert whole["message_list"]["next_before"] == "s000-u5"
    for m in messages:
        reference.check(m, "RobotSessionMessage")
    assert messages[-1]["robot"] == {"id": "robot-1", "name": "Helper"}
    assert messages[-2]["author"]["handle"] == "ada"
    older = await get(world, "/robots/sessions/s000?before=s000-u5&limit=100")
    assert older["message_list"]["messages"][0]["id"] == "s000-u0"
    assert len(older["message_list"]["messages"]) == 10
    assert "next_before" not in older["message_list"]  # the start of history
    small = await get(world, "/robots/sessions/s000?limit=1&before=s000-u1")
    assert [m["id"] for m in small["message_list"]["messages"]] == ["msg-s000-t0"]


@pytest.mark.parametrize("query", ["before=nope", "limit=0", "limit=101", "as_of=0",
                                   "as_of=999"])
async def test_bad_message_paging_is_a_400(world: World, query: str) -> None:
    await seed(world, 1, exchanges=1)
    response = await world.client.get(f"/robots/sessions/s000?{query}", headers=world.auth)
    assert response.status_code == 400, response.text
    assert response.json()["detail"]


async def test_an_unknown_session_is_a_404_problem(world: World) -> None:
    response = await world.client.get("/robots/sessions/nope", headers=world.auth)
    assert response.status_code == 404
    reference.check(response.json(), "APIError")


async def test_changing_options_records_one_event_per_change(world: World) -> None:
    await seed(world, 1)
    body = {"name": "Incident review", "situation": "A moderation team.",
            "system_template": "You help {{ session.situation }}.", "token_budget": 4000,
            "context_overflow": "truncate", "metadata": {"team": "mods"},
            "recall_options": {"mode": "text", "limit": 5, "confidence": -0.5,
                               "mmr_strength": 0.9}}
    changed = await world.client.patch("/robots/sessions/s000", headers=world.auth, json=body)
    assert changed.status_code == 200, changed.text
    session = changed.json()
    assert session["name"] == "Incident review" and session["token_budget"] == 4000
    assert session["recall_options"]["mode"] == "text"
    same = await world.client.patch("/robots/sessions/s000", headers=world.auth, json=body)
    assert same.status_code == 200
    history = await get(world, "/robots/sessions/s000/events")
    assert [e["type"] for e in history["events"]] == ["SessionStarted", "SessionSettingsChanged"]
    assert history["events"][1]["actor"] == str(world.admin.id)
    assert history["events"][1]["data"]["token_budget"] == 4000
    cleared = await world.client.patch("/robots/sessions/s000", headers=world.auth,
                                       json={"token_budget": None})
    assert "token_budget" not in cleared.json()


# A body the schema refuses is a 400 invalid-request; a well-formed value the service cannot
# use (a template that does not parse) a 422 invalid-field.
SCHEMA, RULE = (400, "/problems/invalid-request"), (422, "/problems/invalid-field")


@pytest.mark.parametrize("body, field, problem", [
    ({"system_template": "Hi {{ name "}, "line 1", RULE),
    ({"system_template": "ok\n{% if x %}\nno end"}, "line", RULE),
    ({"token_budget": 0}, "token_budget", SCHEMA),
    ({"context_overflow": "drop"}, "context_overflow", SCHEMA),
    ({"recall_options": {"mode": "fuzzy"}}, "mode", SCHEMA),
    ({"recall_options": {"limit": 51}}, "limit", SCHEMA),
    ({"recall_options": {"mmr_strength": 1}}, "mmr_strength", SCHEMA),
    ({"recall_options": {"max_query_length": 99}}, "max_query_length", SCHEMA),
    ({"name": ""}, "name", SCHEMA),
    ({"colour": "red"}, "colour", SCHEMA),
])
async def test_invalid_changes_are_4xx_naming_the_field(world: World, body: dict[str, Any],
                                                         field: str,
                                                         problem: tuple[int, str]) -> None:
    await seed(world, 1)
    response = await world.client.patch("/robots/sessions/s000", headers=world.auth, json=body)
    assert (response.status_code, response.json()["type"]) == problem, response.text
    assert field in response.json()["detail"]


async def test_delete_hides_the_session_but_keeps_its_events(world: World) -> None:
    await seed(world, 2, exchanges=1)
    gone = await world.client.delete("/robots/sessions/s000", headers=world.auth)
    assert gone.status_code == 204
    assert [s["id"] for s in (await get(world, "/robots/sessions"))["sessions"]] == ["s001"]
    assert (await world.client.get("/robots/sessions/s000",
                                   headers=world.auth)).status_code == 404
    history = await get(world, "/robots/sessions/s000/events")
    assert history["events"][-1]["type"] == "SessionDeleted"
    assert len(history["events"]) == 7


async def test_event_history_pages_by_version(world: World) -> None:
    await seed(world, 1, exchanges=3)  # 16 events
    first = await get(world, "/robots/sessions/s000/events?limit=10")
    assert [e["version"] for e in first["events"]] == list(range(1, 11))
    assert first["next_after"] == 10
    rest = await get(world, "/robots/sessions/s000/events?after=10&limit=10")
    assert [e["version"] for e in rest["events"]] == list(range(11, 17))
    assert "next_after" not in rest


async def test_as_of_folds_the_log_and_the_latest_fold_equals_the_read_model(
    world: World,
) -> None:
    await seed(world, 1, exchanges=3)
    await world.client.patch("/robots/sessions/s000", headers=world.auth,
                             json={"name": "renamed", "metadata": {"k": 1}})
    at_start = await get(world, "/robots/sessions/s000?as_of=1")
    assert at_start["message_list"]["messages"] == [] and at_start["name"] == "s000"
    after_one = await get(world, "/robots/sessions/s000?as_of=6")
    assert [m["id"] for m in after_one["message_list"]["messages"]] == [
        "s000-u0", "msg-s000-t0"]
    latest = await get(world, "/robots/sessions/s000?as_of=17")
    live = await get(world, "/robots/sessions/s000")
    assert latest == live
    assert live["name"] == "renamed" and live["metadata"] == {"k": 1}
    paged_fold = await get(world, "/robots/sessions/s000?as_of=17&limit=2&before=s000-u2")
    paged_live = await get(world, "/robots/sessions/s000?limit=2&before=s000-u2")
    assert paged_fold == paged_live


async def test_fork_keeps_history_up_to_the_message_and_nothing_after(world: World) -> None:
    await seed(world, 1, exchanges=3)
    await world.client.patch("/robots/sessions/s000", headers=world.auth,
                             json={"situation": "triage"})
    forked = await world.client.post("/robots/sessions/s000/fork", headers=world.auth,
                                     json={"at_message_id": "msg-s000-t1"})
    assert forked.status_code == 201, forked.text
    fork = forked.json()
    assert [m["id"] for m in fork["message_list"]["messages"]] == [
        "s000-u0", "msg-s000-t0", "s000-u1", "msg-s000-t1"]
    assert fork["situation"] == "triage" and fork["forked_from"] == "s000"
    history = await get(world, f"/robots/sessions/{fork['id']}/events")
    assert history["events"][1]["type"] == "SessionForked"
    assert history["events"][1]["data"]["at_message_id"] == "msg-s000-t1"
    bad = await world.client.post("/robots/sessions/s000/fork", headers=world.auth,
                                  json={"at_message_id": "nope"})
    assert bad.status_code == 422 and "at_message_id" in bad.text


async def test_totals_and_pages_from_either_end_match_a_plain_count(world: World) -> None:
    store, member = world.services.store, world.member
    result = None
    for i in range(45):
        author = member if i % 4 == 0 else world.admin
        result = await seed_session(store, f"p{i:02}", author=str(author.id),
                                    metadata={"tier": i % 3, "vip": i % 2 == 0})
    assert result
    await projected(store, result)
    filters = [("", {}), (f"account_id={member.id}", {"account_id": member.id}),
               ("metadata_filter.tier=1", {"metadata": {"tier": 1}}),
               ("metadata_filter.tier=1&metadata_filter.vip=true",
                {"metadata": {"tier": 1, "vip": True}})]
    orders = [("", {}), ("&sort_by=updated_at&direction=asc",
                         {"sort_by": "updated_at", "direction": "asc"})]
    for (where, filtered), (order, ordered) in itertools.product(filters, orders):
        every = await listed(world, ListQuery(limit=20, **filtered, **ordered))
        pages = max(1, math.ceil(len(every) / 20))
        for page in range(1, pages + 2):  # up to one past the end
            body = await get(world, f"/robots/sessions?{where}{order}&page={page}")
            assert [s["id"] for s in body["sessions"]] == every[(page - 1) * 20:page * 20]
            assert (body["results"], body["total_pages"]) == (len(every), pages), (where, page)
            assert body.get("next_page") == (page + 1 if page < pages else None)
        julep = await get(world, f"/sessions?{where}{order}&offset={len(every) - 3}&limit=5")
        assert [s["id"] for s in julep["items"]] == every[-3:]


async def listed(world: World, query: ListQuery) -> list[str]:
    return await plain_listing(world.services.pool, query)


class Recorder:
    """A connection that remembers each statement it runs (the listing only calls execute)."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.statements: list[tuple[str, Any]] = []

    async def execute(self, query: str, params: Any = None) -> Any:
        self.statements.append((query, params))
        return await self.conn.execute(query, params)


async def test_listing_and_paging_use_indexes(world: World) -> None:
    await seed(world, 3, exchanges=2)
    by = world.admin.id
    listings = [  # each with the index its page's ids come from, where there is one to name
        (ListQuery(limit=20), "sessions_by_created_idx"),
        (ListQuery(limit=1, offset=2), "sessions_by_created_idx"),  # backward from the end
        (ListQuery(limit=1, offset=1, sort_by="updated_at", direction="asc"),
         "sessions_by_updated_idx"),
        (ListQuery(limit=20, account_id=by), "sessions_created_by_idx"),
        (ListQuery(limit=1, offset=2, account_id=by, sort_by="updated_at"), None),
        (ListQuery(limit=20, metadata={"a": 1}), None),
        (ListQuery(limit=20, metadata={"a": 1, "b": 2}), None),  # with count(*)
        (ListQuery(limit=20, account_id=by, metadata={"a": 1}), None),  # with count(*)
    ]
    plans: list[tuple[str, Any]] = [
        ("SELECT id FROM messages WHERE session_id = 's000' AND position < 100"
         " ORDER BY position DESC LIMIT 51", []),
    ]
    async with world.services.pool.connection() as conn:
        # With sequential scans priced out, any remaining one means no index can serve it.
        await conn.execute("SET enable_seqscan = off")
        for listing, index in listings:
            recorder = Recorder(conn)
            await list_sessions(cast(Any, recorder), listing)
            plans.extend(recorder.statements)
            if index:
                plan = await explained(conn, *recorder.statements[-1])
                assert index in plan, f"{listing}\n{plan}"
        for query, params in plans:
            plan = await explained(conn, query, params)
            assert "Seq Scan" not in plan, f"{query}\n{plan}"


async def explained(conn: Any, query: str, params: Any) -> str:
    return "\n".join(r[0] for r in await (await conn.execute("EXPLAIN " + query,
                                                               params)).fetchall())
