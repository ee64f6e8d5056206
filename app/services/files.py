"""Files in user messages, from the API's side: store what a message carries as data, and
read a stored file back.

The API checks a message's parts (app/api/user_parts.py) and hands over the files to
store; `store_files` stores them and gives back the parts the log keeps, each file named by
digest. It runs before the message is posted: no event may name a file not stored yet, and
a post retried after a failure stores the same bytes under the same key again, harmlessly.
"""

from __future__ import annotations

import msgspec

from app.adapters.files import StoredFile
from app.bootstrap import Services
from app.domain.events import Part
from app.domain.files import file_ref


class FileUpload(msgspec.Struct, frozen=True, kw_only=True):
    """A file a user sent as data, checked (its type, its bytes, its size), to store."""

    media_type: str
    data: bytes
    filename: str | None = None


async def store_files(services: Services, parts: list[Part | FileUpload]) -> list[Part]:
    """Store the message's uploads and give back its parts with each upload as the AI SDK's
    file part naming the stored file (`url`: `robots-file:sha256:<hex>`); other parts as
    they are. The same bytes always give the same part, so a retry is recognised."""
    stored = {id(p): StoredFile.of(p.media_type, p.data)
              for p in parts if isinstance(p, FileUpload)}
    await services.files.store(list(stored.values()))
    return [p if not isinstance(p, FileUpload) else _file_part(p, stored[id(p)].digest)
            for p in parts]


def _file_part(upload: FileUpload, digest: str) -> Part:
    named = {"filename": upload.filename} if upload.filename is not None else {}
    return {"type": "file", "mediaType": upload.media_type, **named, "url": file_ref(digest)}


async def read_file(services: Services, digest: str) -> StoredFile | None:
    return await services.files.get(digest)
