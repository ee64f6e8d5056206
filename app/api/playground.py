"""The web playground: its page at `/` and its files under `/playground/` (app/web/static).

Both are public: the page holds no data, and every API call it makes carries the token the
person signed in with. They are files, not operations, so the OpenAPI document leaves them
out."""

from __future__ import annotations

from functools import cache

from litestar import Response, get
from litestar.datastructures import CacheControlHeader
from litestar.enums import MediaType
from litestar.router import Router
from litestar.static_files import create_static_files_router

from app.web import STATIC_DIR

PUBLIC = {"exclude_from_auth": True}  # the key TokenAuthentication's middleware looks for
# The browser refuses whatever the page might load from elsewhere: it runs offline.
CONTENT_SECURITY_POLICY = ("default-src 'self'; img-src 'self' data: blob:; object-src 'none';"
                           " base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
# Revalidate every time (the files are small and unversioned): a new release shows at once.
REVALIDATE = CacheControlHeader(no_cache=True)


@cache
def _page() -> bytes:
    return (STATIC_DIR / "index.html").read_bytes()


@get("/", include_in_schema=False, sync_to_thread=False, opt=PUBLIC,
     cache_control=REVALIDATE)
def playground_page() -> Response[bytes]:
    """The playground's one page; its scripts route within it."""
    return Response(_page(), media_type=MediaType.HTML,
                    headers={"content-security-policy": CONTENT_SECURITY_POLICY,
                             "x-content-type-options": "nosniff"})


def playground_files() -> Router:
    """The page's scripts, style and the AI SDK bundle, from the package."""
    return create_static_files_router("/playground", [STATIC_DIR], opt=PUBLIC,
                                      name="playground", cache_control=REVALIDATE)
