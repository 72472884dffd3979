"""an order's history keeps the hub's own messages as phrases beside their English, for the console to
translate (rows written before read as their English)

Revision ID: 20261206_0900
Revises: 20261205_0800
Create Date: 2026-12-06 09:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "20261206_0900"
down_revision: str | Sequence[str] | None = "20261205_0800"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "order_events",
        sa.Column("phrase", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")),
    )


def downgrade() -> None:
    op.drop_column("order_events", "phrase")
