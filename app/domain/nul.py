"""PostgreSQL text and jsonb cannot hold the NUL character. What people send with one is
refused at the API's edge (app/api/nul_text.py); what a model says is not anyone's to
refuse, so the worker drops the character before it is streamed or recorded, and the
client's message and the stored one stay equal."""

from __future__ import annotations

from typing import Any

NUL = "\x00"


def without_nul(value: Any) -> Any:
    """`value` with NUL removed from every string in it (keys included)."""
    if isinstance(value, str):
        return value.replace(NUL, "") if NUL in value else value
    if isinstance(value, dict):
        return {without_nul(k): without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_nul(v) for v in value]
    return value
