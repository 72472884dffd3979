"""the home page's figures at any number of orders: when each order shipped (filled in from its
history), the placed-at index covering the sales figures, the imports by time, and indexes for the
order list's country, tag and hold-reason filters

Revision ID: 20261204_2340
Revises: 20261204_2325
Create Date: 2026-12-04 23:40:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from orderly.core.db import UTCDateTime

# revision identifiers, used by Alembic.
revision: str = "20261204_2340"
down_revision: str | Sequence[str] | None = "20261204_2325"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("shipped_at", UTCDateTime(timezone=True), nullable=True))
    # An order shipped when its history first moved it to shipped from another status (one imported
    # already shipped has no such step: the hub did not see it leave).
    op.execute(
        "UPDATE orders SET shipped_at = (SELECT min(e.created_at) FROM order_events e "
        "WHERE e.order_id = orders.id AND e.to_status = 'shipped' AND e.from_status IS NOT NULL "
        "AND e.from_status <> 'shipped') WHERE status IN ('shipped', 'delivered', 'returned')"
    )
    op.drop_index("ix_orders_placed_at", table_name="orders")
    op.create_index(
        "ix_orders_placed_at",
        "orders",
        ["placed_at"],
        postgresql_include=["shop_id", "currency", "total", "status"],
    )
    op.create_index(
        "ix_orders_shipped_at",
        "orders",
        ["shipped_at"],
        postgresql_include=["placed_at", "payment_status"],
        sqlite_where=sa.text("shipped_at IS NOT NULL"),
        postgresql_where=sa.text("shipped_at IS NOT NULL"),
    )
    op.create_index("ix_orders_country_id", "orders", ["ship_country", "id"])
    op.create_index(
        "ix_orders_tags",
        "orders",
        ["tags"],
        postgresql_using="gin",
        postgresql_ops={"tags": "jsonb_path_ops"},
    )
    op.create_index(
        "ix_orders_holds",
        "orders",
        ["holds"],
        postgresql_using="gin",
        postgresql_ops={"holds": "jsonb_path_ops"},
    )
    op.create_index(
        "ix_order_events_imported",
        "order_events",
        ["created_at"],
        postgresql_include=["to_status"],
        sqlite_where=sa.text("kind = 'imported'"),
        postgresql_where=sa.text("kind = 'imported'"),
    )


def downgrade() -> None:
    op.drop_index("ix_order_events_imported", table_name="order_events")
    op.drop_index("ix_orders_holds", table_name="orders")
    op.drop_index("ix_orders_tags", table_name="orders")
    op.drop_index("ix_orders_country_id", table_name="orders")
    op.drop_index("ix_orders_shipped_at", table_name="orders")
    op.drop_index("ix_orders_placed_at", table_name="orders")
    op.create_index("ix_orders_placed_at", "orders", ["placed_at"])
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("shipped_at")
