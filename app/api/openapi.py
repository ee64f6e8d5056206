"""What the OpenAPI document says a route answers besides success: problem documents and
SSE streams. Handlers name their statuses; the wording and the schema live here, once."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import msgspec
from litestar._openapi.schema_generation.plugins.struct import StructSchemaPlugin
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Schema
from litestar.typing import FieldDefinition

from app.adapters.streams.sse import MEDIA_TYPE as SSE_MEDIA_TYPE
from app.api.problems import PROBLEM_JSON, Problem

if TYPE_CHECKING:
    from litestar._openapi.schema_generation import SchemaCreator

# Any route answers 400: a parameter holding a NUL is refused before it runs, even one the
# route does not read (app/api/nul_text.py).
EVERY_ROUTE = (400,)
# A route behind the token answers these too: the token is checked against PostgreSQL.
BEHIND_TOKEN = (401, 503)

# One line per status; `type` names the exact problem (README.md lists every one).
WHEN = {
    400: "Bad input: a parameter or body field is invalid (`metadata` names it), the body"
         " is not JSON, or a text holds a NUL character.",
    401: "No valid token: send `Authorization: Bearer <token>` or the storyden-session"
         " cookie.",
    403: "The caller may not do this: a permission it lacks, or another member's session.",
    404: "Nothing with that id.",
    409: "Conflict: a turn is active (`metadata.active_turn_id`), a name is taken, or a"
         " concurrent change came first.",
    410: "The session was deleted.",
    413: "The request body or the message is too large.",
    422: "A field names something that cannot be used here (`metadata.field`).",
    502: "The MCP server could not be reached or answered with an error"
         " (`metadata.reason`); nothing cached changed.",
    503: "PostgreSQL or Redis is unreachable: retry after `Retry-After` seconds.",
    504: "The MCP server did not answer within MCP_CALL_TIMEOUT_S; nothing cached changed.",
}


def problems(*statuses: int, public: bool = False) -> dict[int, ResponseSpec]:
    """`responses=` for a route: 400, 401 and 503 (400 alone if `public`) and `statuses`,
    each answered with a problem document (application/problem+json). Its 400 replaces the
    validation body Litestar would otherwise show, which is never what is sent."""
    listed = {*EVERY_ROUTE, *statuses, *(() if public else BEHIND_TOKEN)}
    return {status: ResponseSpec(data_container=Problem, media_type=PROBLEM_JSON,
                                 description=WHEN[status], generate_examples=False)
            for status in sorted(listed)}


class StreamEvent(msgspec.Struct, kw_only=True):
    """One event of the stream. (Before OpenAPI 3.2's `itemSchema`, the schema of a
    text/event-stream response describes each event, as SSE clients parse them.)"""

    data: Annotated[str, msgspec.Meta(
        description="A UI message stream chunk as JSON (`{\"type\": \"text-delta\", ...}`),"
                    " or `[DONE]` last")]
    id: Annotated[str, msgspec.Meta(
        description="`<turn id>:<sequence>`: send it back as `Last-Event-ID` to resume"
                    " after this event")]


def event_stream(description: str) -> dict[int, ResponseSpec]:
    """The 200 of an SSE route: the AI SDK UI message stream, as text/event-stream."""
    return {200: ResponseSpec(data_container=StreamEvent, media_type=SSE_MEDIA_TYPE,
                              description=description, generate_examples=False)}


def nothing_to_stream() -> dict[int, ResponseSpec]:
    return {204: ResponseSpec(data_container=None, description="No turn to stream.")}


class ClosedStructs(StructSchemaPlugin):
    """A body Struct that refuses unknown fields (400) says so: `additionalProperties:
    false`, as msgspec's own schema does and Litestar's leaves out."""

    def is_plugin_supported_field(self, field_definition: FieldDefinition) -> bool:
        if not super().is_plugin_supported_field(field_definition):
            return False
        info = msgspec.inspect.type_info(field_definition.type_)
        return isinstance(info, msgspec.inspect.StructType) and info.forbid_unknown_fields

    def to_openapi_schema(self, field_definition: FieldDefinition,
                          schema_creator: SchemaCreator) -> Schema:
        schema: Schema = super().to_openapi_schema(field_definition, schema_creator)
        schema.additional_properties = False
        return schema
