"""A tool call's input: an object, checked against its tool's schema. No database."""

from __future__ import annotations

from typing import Any

import pytest

from app.domain.tool_input import as_object, parse_input
from app.domain.tools import TOOLS


@pytest.mark.parametrize(("arguments", "expected"), [
    ('{"tz": "UTC", "n": [1]}', {"tz": "UTC", "n": [1]}),
    ("{}", {}),
    ("", {}),
    ('{"tz": "UT', {}),
    ("[1, 2]", {}),
    ("null", {}),
])
def test_arguments_are_the_object_the_model_sent_or_empty(arguments: str,
                                                            expected: dict[str, Any]) -> None:
    assert as_object(arguments) == expected


def test_an_input_that_fits_the_schema_can_run() -> None:
    assert parse_input("robot_get", '{"robot_id": "x"}', TOOLS) == ({"robot_id": "x"}, None)


@pytest.mark.parametrize(("name", "arguments", "says"), [
    ("robot_get", '{"robot_id": ', "not valid JSON"),
    ("robot_get", "[1]", "must be a JSON object"),
    ("robot_get", '{"id": "x"}', "does not match the tool's schema"),
    ("launch", "{}", "there is no tool named 'launch'"),
])
def test_an_input_that_cannot_run_says_why(name: str, arguments: str, says: str) -> None:
    _, error = parse_input(name, arguments, TOOLS)
    assert error is not None and says in error
