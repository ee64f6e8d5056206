"""What each `robots` command does; app/cli.py only parses arguments."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import AsyncIterator, Coroutine
from pathlib import Path
from typing import Any

import psycopg
import uvicorn
from psycopg_pool import AsyncConnectionPool

from app.adapters.accounts import AccountStore, HandleTaken
from app.adapters.heap import freeze_startup_objects
from app.adapters.http_server import InProcessServer
from app.adapters.logs import logging_config
from app.adapters.migrations import migrate_url
from app.adapters.provider_settings import ProviderSettingsStore
from app.adapters.server_secret import KeyCipher
from app.api.app import create_app
from app.bootstrap import Services
from app.cli.dev_file import DevServers, dev_file, publish, running_dev, withdraw
from app.cli.embedded import EmbeddedServers
from app.cli.progress import ProgressBar
from app.cli.servers import CommandError as CommandError
from app.cli.servers import beside_dev, one_shot
from app.config.settings import Settings, environment_variables
from app.domain.accounts import Role
from app.domain.events import registry
from app.eventstore import EventStore
from app.services.providers import ProviderService
from projections import all_projections, projection_named
from projections.rebuild import rebuild as rebuild_projection
from projections.runner import ProjectionRunner

log = logging.getLogger("robots")

DEV_ADMIN_HANDLE = "admin"


def _database_url(settings: Settings) -> str:
    if not settings.database_url:
        raise CommandError("DATABASE_URL is not set (robots dev starts an embedded database)")
    return settings.database_url


async def migrate(settings: Settings) -> None:
    with one_shot(settings) as s:
        applied = await migrate_url(_database_url(s))
    print(f"applied {len(applied)} migration(s)" + (f": {', '.join(applied)}" if applied else ""))


async def create_account(settings: Settings, handle: str, name: str | None, role: Role) -> None:
    with one_shot(settings) as s:
        await migrate_url(_database_url(s))
        async with _database(s) as store:
            try:
                account, token = await AccountStore(store.pool).create(handle, name, role)
            except HandleTaken as exc:
                raise CommandError(str(exc)) from None
    print(f"created {role} account @{account.handle} ({account.id})")
    print(f"API token (shown once, keep it secret): {token}")


async def rebuild(settings: Settings, name: str | None) -> None:
    try:
        chosen = [projection_named(name)] if name else all_projections()
    except KeyError as exc:
        raise CommandError(str(exc.args[0])) from None
    with one_shot(settings) as s:
        url = _database_url(s)
        async with _database(s) as store, await psycopg.AsyncConnection.connect(url) as conn:
            total = await _count_events(conn)
            for projection in chosen:
                bar = ProgressBar(total, f"rebuild {projection.name}")
                report = await rebuild_projection(conn, store, projection,
                                                  progress=bar.update)
                bar.update(report.events)
                bar.close()
                print(f"{projection.name}: {report.events:,} events in {report.seconds:.2f} s"
                      f" ({report.events_per_second:,.0f} events/s)")


async def _count_events(conn: psycopg.AsyncConnection[object]) -> int:
    row = await (await conn.execute("SELECT count(*) FROM events")).fetchone()
    return int(row[0]) if row else 0  # type: ignore[index]


async def project(settings: Settings) -> None:
    s = beside_dev(settings, redis=False)
    async with _database(s) as store:
        projector = _projector(s, store)
        freeze_startup_objects()
        await _until_signalled(projector.run())


def serve(settings: Settings, workers: int) -> None:
    s = beside_dev(settings)
    # uvicorn's factory reads the settings again in each server process: hand it the URLs
    # joined from `robots dev` the one way it reads them.
    names = environment_variables()
    os.environ.update({names[field]: str(getattr(s, field))
                       for field in ("database_url", "redis_url", "redis_prefix")})
    asyncio.run(_list_local_models(s))
    uvicorn.run("app.api.asgi:app_from_env", factory=True, host=settings.host,
                port=settings.port, workers=workers, log_level=settings.log_level.lower(),
                # uvicorn applies it in each server process it spawns (app/adapters/logs.py).
                log_config=logging_config(settings))


async def worker(settings: Settings) -> None:
    from workers.worker import create_worker

    arq_worker = create_worker(beside_dev(settings))
    freeze_startup_objects()
    await _until_signalled(arq_worker.async_run())
    await arq_worker.close()


async def dev(settings: Settings) -> None:
    """Everything in one process, on embedded servers unless URLs are given."""
    from workers.worker import create_worker

    if (other := running_dev(settings.data_dir)) is not None and other.pid != os.getpid():
        raise CommandError(
            f"robots dev is already running on {settings.data_dir.resolve()} (pid"
            f" {other.pid}, {other.api_url}): commands started beside it join it; another"
            " robots dev needs another ROBOTS_DATA_DIR (if that process is not robots dev,"
            f" remove {dev_file(settings.data_dir)})")
    with EmbeddedServers(settings) as s:
        await migrate_url(_database_url(s))
        async with _services(s) as services:
            token = await ensure_dev_admin(services.accounts, s.data_dir)
            await ProviderService(services.provider_settings, s).list_missing_models()
            web = InProcessServer(uvicorn.Config(create_app(s, services), host=s.host,
                                              port=s.port, log_level=s.log_level.lower(),
                                              log_config=None,  # set up already (main)
                                              timeout_graceful_shutdown=5))
            arq_worker = create_worker(s)
            freeze_startup_objects()

            async def announce() -> None:
                # Only once the port is bound: whoever reads the banner can connect at once.
                while not web.started:  # noqa: ASYNC110 (uvicorn exposes a flag, not an event)
                    await asyncio.sleep(0.02)
                publish(s.data_dir, _published(s))
                _print_banner(s, token)
                await asyncio.Event().wait()

            try:
                await _until_signalled(web.serve_until_cancelled(),
                                       _projector(s, services.store).run(),
                                       arq_worker.async_run(), announce())
            finally:
                # First: no command may join servers that are about to stop.
                withdraw(s.data_dir, os.getpid())
                web.should_exit = True
                await arq_worker.close()


async def ensure_dev_admin(accounts: AccountStore, data_dir: Path) -> str:
    """The dev admin's token: created on first start, kept in the data folder (mode 600)."""
    token_file = data_dir / "dev-admin-token"
    existing = await accounts.by_handle(DEV_ADMIN_HANDLE)
    saved = _read_token(token_file)
    if existing and saved and await accounts.by_token(saved):
        return saved
    if existing:
        token = await accounts.issue_token(existing.id)
    else:
        _, token = await accounts.create(DEV_ADMIN_HANDLE, "Dev admin", Role.ADMIN)
    _save_token(token_file, token)
    return token


