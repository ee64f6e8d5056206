"""Check a response against a schema of the reference Storyden API, field by field."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from tests.services import cannot_check

REFERENCE = (Path(__file__).resolve().parents[3] / "shared" / "reference"
             / "storyden-robots-openapi.yaml")


@cache
def _spec() -> dict[str, Any]:
    if not REFERENCE.exists():
        missing = (f"the reference Storyden API description is expected at {REFERENCE}"
                   " (../shared/reference/storyden-robots-openapi.yaml from the repository's"
                   " root)")
        # Locally a checkout without it may skip; in CI a skip would hide every shape check.
        cannot_check(missing)
    spec: dict[str, Any] = yaml.safe_load(REFERENCE.read_text())
    return spec


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    """Follow $ref and merge allOf into one object schema."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        return _resolve(_spec()["components"]["schemas"][name])
    if "allOf" in schema:
        merged: dict[str, Any] = {"type": "object", "required": [], "properties": {}}
        for part in schema["allOf"]:
            part = _resolve(part)
            merged["required"] += part.get("required", [])
            merged["properties"].update(part.get("properties", {}))
        return merged
    return schema


_TYPES: dict[str, type | tuple[type, ...]] = {
    "string": str, "integer": int, "boolean": bool, "object": dict, "array": list,
    "number": (int, float)}


def check(value: Any, schema_name: str) -> None:
    """Assert `value` (decoded JSON) fits the named reference schema."""
    _check(value, _resolve({"$ref": f"#/components/schemas/{schema_name}"}), schema_name)


def _check(value: Any, schema: dict[str, Any], path: str) -> None:
    schema = _resolve(schema)
    kind = schema.get("type")
    if value is None:
        assert schema.get("nullable"), f"{path} is null but the reference does not allow it"
        return
    if kind:
        expected = _TYPES[kind]
        assert isinstance(value, expected) and not (kind == "integer" and isinstance(
            value, bool)), f"{path} should be {kind}, got {type(value).__name__}: {value!r}"
    if schema.get("format") == "date-time":
        datetime.fromisoformat(value)
    if "enum" in schema:
        assert value in schema["enum"], f"{path}={value!r} is not one of {schema['enum']}"
    if kind == "object" or "properties" in schema:
        for field in schema.get("required", []):
            assert field in value, f"{path} lacks required field {field!r}"
        for field, sub in schema.get("properties", {}).items():
            if field in value:
                _check(value[field], sub, f"{path}.{field}")
    if kind == "array" and "items" in schema:
        for i, item in enumerate(value):
            _check(item, schema["items"], f"{path}[{i}]")
