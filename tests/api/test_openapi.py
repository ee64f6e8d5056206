"""The OpenAPI document tells the truth: every operation lists the problems it can answer,
with our problem schema; the chat streams are event streams; each operation says what it
does; request bodies name their required fields. Expectations come from the routes
themselves (guards, path parameters, bodies), so a new route is held to them too.
tests/api/test_openapi_fuzz.py checks the answers themselves (--run-slow)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import jsonschema
import msgspec
import pytest
from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.response import Stream
from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient

from app.api.auth import PUBLIC_PATHS
from app.api.problems import PROBLEM_JSON
from tests.api.conftest import bearer

Client = AsyncTestClient  # type: ignore[type-arg]
Operation = tuple[str, str]  # (method, path template)
PROBLEM = {"schema": {"$ref": "#/components/schemas/Problem"}}
SSE_OPERATIONS = {("POST", "/robots/chat/sse"), ("GET", "/robots/sessions/{session_id}/stream"),
                  ("GET", "/robots/chat/sse/{session_id}/stream")}


@pytest.fixture
async def document(client: Client) -> dict[str, Any]:
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    served: dict[str, Any] = response.json()
    return served


@pytest.fixture
def routes(client: Client) -> dict[Operation, HTTPRouteHandler]:
    app: Litestar = client.app
    return {(method, route.path_format): handler
            for route in app.routes if isinstance(route, HTTPRoute)
            for method, (handler, _) in route.route_handler_map.items()
            if handler.resolve_include_in_schema()}


def operations(document: dict[str, Any]) -> Iterator[tuple[Operation, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if isinstance(operation, dict) and "responses" in operation:
                yield (method.upper(), path), operation


def is_public(path: str) -> bool:
    return any(re.match(pattern, path) for pattern in PUBLIC_PATHS)


def expected_problems(path: str, handler: HTTPRouteHandler) -> set[int]:
    """What any route answers, by what it is: 400 always (a NUL in any parameter), 401
    and 503 behind the token, 403 behind a guard, 404 with an id in the path, 413 with a
    body."""
    statuses = {400} if is_public(path) else {400, 401, 503}
    if handler.resolve_guards():
        statuses.add(403)
    if "{" in path:
        statuses.add(404)
    if "data" in handler.parsed_fn_signature.parameters:
        statuses.add(413)
    return statuses


def test_the_routes_and_the_document_name_the_same_operations(
        document: dict[str, Any], routes: dict[Operation, HTTPRouteHandler]) -> None:
    assert {op for op, _ in operations(document)} == set(routes)
    assert len(routes) >= 26


def test_every_error_documented_is_a_problem_document(document: dict[str, Any]) -> None:
    for op, operation in operations(document):
        for status, response in operation["responses"].items():
            if int(status) < 400 or op == ("GET", "/ready"):  # /ready's 503 is its report
                continue
            assert response["content"] == {PROBLEM_JSON: PROBLEM}, (op, status)
            assert response["description"], (op, status)
    # Litestar's own error body ({status_code, detail, extra}) is never what we send.
    assert "status_code" not in msgspec.json.encode(document["paths"]).decode()


def test_every_operation_documents_the_problems_it_can_answer(
        document: dict[str, Any], routes: dict[Operation, HTTPRouteHandler]) -> None:
    for op, operation in operations(document):
        documented = {int(s) for s in operation["responses"] if int(s) >= 400}
        missing = expected_problems(op[1], routes[op]) - documented
        assert not missing, f"{op} does not document {sorted(missing)}"


def test_public_operations_say_they_need_no_token(document: dict[str, Any]) -> None:
    for (method, path), operation in operations(document):
        needs_none = operation.get("security") == [{}]
        assert needs_none == is_public(path), (method, path)
    assert document["security"] == [{"bearer": []}]


def test_the_chat_streams_are_documented_as_event_streams(
        document: dict[str, Any], routes: dict[Operation, HTTPRouteHandler]) -> None:
    streaming = {op for op, handler in routes.items() if _returns_a_stream(handler)}
    assert streaming == SSE_OPERATIONS
    for op, operation in operations(document):
        ok = operation["responses"].get("200", {}).get("content", {})
        if op in streaming:
            assert set(ok) == {"text/event-stream"}, op
            event = document["components"]["schemas"]["StreamEvent"]
            assert ok["text/event-stream"]["schema"] == {
                "$ref": "#/components/schemas/StreamEvent"}
            assert set(event["required"]) == {"data", "id"}
        else:
            assert "text/event-stream" not in ok, op


def _returns_a_stream(handler: HTTPRouteHandler) -> bool:
    returned = handler.parsed_fn_signature.return_type
    return any(t.is_subclass_of(Stream) for t in (returned, *returned.inner_types))


def test_every_operation_says_in_a_line_what_it_does(
        document: dict[str, Any], routes: dict[Operation, HTTPRouteHandler]) -> None:
    for op, operation in operations(document):
        summary = operation.get("summary", "")
        # Our own, not Litestar's fallback: the handler's name run together ("GetRobot").
        assert summary and summary == routes[op].summary and "\n" not in summary, op
        assert operation.get("description", "").strip(), op


def test_request_bodies_name_their_required_fields(
        document: dict[str, Any], routes: dict[Operation, HTTPRouteHandler]) -> None:
    schemas = document["components"]["schemas"]
    bodies = 0
    for op, operation in operations(document):
        handler = routes[op]
        if "data" not in handler.parsed_fn_signature.parameters:
            assert "requestBody" not in operation, op
            continue
        bodies += 1
        body_type = handler.parsed_fn_signature.parameters["data"].annotation
        info = msgspec.inspect.type_info(body_type)
        assert isinstance(info, msgspec.inspect.StructType), op
        schema = schemas[body_type.__name__]
        assert operation["requestBody"]["required"] is True, op
        body = operation["requestBody"]["content"]["application/json"]["schema"]
        ref = {"$ref": f"#/components/schemas/{body_type.__name__}"}
        assert body == ref or body["allOf"] == [ref], op  # allOf: beside its examples
        required = sorted(f.encode_name for f in info.fields if f.required)
        assert sorted(schema.get("required", [])) == required, op
        # A body that refuses unknown fields (400) says so.
        assert (schema.get("additionalProperties") is False) == info.forbid_unknown_fields, op
    assert bodies >= 8
    assert set(schemas["ChatRequest"]["required"]) == {"id", "messages"}
    assert schemas["ChatRequest"]["properties"]["id"]["pattern"]
    chat = document["paths"]["/robots/chat/sse"]["post"]["requestBody"]["content"]
    examples = chat["application/json"]["schema"]["examples"]  # a chat to start from
    assert examples
    for example in examples:
        jsonschema.validate(example, {"$ref": "#/components/schemas/ChatRequest",
                                      "components": document["components"]})


async def test_the_problems_sent_are_what_the_document_describes(
        client: Client, document: dict[str, Any], member_token: str) -> None:
    answers = {
        ("GET", "/robots/sessions", 401): await client.get("/robots/sessions"),
        ("GET", "/robots/providers", 403): await client.get(
            "/robots/providers", headers=bearer(member_token)),
        ("GET", "/robots/sessions/{session_id}", 404): await client.get(
            "/robots/sessions/no-such-session", headers=bearer(member_token)),
        ("PATCH", "/accounts/me", 400): await client.patch(
            "/accounts/me", headers=bearer(member_token), content=b'{"name": '),
        ("GET", "/robots", 400): await client.get(
            "/robots?page=0", headers=bearer(member_token)),
    }
    for (method, path, status), response in answers.items():
        documented = document["paths"][path][method.lower()]["responses"][str(status)]
        assert response.status_code == status, (path, response.text)
        media_type = response.headers["content-type"].split(";")[0]
        assert media_type in documented["content"], (path, media_type)
        schema = {**documented["content"][media_type]["schema"],
                  "components": document["components"]}
        jsonschema.validate(response.json(), schema)
