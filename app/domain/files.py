"""Files in user messages (images and PDFs): which types are taken, how the log names a
stored file, how large a message's files may be, and which providers can read what.
Pure rules, no I/O.

A file sent as data is stored once, keyed by the SHA-256 of its bytes, outside the event
log (app/adapters/files.py says why). The message's part in the log keeps the AI SDK's shape
`{type: "file", mediaType, filename?, url}` with a URL of our own scheme naming the digest,
`robots-file:sha256:<hex>`, which the API shows as `/robots/files/<hex>`. A file sent as an
`https:` URL is kept as that URL: nothing is fetched, the provider fetches it.
"""

from __future__ import annotations

import hashlib
import re
from typing import Literal, NamedTuple

from app.domain.providers import ProviderKind

IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")
PDF = "application/pdf"
SUPPORTED_TYPES = (*IMAGE_TYPES, PDF)
REF_PREFIX = "robots-file:sha256:"
_DIGEST = re.compile(r"^[0-9a-f]{64}$")

FileKind = Literal["image", "pdf"]
Carried = Literal["data", "url"]


def content_digest(data: bytes) -> str:
    """The key a file is stored under: its bytes' SHA-256, in lowercase hex."""
    return hashlib.sha256(data).hexdigest()


def is_digest(text: str) -> bool:
    return _DIGEST.match(text) is not None


def file_ref(digest: str) -> str:
    """The URL a logged part names a stored file by."""
    return REF_PREFIX + digest


def ref_digest(url: str) -> str | None:
    """The digest a logged part's URL names; None for any other URL (an https one)."""
    digest = url.removeprefix(REF_PREFIX)
    return digest if digest != url and is_digest(digest) else None


# What each file type's bytes begin with: any one of its signatures, each a few (offset,
# bytes) that must all be there. A file whose bytes are not of its declared type would be
# refused by the provider at every turn of the session from then on; refusing it when it is
# posted says so to the one who can fix it.
_Signature = tuple[tuple[int, bytes], ...]
_SIGNATURES: dict[str, tuple[_Signature, ...]] = {
    "image/png": (((0, b"\x89PNG\r\n\x1a\n"),),),
    "image/jpeg": (((0, b"\xff\xd8\xff"),),),
    "image/gif": (((0, b"GIF87a"),), ((0, b"GIF89a"),)),
    "image/webp": (((0, b"RIFF"), (8, b"WEBP")),),
    PDF: (((0, b"%PDF-"),),),
}


def bytes_match(media_type: str, data: bytes) -> bool:
    """Whether `data` begins as a file of `media_type` does (its magic number)."""
    return any(all(data[at:at + len(magic)] == magic for at, magic in signature)
               for signature in _SIGNATURES.get(media_type, ()))


class TooLarge(NamedTuple):
    """A message's files over a limit: the file at `file_index` alone, or (None) all of
    them together."""

    file_index: int | None
    size: int
    limit: int


def over_limit(sizes: list[int], *, per_file: int, per_message: int) -> TooLarge | None:
    """The first limit the files of one message (their sizes in bytes, in order) break:
    a file over `per_file`, else all of them over `per_message`; None when they fit."""
    for index, size in enumerate(sizes):
        if size > per_file:
            return TooLarge(index, size, per_file)
    total = sum(sizes)
    return TooLarge(None, total, per_message) if total > per_message else None


def kind_of(media_type: str) -> FileKind:
    return "pdf" if media_type == PDF else "image"


# What a provider's API reads, by kind of provider. Anthropic's Messages API takes images
# and PDFs as data or by URL. OpenAI's chat completions take images as data or by URL, and
# PDFs only as data (its `file` part has no URL). Servers that only speak OpenAI's dialect
# (Ollama, vLLM, llama.cpp) take `image_url` parts, for models with vision, and no `file`
# parts. The local model reads what the OpenAI dialect carries. Whether one model of a
# provider has vision is not known here: the provider's own refusal ends the turn then.
READS: dict[ProviderKind, dict[FileKind, frozenset[Carried]]] = {
    "anthropic": {"image": frozenset({"data", "url"}), "pdf": frozenset({"data", "url"})},
    "openai": {"image": frozenset({"data", "url"}), "pdf": frozenset({"data"})},
    "local": {"image": frozenset({"data", "url"}), "pdf": frozenset({"data"})},
    "openai-compatible": {"image": frozenset({"data", "url"})},
}
_PROVIDER_NAMES: dict[ProviderKind, str] = {
    "anthropic": "Anthropic", "openai": "OpenAI", "local": "the local model",
    "openai-compatible": "an OpenAI-compatible server"}


def unreadable(kind: ProviderKind, model: str, media_type: str, *, by_url: bool) -> str | None:
    """Why `model` (`provider/model`, on a provider of `kind`) cannot be sent a file of
    `media_type` (carried as data, or by URL): a sentence naming both, for the turn's
    error; None when it can."""
    carried = READS[kind].get(kind_of(media_type), frozenset())
    provider = _PROVIDER_NAMES[kind]
    if not carried:
        return (f"the model {model} cannot read {media_type} files: {provider} takes "
                f"{_readable(kind)} only; pick a robot with a model that reads them")
    if ("url" if by_url else "data") not in carried:
        how = "by URL" if by_url else "as data"
        other = "the file itself (a data: URL)" if by_url else "an https: URL"
        return (f"the model {model} cannot read {media_type} files sent {how}: {provider}"
                f" takes them only as {'data' if by_url else 'URLs'}; send {other}")
    return None


def _readable(kind: ProviderKind) -> str:
    return " and ".join("images" if k == "image" else "PDFs" for k in READS[kind])
