"""The checks every configured remote endpoint gets, whichever service it is for (a
provider's base URL and API key, an MCP server's URL and bearer token): pure, each returns
why the value cannot be used, or None. Callers name their own field."""

from __future__ import annotations

from urllib.parse import urlsplit


def secret_problem(secret: str) -> str | None:
    """A token or key sent in a header: printable ASCII, no spaces (checked stripped: a
    pasted one often carries a newline). The answer never quotes it: it is a secret."""
    if not secret or not secret.isascii() or not all(c.isprintable() and not c.isspace()
                                                      for c in secret):
        return "must be printable ASCII with no spaces"
    return None


def url_problem(url: str, *, query_allowed: bool) -> str | None:
    """An http(s) URL with a host, no credentials in it (those go in the secret) and no
    fragment (nor a query, unless `query_allowed`)."""
    try:
        parts = urlsplit(url)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        parts, port_ok = urlsplit(""), False
    if parts.scheme not in ("http", "https") or not parts.hostname or not port_ok or any(
            c.isspace() or not c.isprintable() for c in url):
        return "must be an http:// or https:// URL with a host"
    if parts.username or parts.password:
        return "must not contain credentials"
    if parts.fragment or (parts.query and not query_allowed):
        return ("must not have a fragment" if query_allowed
                else "must not have a query string or fragment")
    return None
