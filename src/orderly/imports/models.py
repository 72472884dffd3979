from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from orderly.core.clock import utcnow
from orderly.core.db import Base, BigId, JsonValue, UTCDateTime


class ImportRun(Base):
    """One file imported (or previewed, ``dry_run``): what it was, how far it got, what it did. Its bad
    rows are :class:`ImportRowError` rows, written batch by batch as they are found."""

    __tablename__ = "import_runs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    filename: Mapped[str] = mapped_column(String(300))
    #: The built-in layout or saved profile the file was read with, once its header was read.
    layout: Mapped[str | None] = mapped_column(String(100))
    options: Mapped[dict[str, Any]] = mapped_column(JsonValue, default=dict)
    dry_run: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(16))  # domain.RunStatus
    rows_read: Mapped[int] = mapped_column(default=0)
    imported: Mapped[int] = mapped_column(default=0)
    unchanged: Mapped[int] = mapped_column(default=0)
    failed: Mapped[int] = mapped_column(default=0)  # errors stored (a row may have several)
    #: Why the whole run stopped (an unreadable file, a missing column), when it failed.
    message: Mapped[str | None] = mapped_column(Text)
    #: The first rows as the hub read them (field -> text), to check a mapping before importing.
    preview: Mapped[list[dict[str, Any]]] = mapped_column(JsonValue, default=list)
    #: An uploaded file waiting for its job (``tasks.py``), removed when the run ends.
    stored_path: Mapped[str | None] = mapped_column(String(500))
    actor: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ImportRowError(Base):
    """One bad cell or row of a run: row as a spreadsheet numbers it, the file's column, its value, why."""

    __tablename__ = "import_row_errors"
    __table_args__ = (Index("ix_import_row_errors_run_row", "run_id", "row", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("import_runs.id", ondelete="CASCADE"))
    row: Mapped[int]
    column: Mapped[str | None] = mapped_column("column_name", String(300))  # "column" is reserved SQL
    value: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)


class ImportProfile(Base):
    """A saved column mapping for files of a layout the hub does not know: hub field -> the file's
    header (``columns``), and values for fields the file lacks (``fixed``)."""

    __tablename__ = "import_profiles"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    columns: Mapped[dict[str, str]] = mapped_column(JsonValue)
    fixed: Mapped[dict[str, str]] = mapped_column(JsonValue, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
