"""Node projects the tests install from the npm registry (the AI SDK client, the playground's
bundle build): each once per content of its manifests, into a cache outside the repository,
atomically (concurrent runs may race)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.services import cannot_check

INSTALL_TIMEOUT_S = 300


def cache_root(name: str) -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / name


def install(npm: str, source: Path, manifests: Sequence[str], target: Path, *,
            flags: Sequence[str] = (), what: str) -> None:
    """`npm ci` (`npm install` without a lock) of the manifests in `source` into `target`.
    Fails the test with npm's words, or cannot_check when the registry is unreachable."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f"{target.name}.", dir=target.parent))
    try:
        for name in manifests:
            if (source / name).exists():
                shutil.copyfile(source / name, staging / name)
        has_lock = (staging / "package-lock.json").exists()
        command = [npm, "ci" if has_lock else "install", "--no-audit", "--no-fund", *flags]
        try:
            done = subprocess.run(command, cwd=staging, capture_output=True, text=True,
                                  timeout=INSTALL_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            done = None
        if done is None or done.returncode != 0:
            if not _registry_reachable(npm):
                cannot_check(f"the npm registry is unreachable: cannot install {what}")
            output = "timed out" if done is None else (done.stdout + done.stderr)[-4000:]
            pytest.fail(f"`{' '.join(command)}` failed in {staging}:\n{output}")
        with contextlib.suppress(OSError):  # another run finished first: keep theirs
            staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _registry_reachable(npm: str) -> bool:
    try:
        return subprocess.run([npm, "ping"], capture_output=True, timeout=30).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def content_digest(paths: Sequence[Path]) -> str:
    """A short digest of the files' names and bytes: a folder named by it holds only them."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def copied_into(project: Path, sources: Sequence[Path], prefix: str) -> Path:
    """`sources` copied, together, into a folder of the installed `project` named by their
    content: node resolves packages from a script's folder upwards, and runs with other
    versions of the scripts never mix."""
    folder = project / f"{prefix}-{content_digest(sources)}"
    if not folder.exists():
        partial = project / f".{folder.name}.{uuid.uuid4().hex[:8]}"
        partial.mkdir()
        for source in sources:
            shutil.copyfile(source, partial / source.name)
        with contextlib.suppress(OSError):  # another run finished first: keep theirs
            partial.rename(folder)
        shutil.rmtree(partial, ignore_errors=True)
    return folder
