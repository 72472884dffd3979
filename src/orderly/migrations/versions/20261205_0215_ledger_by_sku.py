"""a SKU's ledger page read newest first through an index on (product_id, id)

Revision ID: 20261205_0215
Revises: 20261205_0200
Create Date: 2026-12-05 02:15:00

"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "20261205_0215"
down_revision: str | Sequence[str] | None = "20261205_0200"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_stock_ledger_product_id", "stock_ledger", ["product_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_stock_ledger_product_id", table_name="stock_ledger")
