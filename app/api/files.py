"""Files sent in messages, served by digest: `GET /robots/files/{digest}`.

A message's file part in the log names its stored file `robots-file:sha256:<hex>`
(app/domain/files.py); the API shows it as this route's path, `/robots/files/<hex>`, which a
client resolves against the API's base URL. The bytes under a digest never change, so the
answer may be cached for good.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath

from app.api.auth import requires
from app.api.openapi import problems
from app.api.problems import ProblemError
from app.bootstrap import Services
from app.domain.accounts import Permission
from app.domain.files import is_digest, ref_digest
from app.services.files import read_file

ROUTE = "/robots/files"
# Private: the route needs a token, so shared caches must not keep the answer.
CACHE_CONTROL = "private, max-age=31536000, immutable"


def served_url(digest: str) -> str:
    return f"{ROUTE}/{digest}"


def shown_part(part: dict[str, Any]) -> dict[str, Any]:
    """A logged part as the API shows it: a stored file's URL is this route's path."""
    if part.get("type") != "file":
        return part
    digest = ref_digest(str(part.get("url", "")))
    return part if digest is None else {**part, "url": served_url(digest)}


class FilesController(Controller):
    tags = ["files"]
    # Who may read any session may read the files in it (robots are shared team tools).
    guards = [requires(Permission.USE_ROBOTS)]

    @get(f"{ROUTE}/{{digest:str}}", summary="A file sent in a message",
         responses={200: ResponseSpec(data_container=bytes, media_type="application/octet-stream",
                                      description="The file's bytes, as its stored media type"
                                                  " (an image or a PDF)",
                                      generate_examples=False),
                    **problems(403, 404)})
    async def file(self, services: NamedDependency[Services],
                   digest: FromPath[str]) -> Response[bytes]:
        """The bytes of a file a user sent in a message, by the SHA-256 digest its part's
        URL names (`/robots/files/<digest>`), with its media type. They never change: the
        answer carries an immutable cache header and the digest as its ETag."""
        stored = await read_file(services, digest) if is_digest(digest) else None
        if stored is None:
            raise ProblemError(404, f"no file with digest {digest}", slug="not-found",
                               metadata={"digest": digest})
        return Response(stored.data, media_type=stored.media_type, headers={
            "cache-control": CACHE_CONTROL, "etag": f'"{digest}"',
            "x-content-type-options": "nosniff"})
