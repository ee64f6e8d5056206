"""The API docs page renders with no internet: everything it loads comes from this service
(app/api/docs.py), with no token, and the OpenAPI document is still served beside it."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
from litestar.testing import AsyncTestClient

from app.api.problems import PROBLEM_JSON

Client = AsyncTestClient  # type: ignore[type-arg]
# `/schema` is what the README and `robots dev` name; `/schema/swagger` is the same page.
DOCS_PAGES = ("/schema", "/schema/swagger")
# Each kind of file the page loads, and the least a real one weighs (Swagger UI's bundle is
# 1.5 MB, its style 150 kB, its icon 1.6 kB): an empty or error body is far below.
EXPECTED = {".js": ("text/javascript", 100_000), ".css": ("text/css", 50_000),
            ".png": ("image/png", 500)}


class _Loads(HTMLParser):
    """Every URL a page's tags name (what a browser fetches, and links it may follow)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_style = tag == "style"
        self.urls += [value for name, value in attrs
                      if value and name in {"src", "href", "srcset", "data-url", "action"}]

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.styles.append(data)


def loads(html: str) -> _Loads:
    parsed = _Loads()
    parsed.feed(html)
    return parsed


def remote_urls_in_css(css: str) -> list[str]:
    """`url(...)` and `@import` targets on another host (a web font, say)."""
    targets = re.findall(r"""url\(\s*['"]?([^'")\s]+)|@import\s+['"]([^'"]+)""", css)
    return [url for pair in targets for url in pair if re.match(r"^(https?:)?//", url)]


@pytest.mark.parametrize("page", DOCS_PAGES)
async def test_the_docs_page_loads_nothing_from_another_host(client: Client, page: str) -> None:
    response = await client.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    found = loads(response.text)
    assert any(url.endswith(".js") for url in found.urls)  # Swagger UI's script, at least
    own_host = urlsplit(str(client.base_url)).netloc
    for url in found.urls:
        assert urlsplit(urljoin(str(response.url), url)).netloc == own_host, url
    assert remote_urls_in_css("".join(found.styles)) == []


@pytest.mark.parametrize("page", DOCS_PAGES)
async def test_every_file_the_docs_page_loads_is_served_with_no_token(
        client: Client, page: str) -> None:
    response = await client.get(page)
    urls = [urljoin(str(response.url), url) for url in loads(response.text).urls]
    assert {urlsplit(url).path.rsplit(".", 1)[-1] for url in urls} >= {"js", "css", "png"}
    for url in urls:
        served = await client.get(url)
        assert served.status_code == 200, url
        media_type, least_size = EXPECTED["." + urlsplit(url).path.rsplit(".", 1)[-1]]
        assert served.headers["content-type"].startswith(media_type), url
        assert len(served.content) >= least_size, url


async def test_the_docs_style_loads_no_font_or_image_from_another_host(client: Client) -> None:
    page = await client.get("/schema")
    styles = [url for url in loads(page.text).urls if url.endswith(".css")]
    assert styles
    for url in styles:
        css = (await client.get(urljoin(str(page.url), url))).text
        assert remote_urls_in_css(css) == [], url


async def test_an_unknown_docs_asset_is_a_404_problem(client: Client) -> None:
    for name in ("nope.js", "swagger-editor-bundle.js", "LICENSE"):
        response = await client.get(f"/schema/assets/{name}")
        assert response.status_code == 404, name
        assert response.headers["content-type"].startswith(PROBLEM_JSON)
        assert response.json()["type"] == "/problems/not-found"


async def test_the_openapi_document_is_still_served(client: Client) -> None:
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.1")
    assert "/robots/chat/sse" in document["paths"]
    assert not any(path.startswith("/schema") for path in document["paths"])
