"""The calling account: who am I, and change my display name."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, patch
from litestar.di import NamedDependency
from litestar.params import JSONBody

from app.adapters.accounts import AccountStore
from app.api.openapi import problems
from app.domain.accounts import Account, Permission


class Me(msgspec.Struct, kw_only=True):
    id: str
    handle: str
    name: str
    roles: list[str]
    permissions: list[Permission]


class MeUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]


def _me(account: Account) -> Me:
    return Me(
        id=str(account.id), handle=account.handle, name=account.name,
        roles=[str(r) for r in account.roles], permissions=sorted(account.permissions),
    )


class AccountsController(Controller):
    path = "/accounts"
    tags = ["accounts"]

    @get("/me", summary="Who am I", responses=problems())
    async def me(self, request: Request[Account, Any, Any]) -> Me:
        """The account the token belongs to, with its permissions."""
        return _me(request.user)

    @patch("/me", summary="Change my display name", responses=problems(413))
    async def update_me(self, request: Request[Account, Any, Any],
                        accounts: NamedDependency[AccountStore], data: JSONBody[MeUpdate]) -> Me:
        """Change the caller's display name."""
        await accounts.rename(request.user.id, data.name)
        return _me(msgspec.structs.replace(request.user, name=data.name))
