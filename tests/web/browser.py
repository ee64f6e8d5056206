"""A real browser for the playground's tests: Debian's `chromium` (apt-get install chromium),
driven by Playwright for Python (a dev dependency) pointed at that executable; Playwright's own
browser download is never used. Without either the tests skip, and under CI fail
(tests/services.py `cannot_check`), saying how to install what is missing.

    async with launched_chromium() as browser:
        async with visiting(browser, base_url) as visit:
            await visit.page.goto(base_url + "/")
            ...
            visit.assert_stayed_home()  # no request left the API's origin, no script error
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

from tests.services import cannot_check

CHROMIUM_NAMES = ("chromium", "chromium-browser")
INSTALL = ("install Debian's chromium package (`apt-get install chromium`; .ci/run does) and"
           " the dev dependencies (`make install` brings Playwright for Python; never"
           " `playwright install`, which downloads a browser of its own)")


def chromium_executable() -> str:
    for name in CHROMIUM_NAMES:
        if found := shutil.which(name):
            return found
    cannot_check(f"no Chromium to run the playground in: {INSTALL}")


@contextlib.asynccontextmanager
async def launched_chromium() -> AsyncIterator[Any]:
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        cannot_check(f"Playwright for Python is not installed: {INSTALL}")
    executable = chromium_executable()
    async with async_playwright() as playwright:
        try:
            browser = await playwright.chromium.launch(executable_path=executable)
        except Exception as exc:  # Playwright's Error: the binary is there but will not start
            cannot_check(f"{executable} did not start ({str(exc).splitlines()[0]}): {INSTALL}")
        try:
            yield browser
        finally:
            await browser.close()


class Visit:
    """A page in a fresh browser context (its own localStorage), with every request it made
    and every script error and console error it had."""

    def __init__(self, page: Any, base_url: str) -> None:
        self.page = page
        self.base_url = base_url
        self.requests: list[str] = []
        self.errors: list[str] = []
        page.on("request", lambda request: self.requests.append(request.url))
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))
        page.on("console", self._console)

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text}")

    def assert_stayed_home(self) -> None:
        """Every request went to the API's own origin (the page runs offline), and no
        script failed (a Content-Security-Policy refusal is a console error too)."""
        home = urlsplit(self.base_url)
        elsewhere = [url for url in self.requests
                     if urlsplit(url).scheme not in ("data", "blob")
                     and (urlsplit(url).scheme, urlsplit(url).netloc) != (home.scheme, home.netloc)]
        assert not elsewhere, f"requests left {home.netloc}: {elsewhere}"
        assert not self.errors, "\n".join(self.errors)


@contextlib.asynccontextmanager
async def visiting(browser: Any, base_url: str) -> AsyncIterator[Visit]:
    context = await browser.new_context(base_url=base_url)
    context.set_default_timeout(15_000)
    try:
        yield Visit(await context.new_page(), base_url)
    finally:
        await context.close()
