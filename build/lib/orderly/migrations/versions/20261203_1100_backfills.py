"""backfills: imports of a shop's orders from a chosen date, with their progress

Revision ID: 20261203_1100
Revises: 20261203_4109
Create Date: 2026-12-03 10:45:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import orderly.core.db

# revision identifiers, used by Alembic.
revision: str = "20261203_1100"
down_revision: str | Sequence[str] | None = "20261203_4109"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "backfills",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("since", orderly.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("until", orderly.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reached", orderly.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.Column("created_at", orderly.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", orderly.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"], name=op.f("fk_backfills_shop_id_shops")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_backfills")),
    )


def downgrade() -> None:
    op.drop_table("backfills")
