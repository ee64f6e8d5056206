"""The `Allow` header names every method of a path.

Litestar 2's automatic OPTIONS answer (and its 405) lists the methods of the first route
object it built for a path, not of every handler on it: `OPTIONS /accounts/me` said
`GET, OPTIONS` without PATCH. This send hook puts the whole set back, from the app's
routes, keyed by the route template the router matched.
"""

from __future__ import annotations

from typing import Any

from litestar.types import Message, Scope


def _methods_by_template(app: Any) -> dict[str, str]:
    found: dict[str, set[str]] = {}
    for route in app.routes:
        methods = getattr(route, "methods", None)
        if methods:
            for template in {route.path, route.path_format}:
                found.setdefault(template, set()).update(methods)
    return {template: ", ".join(sorted(methods)) for template, methods in found.items()}


async def allow_every_method(message: Message, scope: Scope) -> None:
    if message["type"] != "http.response.start":
        return
    headers = message.get("headers") or []
    if not any(name.lower() == b"allow" for name, _ in headers):
        return
    state = scope["app"].state
    table = state.get("allow_by_template")
    if table is None:
        table = state.allow_by_template = _methods_by_template(scope["app"])
    allowed = table.get(scope.get("path_template", ""))
    if allowed:
        message["headers"] = [(n, v) for n, v in headers if n.lower() != b"allow"] + [
            (b"allow", allowed.encode())]
