"""The server secret, and the cipher that keeps provider API keys encrypted at rest.

The secret is `ROBOTS_SECRET_KEY`; without it one is generated once into
`data_dir/secret.key` (mode 600) and reused. Every process that reads or writes stored keys
(API and workers) must see the same secret: set `ROBOTS_SECRET_KEY` when they run on more
than one machine.
"""

from __future__ import annotations

import base64
import logging
import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from app.config.settings import Settings

log = logging.getLogger(__name__)

SECRET_FILE = "secret.key"
# Binds derived keys to their use, so the same secret can safely key other things later.
_PROVIDER_KEYS_CONTEXT = b"robots/provider-api-keys/v1"


class UndecryptableKey(Exception):
    """A stored key does not decrypt with this server's secret (it changed since)."""


def server_secret(settings: Settings) -> str:
    """`settings.secret_key`, else the generated one in `data_dir` (created on first call)."""
    if settings.secret_key:
        return settings.secret_key
    return _file_secret(settings.data_dir / SECRET_FILE)


def _file_secret(path: Path) -> str:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        _create_once(path, secrets.token_urlsafe(32))
    if path.stat().st_mode & 0o077:
        log.warning("%s is readable by other users; it should be mode 600", path)
    secret = path.read_text().strip()
    if not secret:
        raise RuntimeError(f"{path} is empty: delete it to have a new secret generated"
                           " (keys stored under the old one must then be set again)")
    return secret


def _create_once(path: Path, secret: str) -> None:
    """Write `path` whole or not at all, and never replace one written by another process:
    two processes starting together must end up with the same secret."""
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as out:
            out.write(secret + "\n")
        os.link(draft, path)  # fails if another process got there first; theirs stands
    except FileExistsError:
        pass
    finally:
        draft.unlink(missing_ok=True)


def derive_fernet_key(secret: str) -> bytes:
    """The Fernet key for provider API keys: HKDF-SHA256 of the secret, base64url encoded."""
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
               info=_PROVIDER_KEYS_CONTEXT).derive(secret.encode())
    return base64.urlsafe_b64encode(raw)


class KeyCipher:
    """Encrypts and decrypts provider API keys with a key derived from the server secret.

    The secret is loaded (or generated) on first use, so a process that never touches a
    stored key never creates a secret file.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._fernet: Fernet | None = None

    def encrypt(self, api_key: str) -> bytes:
        return self._cipher().encrypt(api_key.encode())

    def decrypt(self, token: bytes) -> str:
        try:
            return self._cipher().decrypt(token).decode()
        except InvalidToken:
            raise UndecryptableKey(
                "the stored API key cannot be decrypted with this server's secret (was"
                " ROBOTS_SECRET_KEY changed?); set the key again") from None

    def _cipher(self) -> Fernet:
        if self._fernet is None:
            self._fernet = Fernet(derive_fernet_key(server_secret(self._settings)))
        return self._fernet
