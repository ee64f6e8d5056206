"""Build the Litestar application: routes, auth, problem documents, OpenAPI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar, Router
from litestar.datastructures import State
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController

from app.api.accounts import AccountsController
from app.api.allow import allow_every_method
from app.api.auth import PUBLIC_PATHS, TokenAuthentication
from app.api.chat import ChatController
from app.api.cors import cors_config
from app.api.deps import dependencies
from app.api.docs import OfflineSwaggerUI
from app.api.files import FilesController
from app.api.health import health, ready
from app.api.mcp_servers import McpServersController
from app.api.nul_text import refuse_nul_text
from app.api.openapi import ClosedStructs
from app.api.playground import playground_files, playground_page
from app.api.problems import exception_handlers
from app.api.providers import ProvidersController
from app.api.robots import RobotsController
from app.api.session_detail import SessionDetailController
from app.api.sessions import JulepSessionsController, SessionsController
from app.api.turns import TurnsController
from app.api.user_parts import chat_body_limit
from app.bootstrap import Services
from app.config.settings import Settings

# Route templates as labels, not raw paths: session ids would explode the label set.
_PROMETHEUS = PrometheusConfig(app_name="robots", prefix="robots", group_path=True,
                               exclude=["^/metrics$", "^/health$"])


class MetricsController(PrometheusController):
    path = "/metrics"
    include_in_schema = False


def create_app(settings: Settings, services: Services | None = None) -> Litestar:
    """The API app. Without `services` it builds its own from settings at startup."""

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        owned = services is None
        app.state.services = services or await Services.start(settings)
        try:
            yield
        finally:
            if owned:
                await app.state.services.close()

    return Litestar(
        route_handlers=[
            health, ready, AccountsController, RobotsController,
            # The routes that take a chat message read bodies large enough for its files.
            Router("/", route_handlers=[SessionsController, ChatController],
                   request_max_body_size=chat_body_limit(settings)),
            SessionDetailController, JulepSessionsController, FilesController,
            MetricsController,
            ProvidersController, McpServersController, TurnsController,
            playground_page, playground_files(),  # the web playground at /
        ],
        # Controllers ask for `services`, `robots`, `pool`, ... by name (app/api/deps.py).
        dependencies=dependencies(),
        lifespan=[lifespan],
        state=State({}),
        middleware=[
            _PROMETHEUS.middleware,
            DefineMiddleware(TokenAuthentication, exclude=list(PUBLIC_PATHS)),
        ],
        exception_handlers=exception_handlers,
        plugins=[ClosedStructs()],
        cors_config=cors_config(settings),
        # The one before-request hook (a controller's own would replace it, not add to it).
        before_request=refuse_nul_text,
        before_send=[allow_every_method],
        openapi_config=OpenAPIConfig(
            title="Robots API",
            version="0.1.0",
            description="Event-sourced LLM robots: Storyden's robots API with Julep's"
            " session options.",
            render_plugins=[OfflineSwaggerUI()],  # served from here: no CDN (app/api/docs.py)
            use_handler_docstrings=True,  # a handler's docstring is its operation's description
            path="/schema",
            components=Components(security_schemes={
                "bearer": SecurityScheme(type="http", scheme="bearer"),
            }),
            security=[{"bearer": []}],
        ),
        debug=False,
        # The process sets up its logging once (app/adapters/logs.py); Litestar's default
        # would replace the root logger's handler and format with its own.
        logging_config=None,
    )
