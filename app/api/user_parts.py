"""The parts of a user's message as the chat API takes them: text, and the AI SDK's `file`
parts carrying images (PNG, JPEG, GIF, WebP) and PDFs.

- Text parts: `{type: "text", text}`, at most MAX_TEXT characters together; they may be
  left out (or blank) when the message has a file. 413 `message-too-long` past it.
- File parts: `{type: "file", mediaType, url, filename?}`.
  - `mediaType` not one of the types above: 422 `unsupported-file-type` (well formed, but
    nothing this service sends to a model; `metadata.supported` lists what is).
  - `url` a base64 `data:` URL whose type is `mediaType` and whose bytes are of that type,
    or an `https:` URL, kept as given (nothing is fetched: the provider fetches it).
    Anything else, a data URL of another type, bytes of another type: 400
    `invalid-request` naming the part's field.
  - One file over `max_file_bytes`, or a message's files together over
    `max_message_file_bytes` (decoded sizes): 413 `file-too-large` with the limit.
- Parts of other types are left out, as before.

A message needs some text or a file. What this gives back is ready for
app/services/files.py, which stores the files sent as data.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any
from urllib.parse import urlsplit

from app.api.problems import ProblemError
from app.config.settings import Settings
from app.domain.events import Part
from app.domain.files import SUPPORTED_TYPES, bytes_match, over_limit
from app.services.files import FileUpload

MAX_TEXT = 100_000
MAX_FILENAME = 255
MAX_URL = 4096
LITESTAR_BODY_LIMIT = 10_000_000  # Litestar's default request_max_body_size
_DATA_URL = re.compile(r"data:([^,;]*)((?:;[^,;]*)*),", re.IGNORECASE)


def chat_body_limit(settings: Settings) -> int:
    """The largest chat request body read (Litestar's default, 10 MB, would refuse an
    allowed message of files before we see it, with its own `too-large`). Room for twice the
    message's files as base64 data URLs: a message somewhat past the limits is still read
    and answered `file-too-large` with the limit it broke, and useChat's default transport
    sends the earlier messages (their files too) with each post."""
    as_data = 4 * -(-settings.max_message_file_bytes // 3)
    return max(LITESTAR_BODY_LIMIT, 2 * as_data + 6 * MAX_TEXT + 1024 * 1024)


def user_parts(parts: list[dict[str, Any]], settings: Settings,
               field: str) -> list[Part | FileUpload]:
    """The message's parts as posted: text parts, and each file part as a FileUpload (sent
    as data) or as the part itself (an https URL). `field` is the parts' JSON path, for
    problems. Raises ProblemError (see the module's docstring)."""
    kept: list[Part | _Data] = []
    for index, part in enumerate(parts):
        if part.get("type") == "text":
            if not isinstance(part.get("text"), str):
                raise _invalid(f"{field}[{index}].text", "a text part's text must be a string")
            kept.append({"type": "text", "text": part["text"]})
        elif part.get("type") == "file":
            kept.append(_file(part, f"{field}[{index}]"))
    texts = [p["text"] for p in kept if isinstance(p, dict) and p["type"] == "text"]
    has_files = len(texts) < len(kept)
    if not kept:
        raise _invalid(field, "the last message needs a text part {type: 'text', text} or a"
                              " file part {type: 'file', mediaType, url}")
    if not "".join(texts).strip():
        if not has_files:
            raise _invalid(field, "the message text is empty")
        kept = [p for p in kept if not (isinstance(p, dict) and p["type"] == "text")]
    if sum(map(len, texts)) > MAX_TEXT:
        raise ProblemError(413, f"the message is longer than {MAX_TEXT} characters",
                           slug="message-too-long", metadata={"field": field})
    _check_sizes(kept, settings, field)
    return [p.decoded() if isinstance(p, _Data) else p for p in kept]


class _Data:
    """A file part's data URL, checked but not yet decoded (its size is known first)."""

    def __init__(self, field: str, media_type: str, payload: str,
                 filename: str | None) -> None:
        self.field, self.media_type, self.payload = field, media_type, payload
        self.filename = filename
        # Exactly the decoded size when the payload is valid base64 (checked on decoding).
        self.size = len(payload) * 3 // 4 - (len(payload) - len(payload.rstrip("=")))

    def decoded(self) -> FileUpload:
        try:
            data = base64.b64decode(self.payload, validate=True)
        except (binascii.Error, ValueError):
            raise _invalid(f"{self.field}.url", "the data URL is not valid base64") from None
        if not bytes_match(self.media_type, data):
            raise _invalid(f"{self.field}.url",
                           f"the file's bytes are not {self.media_type}, as its mediaType says")
        return FileUpload(media_type=self.media_type, data=data, filename=self.filename)


def _file(part: dict[str, Any], field: str) -> Part | _Data:
    media_type, url, filename = part.get("mediaType"), part.get("url"), part.get("filename")
    if not isinstance(media_type, str):
        raise _invalid(f"{field}.mediaType", "a file part needs a mediaType string")
    media_type = media_type.strip().lower()
    if media_type not in SUPPORTED_TYPES:
        raise ProblemError(422, f"files of type {media_type!r} are not supported; send one of"
                                f" {', '.join(SUPPORTED_TYPES)}",
                           slug="unsupported-file-type", metadata={
                               "field": f"{field}.mediaType", "media_type": media_type,
                               "supported": list(SUPPORTED_TYPES)})
    if filename is not None and (not isinstance(filename, str)
                                 or not 0 < len(filename) <= MAX_FILENAME):
        raise _invalid(f"{field}.filename", f"a filename is a string of 1-{MAX_FILENAME}"
                                            " characters")
    if not isinstance(url, str):
        raise _invalid(f"{field}.url", "a file part needs a url: a data: or https: URL")
    if (data := _DATA_URL.match(url)) is not None:
        declared = data.group(1).strip().lower()
        if declared != media_type:
            raise _invalid(f"{field}.url", f"the data URL's type {declared or '(none)'!r} is"
                                           f" not the part's mediaType {media_type!r}")
        if "base64" not in [p.strip().lower() for p in data.group(2).split(";")]:
            raise _invalid(f"{field}.url", "a data URL must be base64 (data:<type>;base64,...)")
        return _Data(field, media_type, url[data.end():], filename)
    if url.lower().startswith("https://") and len(url) <= MAX_URL and urlsplit(url).hostname:
        named = {"filename": filename} if filename is not None else {}
        return {"type": "file", "mediaType": media_type, **named, "url": url}
    raise _invalid(f"{field}.url", f"a file's url must be a base64 data: URL or an https: URL"
                                   f" of at most {MAX_URL} characters")


def _check_sizes(parts: list[Part | _Data], settings: Settings, field: str) -> None:
    sent = [p for p in parts if isinstance(p, _Data)]
    broken = over_limit([p.size for p in sent], per_file=settings.max_file_bytes,
                        per_message=settings.max_message_file_bytes)
    if broken is None:
        return
    if broken.file_index is None:
        what = "the message's files together are"
    else:
        what, field = "the file is", f"{sent[broken.file_index].field}.url"
    raise ProblemError(413, f"{what} {broken.size} bytes, over the limit of {broken.limit}",
                       slug="file-too-large", metadata={
                           "field": field, "size_bytes": broken.size,
                           "limit_bytes": broken.limit})


def _invalid(field: str, detail: str) -> ProblemError:
    return ProblemError(400, detail, slug="invalid-request", metadata={"field": field})
