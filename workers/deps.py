"""Everything a worker process's tasks need, built once at startup (its composition root)."""

from __future__ import annotations

import os
import socket
import uuid

from app.adapters.llm.router import ModelRouter
from app.bootstrap import Services
from app.config.settings import Settings
from workers.turns.cancels import CancelWatcher
from workers.turns.leases import LeaseKeeper
from workers.turns.patience import PatientHandler
from workers.turns.stream_writer import StreamWriter


class WorkerDeps:
    def __init__(self, services: Services, models: ModelRouter,
                 cancels: CancelWatcher) -> None:
        self.services = services
        self.settings: Settings = services.settings
        # Waits out a database outage (workers/turns/patience.py); reacts as the API's does.
        self.handler = PatientHandler(services.store, services.reactions.run,
                                      states=services.session_states)
        self.arq = services.arq
        self.models = models
        self.cancels = cancels
        self.leases = LeaseKeeper(services.pool, self.settings.turn_lease_s)
        self.stream_writer = StreamWriter(services.redis)
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"

    @classmethod
    async def start(cls, settings: Settings, models: ModelRouter | None = None) -> WorkerDeps:
        services = await Services.start(settings)
        cancels = CancelWatcher(services.hub, settings.redis_prefix)
        await cancels.start()
        models = models or ModelRouter(settings, services.provider_settings)
        await models.warm()
        return cls(services, models, cancels)

    async def close(self) -> None:
        await self.leases.stop()
        await self.cancels.stop()
        await self.models.aclose()
        await self.services.close()
