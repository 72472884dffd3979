"""paid-to-shipped from a rollup: paid orders shipped per UTC day and bin of minutes, counted from the
orders shipped there are

Revision ID: 20261205_0740
Revises: 20261205_0720
Create Date: 2026-12-05 07:40:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

from orderly.orders.repository import recount_shipped

# revision identifiers, used by Alembic.
revision: str = "20261205_0740"
down_revision: str | Sequence[str] | None = "20261205_0720"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ship_figures",
        sa.Column("day", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("minutes", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "minutes"),
    )
    recount_shipped(Session(bind=op.get_bind()))


def downgrade() -> None:
    op.drop_table("ship_figures")
