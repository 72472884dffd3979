"""What enters and leaves the imports' API: runs with their figures and preview, their errors, saved
profiles and the fields each kind of file has."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from orderly.core.text import StorableStr
from orderly.imports.domain import Kind

ProfileName = Annotated[StorableStr, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
FieldName = Annotated[StorableStr, StringConstraints(min_length=1, max_length=64)]
Header = Annotated[StorableStr, StringConstraints(min_length=1, max_length=300)]


class RunOut(BaseModel):
    """One file imported, or previewed (``dry_run``: nothing kept but this report)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: Kind
    filename: str
    layout: str | None = Field(description="the built-in layout or saved profile the file was read with")
    options: dict[str, Any] = Field(description="the options the run was started with")
    dry_run: bool
    status: str = Field(description="queued, running, done or failed")
    rows_read: int
    imported: int = Field(description="rows (an order's rows together) that changed the hub")
    unchanged: int = Field(description="rows already in the hub exactly so: nothing written")
    failed: int = Field(description="errors reported (a row may have several)")
    message: str | None = Field(description="why the whole run failed, when it did")
    actor: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class RunDetailOut(RunOut):
    preview: list[dict[str, Any]] = Field(
        description="the first rows as the hub read them: {row, values: {field: text}}"
    )


class RunPage(BaseModel):
    items: list[RunOut]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last page")


class RowErrorOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    row: int = Field(description="the row as a spreadsheet numbers it (the header is row 1)")
    column: str | None = Field(description="the file's header of the cell; null: the whole row")
    value: str | None
    reason: str


class RowErrorPage(BaseModel):
    items: list[RowErrorOut]
    next_after_row: int | None = Field(
        description="pass as `after_row` for the next page; null on the last page"
    )


class ProfileIn(BaseModel):
    """A saved column mapping: for each of the kind's fields, the file's header that holds it, and
    values for fields the file has no column for."""

    model_config = ConfigDict(extra="forbid")

    kind: Kind
    columns: dict[FieldName, Header] = Field(max_length=100, description="hub field -> the file's header")
    fixed: dict[FieldName, Annotated[StorableStr, StringConstraints(max_length=300)]] = Field(
        default_factory=dict, max_length=100, description="hub field -> the value every row takes"
    )


class ProfileOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    kind: Kind
    columns: dict[str, str]
    fixed: dict[str, str]
    updated_at: datetime


class FieldOut(BaseModel):
    name: str
    required: bool
    headers: list[str] = Field(description="headers recognised without a profile, English and Chinese")


class KindOut(BaseModel):
    kind: Kind
    fields: list[FieldOut]
