"""Shop credentials are encrypted at rest with a key from the environment (Fernet: AES with HMAC)."""

from __future__ import annotations

import json
import os
from functools import cache

from cryptography.fernet import Fernet, InvalidToken

from orderly.core.config import Settings
from orderly.core.errors import DomainError
from orderly.core.redact import remember


@cache
def _fernet(key: str) -> Fernet:
    return Fernet(key.encode())


def key_for(settings: Settings) -> str:
    """``ORDERLY_SECRET_KEY``, or for the embedded setup a key file kept beside the SQLite database."""
    if settings.secret_key:
        return settings.secret_key
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    path = settings.data_dir / "secret.key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(Fernet.generate_key().decode())
    return path.read_text().strip()


def seal(settings: Settings, credentials: dict[str, str]) -> str:
    return _fernet(key_for(settings)).encrypt(json.dumps(credentials).encode()).decode()


def unseal(settings: Settings, token: str | None) -> dict[str, str]:
    if not token:
        return {}
    try:
        data: dict[str, str] = json.loads(_fernet(key_for(settings)).decrypt(token.encode()))
    except InvalidToken as exc:
        raise DomainError("shop credentials cannot be decrypted with this secret key") from exc
    # Whatever this process does with them from now on, they never show in what it stores or logs.
    remember(*(value for value in data.values() if isinstance(value, str)))
    return data
