"""the home page's figures from a rollup: orders, sales and imports per UTC quarter-hour, shop and
currency, counted from the orders there are

Revision ID: 20261205_0720
Revises: 20261205_0710
Create Date: 2026-12-05 07:20:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

from orderly.orders.repository import recount_sales

# revision identifiers, used by Alembic.
revision: str = "20261205_0720"
down_revision: str | Sequence[str] | None = "20261205_0710"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "order_figures",
        sa.Column("quarter", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.Column("sales", sa.BigInteger(), nullable=False),
        sa.Column("reviewed", sa.Integer(), nullable=False),
        sa.Column("approved", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("quarter", "shop_id", "currency"),
    )
    recount_sales(Session(bind=op.get_bind()))


def downgrade() -> None:
    op.drop_table("order_figures")
