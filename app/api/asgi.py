"""ASGI entry point for servers that import an app factory (`robots serve`, uvicorn)."""

from __future__ import annotations

from litestar import Litestar

from app.adapters.heap import freeze_startup_objects
from app.api.app import create_app
from app.config.settings import load_settings


def app_from_env() -> Litestar:
    app = create_app(load_settings())
    freeze_startup_objects()  # a server process: its imports are done
    return app
