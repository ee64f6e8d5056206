"""Accounts and their API tokens in PostgreSQL."""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from typing import Any

from psycopg_pool import AsyncConnectionPool

from app.domain.accounts import Account, Role

TOKEN_PREFIX = "rbt_"


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


class HandleTaken(Exception):
    def __init__(self, handle: str) -> None:
        super().__init__(f"an account with handle {handle!r} already exists")


class AccountStore:
    """`trust_s`: how long `by_token` answers a token it has checked from memory. Every
    API request checks its token; this spares most of them a query. A renamed account
    shows its new name in other processes within this time."""

    _MAX_TRUSTED = 10_000  # a bound, not a tuning knob: beyond it the memory starts afresh

    def __init__(self, pool: AsyncConnectionPool[Any], *, trust_s: float = 0.0) -> None:
        self.pool = pool
        self.trust_s = trust_s
        self._trusted: dict[bytes, tuple[float, Account]] = {}  # only tokens that were valid

    async def create(self, handle: str, name: str | None, role: Role) -> tuple[Account, str]:
        """Create an account and its first API token. The token is returned only here."""
        account = Account(id=uuid.uuid4(), handle=handle, name=name or handle, roles=(role,))
        token = new_token()
        async with self.pool.connection() as conn, conn.transaction():
            cur = await conn.execute(
                "INSERT INTO accounts (id, handle, name, roles) VALUES (%s, %s, %s, %s)"
                " ON CONFLICT (handle) DO NOTHING",
                [account.id, account.handle, account.name, [str(r) for r in account.roles]],
            )
            if cur.rowcount == 0:
                raise HandleTaken(handle)
            await self._add_token(conn, account.id, token)
        return account, token

    async def issue_token(self, account_id: uuid.UUID) -> str:
        token = new_token()
        async with self.pool.connection() as conn:
            await self._add_token(conn, account_id, token)
        return token

    async def _add_token(self, conn: Any, account_id: uuid.UUID, token: str) -> None:
        await conn.execute(
            "INSERT INTO api_tokens (token_hash, account_id) VALUES (%s, %s)",
            [hash_token(token), account_id],
        )

    async def by_token(self, token: str) -> Account | None:
        digest = hash_token(token)
        trusted = self._trusted.get(digest)
        if trusted is not None and trusted[0] > time.monotonic():
            return trusted[1]
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT a.id, a.handle, a.name, a.roles FROM api_tokens t"
                " JOIN accounts a ON a.id = t.account_id WHERE t.token_hash = %s",
                [digest],
            )
            row = await cur.fetchone()
        if row is None:
            return None
        account = _account(row)
        if self.trust_s > 0:
            if len(self._trusted) >= self._MAX_TRUSTED:
                self._trusted.clear()
            self._trusted[digest] = (time.monotonic() + self.trust_s, account)
        return account

    async def by_handle(self, handle: str) -> Account | None:
        return await self._one("handle", handle)

    async def by_id(self, account_id: uuid.UUID) -> Account | None:
        return await self._one("id", account_id)

    async def _one(self, column: str, value: object) -> Account | None:
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                f"SELECT id, handle, name, roles FROM accounts WHERE {column} = %s", [value])
            row = await cur.fetchone()
        return _account(row) if row else None

    async def rename(self, account_id: uuid.UUID, name: str) -> None:
        async with self.pool.connection() as conn:
            await conn.execute("UPDATE accounts SET name = %s WHERE id = %s", [name, account_id])
        self._trusted = {d: t for d, t in self._trusted.items() if t[1].id != account_id}


def _account(row: Any) -> Account:
    return Account(id=row[0], handle=row[1], name=row[2], roles=tuple(Role(r) for r in row[3]))


async def profiles(pool: AsyncConnectionPool[Any],
                   ids: list[uuid.UUID]) -> dict[uuid.UUID, tuple[Account, Any]]:
    """Accounts by id with their join time, for profile references in responses."""
    if not ids:
        return {}
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT id, handle, name, roles, created_at FROM accounts WHERE id = ANY(%s)",
            [list(set(ids))])
        return {row[0]: (_account(row), row[4]) for row in await cur.fetchall()}
