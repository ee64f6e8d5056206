"""Each fault test module gets its own stack on its own servers: a test here stops them."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.faults.stack import ProcessStack, process_stack


@pytest.fixture(scope="module")
async def faulty() -> AsyncIterator[ProcessStack]:
    folder = Path(tempfile.mkdtemp(prefix="robots-faults-"))
    async with process_stack(folder) as stack:
        yield stack
