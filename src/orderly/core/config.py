"""Settings from the environment (prefix ``ORDERLY_``) or a ``.env`` file; see ``.env.example``.

One configuration wherever a command runs: the ``.env`` in use is the file ``ORDERLY_ENV_FILE`` names,
else ``.env`` in the current folder if there is one; the data directory (the embedded database and the
key that encrypts shop credentials) is ``ORDERLY_DATA_DIR``, taken relative to the folder of that
``.env`` (or the current folder without one), else the user's data directory, the same for every
folder. ``orderly status`` prints both.

The data folder, the database files and the key file hold every order and the key to every shop's
credentials: they are kept readable by their owner only (0700, 0600), and looser ones are tightened,
with a warning, whenever a command or the hub finds them.
"""

from __future__ import annotations

import logging
import os
import stat
import sys
from contextlib import suppress
from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from orderly.core.clock import zone

log = logging.getLogger(__name__)
#: The database files SQLite keeps beside ``orderly.db``: they hold its recent writes.
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def user_data_dir() -> Path:
    """Where Orderly keeps its data unless told otherwise: the platform's per-user data folder."""
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "orderly"


def env_file_in_use() -> Path | None:
    """The ``.env`` file settings are read from, as an absolute path, or None."""
    named = os.environ.get("ORDERLY_ENV_FILE")
    if named:
        return Path(named).expanduser().resolve()
    local = Path(".env")
    return local.resolve() if local.is_file() else None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ORDERLY_", extra="ignore")

    env_file: Path | None = Field(
        default=None, description="The .env file read (ORDERLY_ENV_FILE, else .env in the current folder)."
    )
    data_dir: Path = Field(
        default_factory=user_data_dir,
        description="Where the embedded database and the credentials key live; relative: to the folder "
        "of the .env in use. Default: the user's data folder (~/.local/share/orderly on Linux).",
    )
    database_url: str = Field(
        default="",
        description="SQLAlchemy URL; empty means the embedded SQLite file in data_dir. "
        "PostgreSQL: postgresql+psycopg://user@host:5432/orderly",
    )
    timezone: str = Field(
        default="UTC",
        description="Time zone (IANA name, e.g. Europe/Berlin) in which plain dates in filters are read "
        "when the request names none",
    )
    host: str = "127.0.0.1"
    port: int = 8000
    ingest_batch_size: int = Field(default=2000, ge=1, le=50_000)
    import_workers: int | None = Field(
        default=None,
        ge=1,
        le=32,
        description="processes an orders file is imported by on PostgreSQL (unset: one per core, up to four; "
        "SQLite always one)",
    )
    trusted_proxies: str = Field(
        default="",
        description="Addresses of reverse proxies whose X-Forwarded-For names the client (comma-separated, "
        "or *); empty: none, so a client cannot pick the address its failed token checks count against",
    )
    secure_cookies: bool = Field(
        default=False,
        description="Mark the session cookie Secure even on plain HTTP requests: the hub is reached through "
        "an HTTPS proxy (requests seen as HTTPS get it anyway)",
    )
    header_timeout_s: float = Field(
        default=10,
        gt=0,
        le=3600,
        description="A connection must send a whole request head (line and headers) within this many "
        "seconds of opening, or of its previous answer, or it is closed",
    )
    body_timeout_s: float = Field(
        default=60,
        gt=0,
        le=3600,
        description="A request's body must arrive within this many seconds of the hub starting to read "
        "it, or it is answered 408 and the connection closed",
    )
    secret_key: str = Field(
        default="",
        description="Fernet key that encrypts shop credentials at rest (`orderly secret-key` makes one). "
        "Empty: the key is read from secret_key_file.",
    )
    secret_key_file: Path | None = Field(
        default=None,
        description="A file holding that key instead (relative: to the folder of the .env in use), e.g. "
        "outside the data folder so backups of the database never carry it. Empty: secret.key in "
        "data_dir. With the embedded SQLite database a missing file is made (readable by its owner "
        "only); any other database needs ORDERLY_SECRET_KEY or an existing file, the same on every host.",
    )
    workers: int = Field(
        default=2,
        ge=0,
        le=64,
        description="Job workers inside the hub process; with PostgreSQL you may run `orderly worker` "
        "processes elsewhere instead and set this to 0.",
    )
    request_concurrency: int = Field(
        default=8,
        ge=1,
        le=256,
        description="API requests that use the database at once; the rest wait their turn for up to "
        "request_wait_s. The connection pool and the request threads are sized from it.",
    )
    request_wait_s: float = Field(
        default=0.5,
        gt=0,
        le=30,
        description="How long a request waits for its turn (or a database connection) before it is "
        "answered 503 with Retry-After.",
    )
    request_lock_wait_s: float = Field(
        default=1.0,
        gt=0,
        le=60,
        description="How long a request's write waits for a lock held by another writer before it is "
        "answered 503 with Retry-After (jobs and commands wait longer).",
    )

    tracking_stale_hours: float = Field(
        default=24,
        gt=0,
        le=24 * 30,
        description="A parcel on its way with no carrier event for this many hours raises a stale alert",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        zone(value)
        return value

    @field_validator("data_dir", mode="before")
    @classmethod
    def _empty_is_default(cls, value: object) -> object:
        return user_data_dir() if value == "" else value  # ORDERLY_DATA_DIR= (as in .env.example)

    @field_validator("secret_key_file", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value  # ORDERLY_SECRET_KEY_FILE= (as in .env.example)

    @model_validator(mode="after")
    def _absolute_paths(self) -> Settings:
        base = self.env_file.parent if self.env_file is not None else Path.cwd()
        self.data_dir = (base / self.data_dir.expanduser()).resolve()
        if self.secret_key_file is not None:
            self.secret_key_file = (base / self.secret_key_file.expanduser()).resolve()
            if self.secret_key:
                raise ValueError("set ORDERLY_SECRET_KEY or ORDERLY_SECRET_KEY_FILE, not both")
        return self

    @property
    def embedded(self) -> bool:
        """Whether the database is a SQLite file, which only this host uses."""
        return not self.database_url or self.database_url.startswith("sqlite")

    @property
    def key_file(self) -> Path:
        return self.secret_key_file or self.data_dir / "secret.key"

    def private_data_dir(self) -> Path:
        """The data folder, made if missing, readable by its owner only."""
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        owner_only(self.data_dir)
        return self.data_dir

    def resolved_database_url(self, *, create: bool = True) -> str:
        """The database URL; for the embedded database, its file is made (unless not ``create``) and
        kept, with the files SQLite keeps beside it, readable by its owner only."""
        if self.database_url:
            return self.database_url
        database = self.private_data_dir() / "orderly.db"
        if create:
            with suppress(FileExistsError):  # SQLite takes an empty file as a new database
                os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        for path in (database, *(database.with_name(database.name + end) for end in SQLITE_COMPANIONS)):
            owner_only(path)
        return f"sqlite:///{database}"


def owner_only(path: Path) -> None:
    """Take group's and others' access to ``path`` away, if it exists, with a warning that says so."""
    if os.name != "posix":
        return  # Windows: the user's own folders are private by their access lists
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return
    if not mode & 0o077:
        return
    try:
        path.chmod(mode & 0o700)
    except OSError as exc:
        log.warning("%s can be read by other users (mode %03o) and cannot be changed: %s", path, mode, exc)
        return
    log.warning("%s could be read by other users (mode %03o): now by its owner only", path, mode)


@lru_cache
def get_settings() -> Settings:
    env_file = env_file_in_use()
    return Settings(_env_file=env_file, env_file=env_file)
