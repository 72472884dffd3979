"""the platform's shipments (carrier, tracking number and url, when) on each order

Revision ID: 20261203_1140
Revises: 20261203_1137
Create Date: 2026-12-03 11:40:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision: str = "20261203_1140"
down_revision: str | Sequence[str] | None = "20261203_1137"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Orders stored so far get their shipments with the platform's next version of them.
    with op.batch_alter_table("orders") as batch:
        batch.add_column(
            sa.Column(
                "shipments",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
                server_default="[]",
                nullable=False,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("shipments")
