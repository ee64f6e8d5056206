"""The server secret: from the environment, else generated once; keys encrypted with it."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from app.adapters.server_secret import (
    SECRET_FILE,
    KeyCipher,
    UndecryptableKey,
    _create_once,
    derive_fernet_key,
    server_secret,
)
from app.config.settings import Settings


def test_without_a_secret_one_is_generated_once_private_and_reused(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    token = KeyCipher(settings).encrypt("tk-abc")
    path = tmp_path / "data" / SECRET_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert server_secret(settings) == path.read_text().strip()
    assert len(server_secret(settings)) >= 40
    assert KeyCipher(Settings(data_dir=tmp_path / "data")).decrypt(token) == "tk-abc"
    assert list(path.parent.iterdir()) == [path]  # no draft left behind


def test_the_first_writer_wins_a_race(tmp_path: Path) -> None:
    path = tmp_path / SECRET_FILE
    _create_once(path, "first")
    _create_once(path, "second")
    assert path.read_text() == "first\n"


def test_the_environments_secret_wins_and_nothing_is_written(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, secret_key="from-the-environment-0123456789")
    token = KeyCipher(settings).encrypt("tk-abc")
    assert not (tmp_path / SECRET_FILE).exists()
    # Plain Fernet with the documented derivation reads it: no home-made cryptography.
    fernet = Fernet(derive_fernet_key("from-the-environment-0123456789"))
    assert fernet.decrypt(token) == b"tk-abc"
    assert b"tk-abc" not in token


def test_a_changed_secret_is_a_clear_error(tmp_path: Path) -> None:
    token = KeyCipher(Settings(data_dir=tmp_path, secret_key="one-secret")).encrypt("tk-abc")
    with pytest.raises(UndecryptableKey, match="ROBOTS_SECRET_KEY") as caught:
        KeyCipher(Settings(data_dir=tmp_path, secret_key="another-secret")).decrypt(token)
    assert "tk-abc" not in str(caught.value)


def test_a_cipher_that_is_never_used_creates_no_file(tmp_path: Path) -> None:
    KeyCipher(Settings(data_dir=tmp_path))
    assert list(tmp_path.iterdir()) == []
