"""Full-text search over the messages read model, with PostgreSQL's text search."""

from __future__ import annotations

from typing import Any

from app.eventstore.store import Conn

# The text of a message: its text parts, joined. The same expression backs the index.
_TEXT = "jsonb_path_query_array(m.parts, '$[*] ? (@.type == \"text\").text')::text"

_SEARCH = f"""
SELECT m.session_id, m.id, m.role, m.created_at,
       ts_headline(%(lang)s::regconfig, {_TEXT}, q, 'MaxFragments=1, MaxWords=30') AS snippet
FROM messages m
JOIN sessions s ON s.id = m.session_id AND s.deleted_at IS NULL,
     websearch_to_tsquery(%(lang)s::regconfig, %(query)s) q
WHERE to_tsvector(%(lang)s::regconfig, {_TEXT}) @@ q
ORDER BY ts_rank(to_tsvector(%(lang)s::regconfig, {_TEXT}), q) DESC, m.created_at DESC
LIMIT %(limit)s
"""


async def search_messages(conn: Conn, query: str, *, language: str,
                          limit: int) -> list[dict[str, Any]]:
    """Messages matching `query` in live sessions, best first. Raises ValueError for a
    language PostgreSQL has no text-search configuration for."""
    known = await (await conn.execute(
        "SELECT 1 FROM pg_ts_config WHERE cfgname = %s", [language])).fetchone()
    if known is None:
        raise ValueError(f"no text-search language {language!r} (try english, german,"
                         " french, spanish or simple)")
    cur = await conn.execute(_SEARCH, {"lang": language, "query": query, "limit": limit})
    return [{"session_id": r[0], "message_id": r[1], "role": r[2],
             "created_at": r[3].isoformat(), "snippet": r[4]} for r in await cur.fetchall()]
