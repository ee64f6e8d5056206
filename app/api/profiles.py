"""Profile references: how an account appears inside other resources (Storyden's shape)."""

from __future__ import annotations

from datetime import datetime

import msgspec

from app.domain.accounts import Account, Role

_ROLE_COLOURS = {Role.ADMIN: "#e5484d", Role.MEMBER: "#3e63dd", Role.GUEST: "#8b8d98"}


class AccountRoleRef(msgspec.Struct, kw_only=True):
    id: str
    name: str
    colour: str
    badge: bool
    default: bool


class ProfileReference(msgspec.Struct, kw_only=True):
    id: str
    joined: datetime
    handle: str
    name: str
    roles: list[AccountRoleRef]


def role_ref(role: Role) -> AccountRoleRef:
    return AccountRoleRef(
        id=str(role), name=str(role), colour=_ROLE_COLOURS[role], badge=role is Role.ADMIN,
        default=role is Role.MEMBER,
    )


def profile_reference(account: Account, joined: datetime) -> ProfileReference:
    return ProfileReference(
        id=str(account.id), joined=joined, handle=account.handle, name=account.name,
        roles=[role_ref(r) for r in account.roles],
    )
