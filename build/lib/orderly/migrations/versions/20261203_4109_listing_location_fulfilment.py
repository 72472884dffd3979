"""listing location, platform ids and whose stock a listing sells, on each SKU mapping

Revision ID: 20261203_4109
Revises: 20261203_1030
Create Date: 2026-12-03 10:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "20261203_4109"
down_revision: str | Sequence[str] | None = "20261203_1030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sku_mappings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("location", sa.String(length=200), nullable=True))
        batch_op.add_column(
            sa.Column(
                "platform_ids",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
                server_default="{}",
                nullable=False,
            )
        )
        # Every listing mapped so far sold the hub's own stock.
        batch_op.add_column(
            sa.Column("fulfilled_by", sa.String(length=16), server_default="merchant", nullable=False)
        )
        batch_op.create_check_constraint(
            op.f("ck_sku_mappings_fulfilled_by_known"), "fulfilled_by IN ('merchant', 'platform')"
        )


def downgrade() -> None:
    with op.batch_alter_table("sku_mappings", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_sku_mappings_fulfilled_by_known"), type_="check")
        batch_op.drop_column("fulfilled_by")
        batch_op.drop_column("platform_ids")
        batch_op.drop_column("location")
