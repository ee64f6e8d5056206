"""The playground's files over plain HTTP: the page at `/` and everything it loads come from
this service with no token, under a Content-Security-Policy that lets the browser load
nothing from elsewhere, and the installed package carries them (app/web/static) but not
their build (app/web/build). tests/web/test_playground.py runs them in a browser."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from litestar.testing import AsyncTestClient

from app.web import STATIC_DIR

Client = AsyncTestClient  # type: ignore[type-arg]
ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "app" / "web"
MEDIA_TYPES = {".js": "javascript", ".css": "text/css"}
# What a page or a module loads: tags' src/href, and static imports between modules.
TAG_URL = re.compile(r"""\b(?:src|href)="([^"#][^"]*)\"""")
MODULE_IMPORT = re.compile(r"""(?:\bfrom|\bimport)\s*['"](\.{1,2}/[^'"]+)['"]""")


async def loaded_files(client: Client) -> dict[str, str]:
    """Every path the page loads, followed through the modules' imports: path -> referrer."""
    page = (await client.get("/")).text
    found = {urlsplit(url).path: "/" for url in TAG_URL.findall(page)
             if not url.startswith(("data:", "/schema"))}
    queue = [path for path in found if path.endswith(".js")]
    while queue:
        module = queue.pop()
        source = (await client.get(module)).text
        for relative in MODULE_IMPORT.findall(source):
            path = urlsplit(urljoin(module, relative)).path
            if path not in found:
                found[path] = module
                queue.append(path)
    return found


async def test_the_page_is_public_and_lets_the_browser_load_nothing_from_elsewhere(
        client: Client) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "http" not in policy
    assert "<main" in response.text and 'lang="en"' in response.text


async def test_every_file_the_page_loads_is_served_with_no_token(client: Client) -> None:
    files = await loaded_files(client)
    assert {"/playground/js/main.js", "/playground/js/chat-session.js",
            "/playground/vendor/ai-chat.js", "/playground/playground.css"} <= set(files)
    for path, referrer in files.items():
        response = await client.get(path)
        assert response.status_code == 200, f"{path} (loaded by {referrer})"
        assert MEDIA_TYPES[Path(path).suffix] in response.headers["content-type"], path


async def test_a_missing_file_is_a_problem_document(client: Client) -> None:
    response = await client.get("/playground/js/no-such-module.js")
    assert response.status_code == 404
    assert response.json()["type"] == "/problems/not-found"


def test_the_playground_names_no_other_host() -> None:
    """Our own files name no URL elsewhere (fonts, scripts, styles). The AI SDK bundle holds
    JSON Schema ids that are never fetched: the browser test sees every request made."""
    own = [p for p in STATIC_DIR.rglob("*") if p.is_file() and "vendor" not in p.parts]
    assert own
    for path in own:
        assert not re.search(r"https?://", path.read_text()), path


def test_the_package_ships_the_static_files_and_not_their_build() -> None:
    """pyproject's package data for app.web covers every file under static/ (so an installed
    package serves them) and nothing of build/ (npm's project, not the page's)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["app.web"]
    shipped = {p for pattern in patterns for p in WEB.glob(pattern) if p.is_file()}
    assert {p for p in STATIC_DIR.rglob("*") if p.is_file()} <= shipped
    assert not any((WEB / "build") in p.parents for p in shipped)
