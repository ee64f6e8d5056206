"""Files users send (images, PDFs) in PostgreSQL, stored once by the SHA-256 of their bytes
(`migrations/0016_files.sql`).

Why not inside the events: the log is read all the time (every fold of a session, every
projection catching up, the replay API, snapshots), and it must stay fast to read. A 10 MB
image inside a MessagePosted event would be read, decoded and kept in memory with the folded
session in every process that keeps it, copied into its snapshots and into the messages read
model, for as long as the session lives. Instead the event's part names the file by digest
(some 80 bytes, app/domain/files.py) and the bytes are read only where they are needed: by
the worker that sends them to a model, and by `GET /robots/files/{digest}`.

Why by digest: the bytes become as immutable as the events that name them. A retried post
stores nothing new (the same bytes, the same key: `ON CONFLICT DO NOTHING`), a file sent
twice is kept once, and a stored file can be served with an immutable cache header. Files are
stored before the event naming them is appended, so no event names a file that is not here.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

import msgspec
from psycopg_pool import AsyncConnectionPool

from app.domain.files import content_digest


class StoredFile(msgspec.Struct, frozen=True):
    digest: str
    media_type: str
    data: bytes

    @classmethod
    def of(cls, media_type: str, data: bytes) -> StoredFile:
        return cls(content_digest(data), media_type, data)


class FileStore:
    def __init__(self, pool: AsyncConnectionPool[Any]) -> None:
        self.pool = pool

    async def store(self, files: Sequence[StoredFile]) -> None:
        """Store files (one transaction); a file stored before stays as it was."""
        if not files:
            return
        async with self.pool.connection() as conn, conn.cursor() as cur:
            await cur.executemany(
                "INSERT INTO files (digest, media_type, size, data) VALUES (%s, %s, %s, %s)"
                " ON CONFLICT (digest) DO NOTHING",
                [(f.digest, f.media_type, len(f.data), f.data) for f in files])

    async def load(self, digests: Collection[str]) -> dict[str, StoredFile]:
        """The stored files among `digests`, by digest, in one query."""
        if not digests:
            return {}
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT digest, media_type, data FROM files WHERE digest = ANY(%s)",
                [list(digests)])
            return {r[0]: StoredFile(r[0], r[1], bytes(r[2])) for r in await cur.fetchall()}

    async def get(self, digest: str) -> StoredFile | None:
        return (await self.load([digest])).get(digest)
