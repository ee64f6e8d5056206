"""The rules of files in messages: how the log names a stored file, which bytes are of
which type, the size limits and what each provider reads. No database."""

from __future__ import annotations

import hashlib

import pytest

from app.domain.files import (
    SUPPORTED_TYPES,
    TooLarge,
    bytes_match,
    content_digest,
    file_ref,
    over_limit,
    ref_digest,
    unreadable,
)
from app.domain.providers import ProviderKind

STARTS = {
    "image/png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    "image/jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF",
    "image/gif": b"GIF89a\x01\x00\x01\x00",
    "image/webp": b"RIFF\x24\x00\x00\x00WEBPVP8 ",
    "application/pdf": b"%PDF-1.7\n%\xe2\xe3",
}


def test_a_stored_file_is_named_by_the_sha256_of_its_bytes() -> None:
    digest = content_digest(b"hello")
    assert digest == hashlib.sha256(b"hello").hexdigest()
    assert file_ref(digest) == f"robots-file:sha256:{digest}"
    assert ref_digest(file_ref(digest)) == digest


@pytest.mark.parametrize("url", [
    "https://example.org/cat.png", "data:image/png;base64,iVBORw0KGgo=",
    "robots-file:sha256:abc", "robots-file:sha256:" + "A" * 64, "",
])
def test_any_other_url_names_no_stored_file(url: str) -> None:
    assert ref_digest(url) is None


@pytest.mark.parametrize("media_type", SUPPORTED_TYPES)
def test_bytes_match_the_type_whose_signature_they_start_with(media_type: str) -> None:
    assert bytes_match(media_type, STARTS[media_type] + b"rest")
    others = [t for t in SUPPORTED_TYPES if t != media_type]
    assert not any(bytes_match(other, STARTS[media_type]) for other in others)


def test_both_gif_versions_match_and_a_riff_that_is_not_webp_does_not() -> None:
    assert bytes_match("image/gif", b"GIF87a....")
    assert not bytes_match("image/webp", b"RIFF\x24\x00\x00\x00WAVEfmt ")
    assert not bytes_match("image/svg+xml", b"<svg/>")
    assert not bytes_match("image/png", b"")


def test_files_within_both_limits_fit() -> None:
    assert over_limit([10, 20], per_file=20, per_message=30) is None
    assert over_limit([], per_file=1, per_message=1) is None


def test_the_first_file_over_the_per_file_limit_is_named() -> None:
    assert over_limit([5, 25, 40], per_file=20, per_message=1000) == TooLarge(1, 25, 20)


def test_files_each_small_enough_but_too_many_bytes_together_break_the_message_limit() -> None:
    assert over_limit([15, 15, 15], per_file=20, per_message=40) == TooLarge(None, 45, 40)


@pytest.mark.parametrize("kind", ["anthropic", "openai", "local", "openai-compatible"])
@pytest.mark.parametrize("by_url", [False, True])
def test_every_provider_reads_images_as_data_or_by_url(kind: ProviderKind,
                                                       by_url: bool) -> None:
    for media_type in ("image/png", "image/jpeg", "image/gif", "image/webp"):
        assert unreadable(kind, "p/m", media_type, by_url=by_url) is None


@pytest.mark.parametrize(("kind", "by_url"), [
    ("anthropic", False), ("anthropic", True), ("openai", False), ("local", False)])
def test_pdfs_are_read_where_the_api_has_a_place_for_them(kind: ProviderKind,
                                                          by_url: bool) -> None:
    assert unreadable(kind, "p/m", "application/pdf", by_url=by_url) is None


def test_an_openai_compatible_server_is_sent_no_pdf_and_the_reason_names_type_and_model(
) -> None:
    why = unreadable("openai-compatible", "ollama/llava", "application/pdf", by_url=False)
    assert why is not None
    assert "ollama/llava" in why and "application/pdf" in why and "images only" in why


@pytest.mark.parametrize("kind", ["openai", "local"])
def test_a_pdf_by_url_is_not_sent_where_pdfs_go_only_as_data(kind: ProviderKind) -> None:
    why = unreadable(kind, "openai/gpt-4.1", "application/pdf", by_url=True)
    assert why is not None
    assert "openai/gpt-4.1" in why and "application/pdf" in why and "by URL" in why
