"""Who is calling: a Bearer token or the `storyden-session` cookie, and what they may do."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from app.api.problems import ProblemError
from app.bootstrap import Services
from app.domain.accounts import Account, Permission

SESSION_COOKIE = "storyden-session"
# Paths anyone may reach: liveness, readiness and the API description.
PUBLIC_PATHS = ("^/health$", "^/ready$", "^/schema", "^/metrics$")


def token_from(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    header = connection.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return connection.cookies.get(SESSION_COOKIE) or None


class TokenAuthentication(AbstractAuthenticationMiddleware):
    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        token = token_from(connection)
        if token is None:
            raise NotAuthorizedException(
                "authentication required: send 'Authorization: Bearer <token>'"
                f" or the {SESSION_COOKIE} cookie"
            )
        services: Services = connection.app.state.services
        account = await services.accounts.by_token(token)
        if account is None:
            raise NotAuthorizedException("the token is not valid")
        return AuthenticationResult(user=account, auth=None)


Guard = Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], Awaitable[None]]


def requires(permission: Permission) -> Guard:
    """A route guard: 403 unless the caller's roles grant `permission`."""

    # async, though it never waits: Litestar runs a sync guard in a worker thread.
    async def guard(connection: ASGIConnection[Any, Any, Any, Any],
                    _: BaseRouteHandler) -> None:
        if connection.scope.get("method") == "OPTIONS":
            # Litestar's own OPTIONS answer (204 and `Allow`) reaches no handler, and
            # authentication lets OPTIONS through (a CORS preflight carries no token).
            return
        account: Account = connection.user
        if permission not in account.permissions:
            raise ProblemError(403, f"this needs the {permission} permission",
                               slug="forbidden", metadata={"permission": str(permission)})

    return guard
