"""Settings from the environment (prefix ``ORDERLY_``) or a ``.env`` file; see ``.env.example``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from orderly.core.clock import zone


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ORDERLY_", env_file=".env", extra="ignore")

    data_dir: Path = Field(default=Path("var"), description="Where the embedded database lives.")
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
    secret_key: str = Field(
        default="",
        description="Fernet key that encrypts shop credentials at rest (`orderly secret-key` makes one). "
        "Empty: a key file is created in data_dir, for the embedded setup only.",
    )
    workers: int = Field(
        default=2,
        ge=0,
        le=64,
        description="Job workers inside the hub process; with PostgreSQL you may run `orderly worker` "
        "processes elsewhere instead and set this to 0.",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        zone(value)
        return value

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{(self.data_dir / 'orderly.db').resolve()}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
