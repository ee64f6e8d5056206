"""Accounts, roles and what each role may do."""

from __future__ import annotations

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
