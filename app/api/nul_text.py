"""Refuse NUL characters (U+0000) at the edge: PostgreSQL stores none in text or jsonb.

One check before any handler runs walks the request's path and query parameters and its
decoded JSON body, and answers 400 `invalid-text` naming the first field that holds one, so
nothing is recorded. (Stripping them instead would change what a user sent without telling.)
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request

from app.api.problems import ProblemError

NUL = "\x00"
# How JSON carries a NUL (a raw control character is not valid JSON): a body without this
# sequence holds none, so most bodies are never decoded twice.
_ESCAPED_NUL = b"\\u0000"
_BODYLESS = frozenset({"GET", "HEAD", "OPTIONS"})


def nul_at(value: Any, path: str = "") -> str | None:
    """The JSON path (`messages[0].parts[1].text`) of the first string in `value` that holds
    a NUL, a key's own path being its object's; None when there is none."""
    if isinstance(value, str):
        return path if NUL in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            if NUL in key:
                return path or key.replace(NUL, "\\u0000")
            if (found := nul_at(item, f"{path}.{key}" if path else key)) is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if (found := nul_at(item, f"{path}[{index}]")) is not None:
                return found
    return None


def invalid_text(name: str, *, parameter: bool = False) -> ProblemError:
    return ProblemError(
        400, f"{name} contains a NUL character (\\u0000), which cannot be stored",
        slug="invalid-text", metadata={"parameter" if parameter else "field": name})


def refuse_nul_in(value: Any, parameter: str) -> None:
    """For a parameter a handler decodes itself (a JSON filter): 400 if it holds a NUL."""
    if nul_at(value) is not None:
        raise invalid_text(parameter, parameter=True)


async def refuse_nul_text(request: Request[Any, Any, Any]) -> None:
    """The app's before-request hook (it runs after authentication and guards)."""
    for name, value in request.path_params.items():
        if isinstance(value, str) and NUL in value:
            raise invalid_text(name, parameter=True)
    for name, value in request.query_params.multi_items():
        if NUL in name or NUL in value:
            raise invalid_text(name.replace(NUL, "\\u0000"), parameter=True)
    if request.method in _BODYLESS:
        return
    body = await request.body()  # cached: the handler's own read costs nothing more
    if _ESCAPED_NUL not in body:
        return
    try:
        decoded = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return  # the handler answers what is wrong with it
    if (path := nul_at(decoded)) is not None:
        raise invalid_text(path)
