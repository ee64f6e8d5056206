"""Browser clients on other origins (CORS): only the origins CORS_ALLOW_ORIGINS lists.

With none listed (the default) Litestar's CORS handling is left out altogether: browsers
then keep pages of other origins from reading any answer. OPTIONS without a preflight
(or on an app without CORS) gets Litestar's own answer, 204 with `Allow`.
"""

from __future__ import annotations

from litestar.config.cors import CORSConfig

from app.config.settings import Settings

# Headers a browser client may read: the trace id to quote, how long to wait after a 503.
_EXPOSED = ["x-trace-id", "retry-after"]


def cors_config(settings: Settings) -> CORSConfig | None:
    origins = settings.cors_origins
    if not origins:
        return None
    return CORSConfig(
        allow_origins=origins,
        allow_methods=["GET", "POST", "PATCH", "DELETE"],
        allow_headers=["*"],  # the listed origin is the gate; clients add their own headers
        # The storyden-session cookie may come along from a listed origin; from "any origin"
        # never (Litestar would echo every origin back with credentials allowed).
        allow_credentials="*" not in origins,
        expose_headers=_EXPOSED,
    )