def _read_token(path: Path) -> str | None:
    return path.read_text().strip() if path.exists() else None


def _save_token(path: Path, token: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(token + "\n")


def _published(settings: Settings) -> DevServers:
    return DevServers(pid=os.getpid(), database_url=_database_url(settings),
                      redis_url=settings.redis_url or "", redis_prefix=settings.redis_prefix,
                      api_url=f"http://{settings.host}:{settings.port}")


def _print_banner(settings: Settings, token: str) -> None:
    url = f"http://{settings.host}:{settings.port}"
    print(f"\nrobots dev is running at {url}  (playground: {url}/, API docs: {url}/schema)",
          flush=True)
    print(f"PostgreSQL: {settings.database_url}", flush=True)
    print(f"Redis: {settings.redis_url}  (key prefix {settings.redis_prefix})", flush=True)
    print(f"robots worker / serve / project started with ROBOTS_DATA_DIR={settings.data_dir}"
          f" join these (written to {dev_file(settings.data_dir)})", flush=True)
    print(f"dev admin token: {token}", flush=True)
    print(f"try: curl -H 'Authorization: Bearer {token}' {url}/robots/sessions\n", flush=True)


def _projector(settings: Settings, store: EventStore) -> ProjectionRunner:
    return ProjectionRunner(_database_url(settings), store, all_projections(),
                            poll_s=settings.projection_poll_s)


@contextlib.asynccontextmanager
async def _database(settings: Settings) -> AsyncIterator[EventStore]:
    """For commands that need only PostgreSQL (no Redis)."""
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(_database_url(settings), min_size=1,
                                                         max_size=2, open=False)
    await pool.open(wait=True, timeout=30)
    try:
        yield EventStore(pool, registry)
    finally:
        await pool.close()


async def _list_local_models(settings: Settings) -> None:
    """Best effort: an API that starts while PostgreSQL is away serves 503s until it is
    back, and an administrator's refresh lists the models then."""
    try:
        async with asyncio.timeout(5), _database(settings) as store:
            await ProviderService(ProviderSettingsStore(store.pool, KeyCipher(settings)),
                                  settings).list_missing_models()
    except Exception as exc:  # nothing here may keep the API from starting
        log.warning("could not list the local models at start (%s); POST"
                    " /robots/providers/local/models/refresh lists them", exc)


@contextlib.asynccontextmanager
async def _services(settings: Settings) -> AsyncIterator[Services]:
    services = await Services.start(settings)
    try:
        yield services
    finally:
        await services.close()


async def _until_signalled(*jobs: Coroutine[Any, Any, Any]) -> None:
    """Run the jobs until SIGINT/SIGTERM or until any of them ends, then stop them all."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    tasks = [asyncio.ensure_future(job) for job in jobs]
    waiter = asyncio.ensure_future(stop.wait())
    try:
        done, _ = await asyncio.wait([*tasks, waiter], return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if task is not waiter and (error := task.exception()) is not None:
                raise error
    finally:
        for task in [*tasks, waiter]:
            task.cancel()
        await asyncio.gather(*tasks, waiter, return_exceptions=True)
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        log.info("stopped (pid %s)", os.getpid())
