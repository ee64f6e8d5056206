"""The body limit of the chat posts leaves room for the files a message may carry, so a
message past the file limits is answered with the limit it broke, not Litestar's own 413;
every other route keeps Litestar's 10 MB (tests/api/test_problems.py)."""

from __future__ import annotations

import base64

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from app.api.user_parts import LITESTAR_BODY_LIMIT, chat_body_limit
from app.config.settings import Settings
from tests.api.conftest import bearer

Client = AsyncTestClient[Litestar]


def test_the_chat_body_limit_holds_twice_the_largest_message_as_data_urls() -> None:
    settings = Settings()
    as_data = len(base64.b64encode(b"\x00" * settings.max_message_file_bytes))
    assert chat_body_limit(settings) > 2 * as_data
    assert chat_body_limit(Settings(max_message_file_bytes=1000)) == LITESTAR_BODY_LIMIT


@pytest.mark.parametrize("path", ["/robots/chat/sse", "/robots/sessions"])
async def test_a_file_past_the_limit_in_a_body_past_10_mb_is_a_file_too_large(
        client: Client, member_token: str, settings: Settings, path: str) -> None:
    big = b"\x89PNG\r\n\x1a\n" + b"\x00" * settings.max_file_bytes
    url = f"data:image/png;base64,{base64.b64encode(big).decode()}"
    assert len(url) > LITESTAR_BODY_LIMIT
    response = await client.post(path, headers=bearer(member_token), json={
        "id": "big-file", "messages": [{"id": "m1", "role": "user", "parts": [
            {"type": "file", "mediaType": "image/png", "url": url}]}]})
    assert response.status_code == 413
    problem = response.json()
    assert problem["type"] == "/problems/file-too-large"
    assert problem["metadata"]["limit_bytes"] == settings.max_file_bytes
