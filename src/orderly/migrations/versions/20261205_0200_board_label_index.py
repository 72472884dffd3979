"""the board's exceptions: labels in an unknown state, found through a partial index

Revision ID: 20261205_0200
Revises: 20261204_2340
Create Date: 2026-12-05 02:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "20261205_0200"
down_revision: str | Sequence[str] | None = "20261204_2340"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_shipment_labels_unknown",
        "shipment_labels",
        ["shipment_id"],
        sqlite_where=sa.text("state = 'unknown'"),
        postgresql_where=sa.text("state = 'unknown'"),
    )


def downgrade() -> None:
    op.drop_index("ix_shipment_labels_unknown", table_name="shipment_labels")
