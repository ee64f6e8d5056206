"""Accounts, roles and what each role may do."""

from __future__ import annotations

import re
import uuid
from enum import StrEnum

import msgspec


class Permission(StrEnum):
    USE_ROBOTS = "USE_ROBOTS"  # chat, read any session: robots are shared team tools
    MANAGE_ROBOTS = "MANAGE_ROBOTS"  # robots, providers, keys


class Role(StrEnum):
    ADMIN = "admin"
    MEMBER = "member"
    GUEST = "guest"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.MEMBER: frozenset({Permission.USE_ROBOTS}),
    Role.GUEST: frozenset(),
}

class Account(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    handle: str
    name: str
    roles: tuple[Role, ...]

    @property
    def permissions(self) -> frozenset[Permission]:
        return permissions_for(self.roles)


def permissions_for(roles: tuple[Role, ...]) -> frozenset[Permission]:
    granted: frozenset[Permission] = frozenset()
    for role in roles:
        granted |= ROLE_PERMISSIONS[role]
    return granted


HANDLE_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,29}$"
_HANDLE = re.compile(HANDLE_PATTERN)


def handle_problem(handle: str) -> str | None:
    """Why `handle` cannot be an account's handle, or None if it can. A handle is written
    after an @ and in URLs: 1 to 30 lowercase letters, digits, `-` and `_`, starting with a
    letter or digit."""
    if _HANDLE.fullmatch(handle):
        return None
    return (f"{handle!r} is not a handle: use 1 to 30 lowercase letters, digits, '-' and '_',"
            " starting with a letter or digit")
