"""The API against its own OpenAPI document, fuzzed by schemathesis on the processes as they
are deployed (`robots serve`, `worker`, `project`, the local model; real PostgreSQL and
Redis): no 5xx, no status, content type, header or body the document does not describe, a
405 with a true `Allow` for a method it does not list, and a 401 without the token. Slow:
runs with `--run-slow`; `make fuzz` runs it with a few examples per operation.

Every generated request is sent as generated (unknown ids, mostly) and then, where it has
path parameters, again with the ids of a seeded robot and session, so that the fuzzer
reaches past the 404s into the handlers."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks

from app.api.app import create_app
from app.config.settings import Settings
from tests.api.served import Served, served_stack
from tests.services import FoundServices

# Random examples per operation (schemathesis's boundary cases come on top); FUZZ_MAX_EXAMPLES=5
# is CI's bounded run (`make fuzz`).
MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "50"))
# A stream that neither ends nor sends anything for this long is a failure too.
REQUEST_TIMEOUT_S = 10
# Not `negative_data_rejection`: Litestar converts request values leniently (`0` for false,
# `"5"` for 5), so some data the document calls invalid is taken as meant; that is leniency,
# not an answer the document does not describe.
CHECKS = [getattr(checks, name) for name in (
    "not_a_server_error", "status_code_conformance", "content_type_conformance",
    "response_headers_conformance", "response_schema_conformance",
    "unsupported_method", "allow_header_conformance", "ignored_auth",
)]


# The app's document, built without a server so that the tests can be collected (and
# skipped) without one; `served` checks that it is the very document the API serves.
# (schemathesis's lazy `from_fixture` loader does not run under pytest 9.)
DOCUMENT = create_app(Settings()).openapi_schema.to_schema()
schema = schemathesis.openapi.from_dict(DOCUMENT)


@pytest.fixture(scope="module")
async def served(services: FoundServices) -> AsyncIterator[Served]:
    async with served_stack(services.postgres_admin_url, services.redis_url) as running:
        with running.client() as http:
            assert http.get("/schema/openapi.json").json() == DOCUMENT
        yield running


@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
def test_every_answer_is_one_the_document_describes(case: Any, served: Served) -> None:
    call = {"base_url": served.url, "headers": served.auth, "checks": CHECKS,
            "timeout": REQUEST_TIMEOUT_S}
    case.call_and_validate(**call)
    if real := real_ids(case, served):
        case.path_parameters = {**case.path_parameters, **real}
        if isinstance(case.body, dict) and "at_message_id" in case.body:  # a fork's point
            case.body = {**case.body, "at_message_id": served.message_id}
        case.call_and_validate(**call)


def real_ids(case: Any, served: Served) -> dict[str, str]:
    """Ids that exist, for the path parameters `case` has; a DELETE gets a thing of its
    own to delete, so that the seeded ones stay for the other operations."""
    names = set(case.path_parameters or {})
    if case.method.upper() == "DELETE":
        return _disposable(names, served)
    known = {"robot_id": served.robot_id, "session_id": served.session_id,
             "turn_id": served.turn_id, "provider": "local"}
    return {name: known[name] for name in names if name in known}


def _disposable(names: set[str], served: Served) -> dict[str, str]:
    with served.client() as http:
        if "robot_id" in names:
            robot = http.post("/robots", json={"name": f"doomed-{uuid.uuid4().hex[:8]}",
                                               "description": "", "playbook": ""})
            robot.raise_for_status()
            return {"robot_id": robot.json()["id"]}
        if "session_id" in names:
            session_id = f"doomed-{uuid.uuid4().hex[:8]}"
            http.post("/robots/sessions", json={"id": session_id, "messages": [
                {"id": "m1", "role": "user", "parts": [{"type": "text", "text": "Hi"}]},
            ]}).raise_for_status()
            return {"session_id": session_id}
    return {}
