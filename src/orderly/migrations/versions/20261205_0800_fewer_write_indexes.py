"""indexes no query reads, which every order written paid for: the ledger's by product and warehouse
(a SKU's ledger is read through ix_stock_ledger_product_id; the totals of every level scan the whole
ledger), and on SQLite the orders' tags and holds (its filters walk each list with json_each)

Revision ID: 20261205_0800
Revises: 20261205_0740
Create Date: 2026-12-05 08:00:00

"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "20261205_0800"
down_revision: str | Sequence[str] | None = "20261205_0740"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_stock_ledger_product_warehouse", table_name="stock_ledger")
    if op.get_context().dialect.name == "sqlite":
        op.drop_index("ix_orders_holds", table_name="orders")
        op.drop_index("ix_orders_tags", table_name="orders")


def downgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        op.create_index("ix_orders_tags", "orders", ["tags"])
        op.create_index("ix_orders_holds", "orders", ["holds"])
    op.create_index("ix_stock_ledger_product_warehouse", "stock_ledger", ["product_id", "warehouse_id"])
