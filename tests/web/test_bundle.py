"""The committed AI SDK bundle (app/web/static/vendor/ai-chat.js) is what its source builds.

Its source is app/web/build: package.json and package-lock.json (the versions of `ai`, zod
and esbuild), the entry modules and build.mjs (esbuild's options). esbuild writes the same
bytes for the same versions, options and input, so this builds it again and compares; `make
web` rebuilds it after a change. The npm project is installed once per package.json/lock
into ~/.cache/robots-web-build/, outside the repository. Without node and npm, or with the
npm registry out of reach, the test skips, and under CI fails (tests/services.py).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

from tests.npm_projects import cache_root, content_digest, copied_into, install
from tests.services import cannot_check

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "app" / "web" / "build"
BUNDLE = ROOT / "app" / "web" / "static" / "vendor" / "ai-chat.js"
MANIFESTS = ("package.json", "package-lock.json")
BUILD_TIMEOUT_S = 120


def _sources() -> list[Path]:
    return sorted(p for pattern in ("*.js", "*.mjs") for p in BUILD.glob(pattern))


def installed_project(npm: str) -> Path:
    """The build's npm project, installed on first use."""
    target = cache_root("robots-web-build") / content_digest([BUILD / name for name in MANIFESTS])
    if not (target / "node_modules" / "esbuild" / "package.json").exists():
        # No install scripts: esbuild's only checks the binary its platform package brings.
        install(npm, BUILD, MANIFESTS, target,
                flags=["--ignore-scripts", "--engine-strict=false"],
                what="the playground bundle's build")
    return target


def test_the_committed_bundle_is_what_its_source_builds(tmp_path: Path) -> None:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        cannot_check("node and npm are needed to build the playground's AI SDK bundle")
    # The entry modules and build.mjs, where imports resolve to the project's node_modules.
    sources = copied_into(installed_project(npm), _sources(), "src")
    built = tmp_path / "ai-chat.js"
    done = subprocess.run([node, "build.mjs", str(built)], cwd=sources, capture_output=True,
                          text=True, timeout=BUILD_TIMEOUT_S)
    assert done.returncode == 0, done.stdout + done.stderr
    sha256 = [hashlib.sha256(p.read_bytes()).hexdigest() for p in (built, BUNDLE)]
    assert sha256[0] == sha256[1], (
        f"{BUNDLE.relative_to(ROOT)} is stale against app/web/build: run `make web`"
        " and commit the result")
