"""ASGI entry point for servers that import an app factory (`robots serve`, uvicorn)."""

from __future__ import annotations

from litestar import Litestar

from app.api.app import create_app
from app.config.settings import load_settings


def app_from_env() -> Litestar:
    return create_app(load_settings())
