"""imports: runs of imported files with their row errors, and saved column-mapping profiles

Revision ID: 20261205_0710
Revises: 20261205_0700
Create Date: 2026-12-05 07:10:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from orderly.core.db import UTCDateTime

# revision identifiers, used by Alembic.
revision: str = "20261205_0710"
down_revision: str | Sequence[str] | None = "20261205_0700"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "import_runs",
        sa.Column("id", ID, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("filename", sa.String(length=300), nullable=False),
        sa.Column("layout", sa.String(length=100), nullable=True),
        sa.Column("options", JSON, nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("rows_read", sa.Integer(), nullable=False),
        sa.Column("imported", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("preview", JSON, nullable=False),
        sa.Column("stored_path", sa.String(length=500), nullable=True),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_runs")),
    )
    op.create_table(
        "import_row_errors",
        sa.Column("id", ID, nullable=False),
        sa.Column("run_id", ID, nullable=False),
        sa.Column("row", sa.Integer(), nullable=False),
        sa.Column("column_name", sa.String(length=300), nullable=True),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["import_runs.id"],
            name=op.f("fk_import_row_errors_run_id_import_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_row_errors")),
    )
    op.create_index(
        "ix_import_row_errors_run_row", "import_row_errors", ["run_id", "row", "id"], unique=False
    )
    op.create_table(
        "import_profiles",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("columns", JSON, nullable=False),
        sa.Column("fixed", JSON, nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_profiles")),
        sa.UniqueConstraint("name", name=op.f("uq_import_profiles_name")),
    )


def downgrade() -> None:
    op.drop_table("import_profiles")
    op.drop_index("ix_import_row_errors_run_row", table_name="import_row_errors")
    op.drop_table("import_row_errors")
    op.drop_table("import_runs")
