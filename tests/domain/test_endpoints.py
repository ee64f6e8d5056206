"""The checks a configured remote endpoint's URL and secret get, whatever it is for."""

from __future__ import annotations

import pytest

from app.domain.endpoints import secret_problem, url_problem


@pytest.mark.parametrize(("url", "why"), [
    ("https://mcp.example.org/mcp", None),
    ("http://127.0.0.1:11434/v1", None),
    ("ftp://example.org", "must be an http:// or https:// URL with a host"),
    ("https://", "must be an http:// or https:// URL with a host"),
    ("https://example.org:0/", "must be an http:// or https:// URL with a host"),
    ("https://exa mple.org/", "must be an http:// or https:// URL with a host"),
    ("https://user:pw@example.org/", "must not contain credentials"),
])
def test_a_url_needs_a_scheme_and_host_and_no_credentials(url: str, why: str | None) -> None:
    assert url_problem(url, query_allowed=True) == why
    assert url_problem(url, query_allowed=False) == why


def test_a_query_is_refused_only_where_it_is_not_allowed() -> None:
    assert url_problem("https://example.org/mcp?team=a", query_allowed=True) is None
    assert url_problem("https://example.org/v1?x=1", query_allowed=False) == (
        "must not have a query string or fragment")
    assert url_problem("https://example.org/mcp#top", query_allowed=True) == (
        "must not have a fragment")


@pytest.mark.parametrize("secret", ["", "two words", "tab\there", "naïve", "bell\x07"])
def test_a_secret_is_printable_ascii_without_spaces(secret: str) -> None:
    assert secret_problem(secret) == "must be printable ASCII with no spaces"


def test_a_plain_token_passes() -> None:
    assert secret_problem("sk-abc_123.XYZ") is None
