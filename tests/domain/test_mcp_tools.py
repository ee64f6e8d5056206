"""MCP tools without a server: names, what can be offered, what a result becomes, and the
catalog a turn reads (prompt, input check, idempotency, runner). No database."""

from __future__ import annotations

from typing import Any

import pytest

from app.domain.mcp_servers import (
    CALLABLE_NAME,
    MAX_OUTPUT_CHARS,
    RESERVED_SLUGS,
    CachedTool,
    McpToolTarget,
    call_output,
    callable_name,
    listed_tool,
    parse_tool_id,
    slug_problem,
    tool_id,
    tool_info,
)
from app.domain.tool_catalog import McpTool, catalog_of
from app.domain.tool_input import parse_input

SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}


def cached(name: str, **annotations: Any) -> CachedTool:
    return CachedTool(name=name, description=f"{name} things", input_schema=SCHEMA,
                      annotations=annotations)


def mcp(slug: str, tool: CachedTool, enabled: bool = True) -> McpTool:
    return McpTool(info=tool_info(slug, enabled, tool),
                   target=McpToolTarget(server_id=f"server-{slug}", tool=tool.name))


def test_a_tool_is_named_by_its_servers_slug() -> None:
    assert tool_id("wx", "forecast") == "mcp:wx:forecast"
    assert callable_name("wx", "forecast") == "wx_forecast"
    assert parse_tool_id("mcp:wx:forecast") == ("wx", "forecast")
    # A tool's own name may hold the separator: only the slug cannot.
    assert parse_tool_id(tool_id("wx", "a:b")) == ("wx", "a:b")
    assert parse_tool_id("current_time") is None and parse_tool_id("mcp:wx") is None


@pytest.mark.parametrize("tool", ["files.read", "files/read", "x" * 80, "naïve", "a b"])
def test_a_name_the_providers_refuse_is_made_callable_and_stays_distinct(tool: str) -> None:
    name = callable_name("docs", tool)
    assert CALLABLE_NAME.fullmatch(name) and name.startswith("docs_")
    assert name != callable_name("docs", tool.replace(".", "_").replace("/", "_") + "2")
    assert callable_name("docs", tool) == name  # the same every time


def test_slugs_that_would_take_a_native_tools_name_are_reserved() -> None:
    assert {"robot", "session", "current"} <= RESERVED_SLUGS
    assert slug_problem("robot") and "reserved" in (slug_problem("robot") or "")
    assert slug_problem("weather") is None


def test_a_tool_may_run_twice_only_when_its_server_says_it_only_reads() -> None:
    assert tool_info("wx", True, cached("f", readOnlyHint=True)).idempotent is True
    assert tool_info("wx", True, cached("f", idempotentHint=True)).idempotent is False
    assert tool_info("wx", True, cached("f", readOnlyHint="yes")).idempotent is False
    assert tool_info("wx", True, cached("f")).idempotent is False
    info = tool_info("wx", False, cached("f"))
    assert (info.source, info.available, info.requires_confirmation) == ("mcp", False, False)


@pytest.mark.parametrize(("wire", "says"), [
    ({"inputSchema": SCHEMA}, "no name"),
    ({"name": "f", "inputSchema": {"type": "string"}}, "type object"),
    ({"name": "f"}, "type object"),
    ({"name": "f", "inputSchema": {"type": "object", "properties": {"a": {"type": "x"}}}},
     "not a valid JSON Schema"),
])
def test_a_listed_tool_that_cannot_be_offered_says_why(wire: dict[str, Any], says: str) -> None:
    reason = listed_tool(wire)
    assert isinstance(reason, str) and says in reason


def test_a_listed_tool_keeps_its_title_and_annotations_and_loses_nul() -> None:
    tool = listed_tool({"name": "f", "description": "a\x00b", "inputSchema": SCHEMA,
                        "annotations": {"title": "Forecast", "readOnlyHint": True}})
    assert tool == CachedTool(name="f", title="Forecast", description="ab", input_schema=SCHEMA,
                              annotations={"title": "Forecast", "readOnlyHint": True})


