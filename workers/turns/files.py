"""The files of a prompt (images, PDFs): whether the model can read them, and their bytes,
loaded just before the model is called.

Prompts are built without I/O (workers/turns/prompt.py), and what they make of each message
is kept between turns (workers/turns/per_message.py): a stored file is named there by its
digest, never held, so a worker keeping many sessions does not keep their files too.
`with_files` checks each file against what the model's provider reads
(app/domain/files.py), before any call, then loads the stored ones in one query.
"""

from __future__ import annotations

import msgspec

from app.adapters.llm import ModelRequest, PromptFile, PromptMessage
from app.domain.files import ref_digest, unreadable
from app.domain.model_refs import ModelRef
from app.domain.providers import provider_specs
from workers.deps import WorkerDeps
from workers.turns.prompt import PromptError


async def with_files(deps: WorkerDeps, request: ModelRequest, ref: ModelRef) -> ModelRequest:
    """`request` with the bytes of every stored file it names. Raises PromptError, before
    any call, when the model's provider cannot read one of its files, naming the type and
    the model (or when a stored file is missing, which no post leaves behind)."""
    files = [f for m in request.messages for f in m.files]
    if not files:
        return request
    spec = provider_specs(deps.settings).get(ref.provider)
    if spec is not None:  # an unknown provider: the call itself says so
        for file in files:
            why = unreadable(spec.kind, str(ref), file.media_type,
                             by_url=ref_digest(file.url or "") is None)
            if why is not None:
                raise PromptError(why)
    wanted = {d for f in files if (d := ref_digest(f.url or "")) is not None}
    stored = await deps.services.files.load(wanted)
    if missing := wanted - stored.keys():
        raise PromptError(f"a file of this session is missing from storage: {min(missing)}")

    def loaded(file: PromptFile) -> PromptFile:
        digest = ref_digest(file.url or "")
        return file if digest is None else msgspec.structs.replace(
            file, data=stored[digest].data, url=None)

    def filled(message: PromptMessage) -> PromptMessage:
        if not message.files:
            return message
        return msgspec.structs.replace(message, files=[loaded(f) for f in message.files])

    return msgspec.structs.replace(request, messages=[filled(m) for m in request.messages])
