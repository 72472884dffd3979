"""Shop credentials are encrypted at rest with a key from the environment (Fernet: AES with HMAC)."""

from __future__ import annotations

import json
import os
from contextlib import suppress
from functools import cache
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from orderly.core.config import Settings, owner_only
from orderly.core.errors import DomainError
from orderly.core.redact import remember


@cache
def _fernet(key: str) -> Fernet:
    return Fernet(key.encode())


def key_for(settings: Settings) -> str:
    """``ORDERLY_SECRET_KEY``, else the content of the key file (``ORDERLY_SECRET_KEY_FILE``, else
    ``secret.key`` in the data folder, made when missing). Only the embedded setup goes without
    naming its key: a shared database needs the same key on every host, and a key file made on one
    host is unknown to the others, which could then not read the credentials it stored."""
    if settings.secret_key:
        key, source = settings.secret_key, "ORDERLY_SECRET_KEY"
    else:
        path = settings.key_file
        if not settings.embedded and (settings.secret_key_file is None or not path.exists()):
            raise DomainError(_no_shared_key(settings))
        if not path.exists():
            _make_key_file(settings, path)
        owner_only(path)
        key, source = path.read_text().strip(), f"the key file {path}"
    try:
        _fernet(key)
    except ValueError as exc:
        raise DomainError(f"{source} holds no Fernet key; `orderly secret-key` makes one") from exc
    remember(key)
    return key


def _no_shared_key(settings: Settings) -> str:
    message = (
        "shop credentials need a key every host shares, as this database is not the embedded one: set "
        "ORDERLY_SECRET_KEY (`orderly secret-key` makes one) or ORDERLY_SECRET_KEY_FILE, the same on "
        "every host that runs the hub or workers"
    )
    if settings.secret_key_file is not None:
        return f"{message} ({settings.secret_key_file} does not exist)"
    made_here = settings.data_dir / "secret.key"
    if made_here.exists():  # made by a version that made one on any database: keep using it
        message += f"; the credentials stored so far use the key in {made_here}"
    return message


def _make_key_file(settings: Settings, path: Path) -> None:
    """A new key in ``path``, readable by its owner only; written whole before it can be read, and
    never over a key another process made first."""
    if path.parent == settings.data_dir:
        settings.private_data_dir()
    else:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(Fernet.generate_key().decode())
        with suppress(FileExistsError):
            os.link(draft, path)
    finally:
        draft.unlink()


def seal(settings: Settings, credentials: dict[str, str]) -> str:
    return _fernet(key_for(settings)).encrypt(json.dumps(credentials).encode()).decode()


def unseal(settings: Settings, token: str | None) -> dict[str, str]:
    data = _opened(settings, token)
    # Whatever this process does with them from now on, they never show in what it stores or logs.
    remember(*(value for value in data.values() if isinstance(value, str)))
    return data


def unseal_one(settings: Settings, token: str | None, name: str) -> str | None:
    """One credential (None if the shop has none of that name); the others are not kept."""
    value = _opened(settings, token).get(name)
    if not isinstance(value, str):
        return None
    remember(value)
    return value


def _opened(settings: Settings, token: str | None) -> dict[str, str]:
    if not token:
        return {}
    try:
        data: dict[str, str] = json.loads(_fernet(key_for(settings)).decrypt(token.encode()))
    except InvalidToken as exc:
        raise DomainError("shop credentials cannot be decrypted with this secret key") from exc
    return data