@pytest.mark.parametrize(("result", "expected"), [
    ({"content": [{"type": "text", "text": "{}"}], "structuredContent": {"sky": "clear"}},
     ({"sky": "clear"}, None)),
    ({"content": [{"type": "text", "text": "HI"}, {"type": "text", "text": "THERE"}]},
     ({"text": "HI\nTHERE"}, None)),
    ({"content": [], "structuredContent": [1, 2]}, ({"result": [1, 2]}, None)),
    ({"content": [{"type": "image", "data": "...", "mimeType": "image/png"}]},
     ({"text": "[image content: image/png]"}, None)),
    ({"content": [{"type": "text", "text": "closed\x00"}], "isError": True}, (None, "closed")),
    ({"isError": True}, (None, "the tool reported an error and said nothing")),
])
def test_a_result_becomes_the_output_or_the_error_the_model_reads(
    result: dict[str, Any], expected: tuple[Any, Any],
) -> None:
    assert call_output(result) == expected


def test_an_output_too_long_for_the_log_is_cut_and_says_so() -> None:
    huge = "x" * (MAX_OUTPUT_CHARS + 10)
    output, error = call_output({"content": [{"type": "text", "text": huge}],
                                 "structuredContent": {"blob": huge}})
    assert error is None and output is not None
    assert output["truncated"] is True and len(output["text"]) == MAX_OUTPUT_CHARS


def test_the_catalog_is_the_robots_tools_in_its_order_available_and_known_only() -> None:
    forecast, shout = cached("forecast", readOnlyHint=True), cached("shout")
    found = {"mcp:wx:forecast": mcp("wx", forecast), "mcp:wx:shout": mcp("wx", shout),
             "mcp:off:forecast": mcp("off", forecast, enabled=False)}
    catalog = catalog_of(["mcp:wx:shout", "current_time", "mcp:gone:x", "mcp:off:forecast",
                          "launch_rockets", "mcp:wx:forecast"], found)
    assert list(catalog.tools) == ["wx_shout", "current_time", "wx_forecast"]
    assert catalog.mcp == {"wx_shout": McpToolTarget(server_id="server-wx", tool="shout"),
                           "wx_forecast": McpToolTarget(server_id="server-wx", tool="forecast")}
    assert catalog.is_idempotent("wx_forecast") and not catalog.is_idempotent("wx_shout")
    assert not catalog.is_idempotent("off_forecast") and catalog.is_idempotent("current_time")
    # A native tool another robot offered (before a switch) is still known by its name.
    assert catalog.is_idempotent("robot_get") and catalog.tool("robot_get") is not None
    assert catalog.tool("off_forecast") is None


def test_the_first_tool_keeps_a_callable_name_two_would_share() -> None:
    one = mcp("wx", cached("forecast"))
    clash = McpTool(info=tool_info("wx", True, cached("forecast", readOnlyHint=True)),
                    target=McpToolTarget(server_id="other", tool="forecast"))
    catalog = catalog_of(["mcp:wx:forecast", "mcp:wx:again"],
                         {"mcp:wx:forecast": one, "mcp:wx:again": clash})
    assert catalog.mcp == {"wx_forecast": one.target}


def test_a_call_is_checked_against_the_mcp_tools_own_schema() -> None:
    catalog = catalog_of(["mcp:wx:forecast"], {"mcp:wx:forecast": mcp("wx", cached("forecast"))})
    assert parse_input("wx_forecast", '{"city": "Oslo"}', catalog.tools) == (
        {"city": "Oslo"}, None)
    _, error = parse_input("wx_forecast", '{"town": "Oslo"}', catalog.tools)
    assert error is not None and "city" in error


def test_a_schema_that_cannot_be_checked_refuses_the_call_instead_of_failing_the_turn() -> None:
    broken = CachedTool(name="f", input_schema={
        "type": "object", "properties": {"a": {"$ref": "https://schemas.invalid/a.json"}}})
    catalog = catalog_of(["mcp:wx:f"], {"mcp:wx:f": mcp("wx", broken)})
    _, error = parse_input("wx_f", '{"a": 1}', catalog.tools)
    assert error is not None and "cannot be checked" in error
