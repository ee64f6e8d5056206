"""MCP servers as a source of tools: how a server's tools are named for robots and models,
which of them can be offered, and what a call's result becomes for the model. No I/O: the
store is app/adapters/mcp_servers.py, the SDK app/adapters/mcp_client.py."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from datetime import datetime
from typing import Any

import jsonschema
import msgspec

from app.domain.nul import without_nul
from app.domain.tools import NATIVE_TOOLS, ToolInfo

# A slug has no `_`: `<slug>_<tool>` then splits one way only, so two servers' tools can
# never share a callable name. Short enough to leave most of 64 characters to the tool.
SLUG_PATTERN = r"^[a-z][a-z0-9-]{0,31}$"
# The callable names both OpenAI and Anthropic accept.
CALLABLE_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
# Slugs that would give a tool a native tool's callable name (robot_list, session_get, ...).
RESERVED_SLUGS = frozenset(t.callable_name.split("_")[0] for t in NATIVE_TOOLS
                           if "_" in t.callable_name)
TOOL_ID_PREFIX = "mcp:"
# What a call may hand the model, in characters of JSON: an MCP server's answer goes into
# the log and every later prompt of the session.
MAX_OUTPUT_CHARS = 100_000


class CachedTool(msgspec.Struct, frozen=True, kw_only=True):
    """One tool as the server listed it at the last refresh."""

    name: str
    title: str | None = None
    description: str = ""
    input_schema: dict[str, Any]
    annotations: dict[str, Any] = {}


class McpToolTarget(msgspec.Struct, frozen=True, kw_only=True):
    """Where a call of an MCP tool goes: the server (by id) and the tool's own name."""

    server_id: str
    tool: str


def slug_problem(slug: str) -> str | None:
    """Why `slug` cannot name a server's tools (None when it can); the pattern itself is
    checked where the request is read."""
    if slug in RESERVED_SLUGS:
        return (f"the slug {slug!r} is reserved: its tools' names would clash with the"
                f" native tools (reserved: {', '.join(sorted(RESERVED_SLUGS))})")
    return None


def tool_id(slug: str, tool: str) -> str:
    """The id robots store: `mcp:<slug>:<tool>`."""
    return f"{TOOL_ID_PREFIX}{slug}:{tool}"


def parse_tool_id(value: str) -> tuple[str, str] | None:
    """(slug, tool) of an MCP tool id, None for any other id."""
    if not value.startswith(TOOL_ID_PREFIX):
        return None
    slug, sep, tool = value.removeprefix(TOOL_ID_PREFIX).partition(":")
    return (slug, tool) if sep and slug and tool else None


def callable_name(slug: str, tool: str) -> str:
    """`<slug>_<tool>`, the name the model calls. A tool whose name has characters the
    providers refuse (MCP allows `.` and `/`), or that is too long, gets them replaced and
    a digest of its real name on the end, so no two tools end up with one name."""
    name = f"{slug}_{tool}"
    if CALLABLE_NAME.fullmatch(name):
        return name
    digest = hashlib.sha256(tool.encode()).hexdigest()[:8]
    cleaned = re.sub(r"[^a-zA-Z0-9_-]", "_", name)
    return f"{cleaned[:64 - len(digest) - 1]}_{digest}"


def tool_info(slug: str, enabled: bool, tool: CachedTool) -> ToolInfo:
    """The tool as `GET /robots/tools` lists it. A call may run twice (after a lost worker)
    only if the server says the tool only reads."""
    return ToolInfo(
        id=tool_id(slug, tool.name), callable_name=callable_name(slug, tool.name),
        name=tool.title or tool.name, description=tool.description, source="mcp",
        available=enabled, requires_confirmation=False, input_schema=tool.input_schema,
        idempotent=tool.annotations.get("readOnlyHint") is True)


def listed_tool(wire: dict[str, Any]) -> CachedTool | str:
    """A tool from a `tools/list` answer (its JSON form), or why it cannot be offered.
    NUL is dropped: PostgreSQL cannot store it."""
    wire = without_nul(wire)
    name = wire.get("name")
    if not isinstance(name, str) or not name:
        return "it has no name"
    schema = wire.get("inputSchema")
    if not isinstance(schema, dict) or schema.get("type") != "object":
        return "its inputSchema is not a JSON Schema of type object"
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        return f"its inputSchema is not a valid JSON Schema: {exc.message}"
    annotations = wire.get("annotations")
    title = wire.get("title") or (annotations or {}).get("title")
    description = wire.get("description")
    return CachedTool(name=name, title=title if isinstance(title, str) else None,
                      description=description if isinstance(description, str) else "",
                      input_schema=schema,
                      annotations=annotations if isinstance(annotations, dict) else {})


def call_output(result: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
    """(output, error) of a `tools/call` result (its JSON form): the structured content if
    the server gave one, else its text; an error when the server says the call failed
    (`isError`). Over MAX_OUTPUT_CHARS the text is cut, and says so."""
    text = _text(result.get("content"))
    if result.get("isError") is True:
        return None, without_nul(_cut(text or "the tool reported an error and said nothing"))
    structured = result.get("structuredContent")
    if structured is not None:
        output = structured if isinstance(structured, dict) else {"result": structured}
        if len(json.dumps(output)) <= MAX_OUTPUT_CHARS:
            return without_nul(output), None
    cut = _cut(text)
    return without_nul({"text": cut} if cut == text else {"text": cut, "truncated": True}), None


def _text(content: Any) -> str:
    """Text blocks as they are; other blocks (images, audio, resources) named, since the
    model cannot see them through a tool result here."""
    said: list[str] = []
    for block in content if isinstance(content, list) else []:
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "text":
            said.append(str(block.get("text", "")))
        elif kind in ("resource_link", "resource"):
            uri = block.get("uri") or (block.get("resource") or {}).get("uri", "")
            said.append(f"[{kind}: {uri}]")
        elif kind:
            said.append(f"[{kind} content: {block.get('mimeType', 'unknown type')}]")
    return "\n".join(said)


def _cut(text: str) -> str:
    return text if len(text) <= MAX_OUTPUT_CHARS else text[:MAX_OUTPUT_CHARS]


class McpServer(msgspec.Struct, frozen=True, kw_only=True):
    """A registered server and the tools it listed at its last refresh (the bearer token
    only as a Fernet token)."""

    id: uuid.UUID
    name: str
    slug: str
    url: str
    description: str
    enabled: bool
    bearer_token_encrypted: bytes | None
    created_at: datetime
    updated_at: datetime
    tools_refreshed_at: datetime | None = None
    tools: list[CachedTool] = []

    def __repr__(self) -> str:  # the token is harmless without the secret; still, keep it out
        return f"McpServer(slug={self.slug!r}, url={self.url!r})"

    def tool_infos(self) -> list[ToolInfo]:
        return [tool_info(self.slug, self.enabled, t) for t in self.tools]
