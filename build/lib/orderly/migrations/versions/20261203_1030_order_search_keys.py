"""order search keys: find orders by platform order number, buyer name, email or phone

Revision ID: 20261203_1030
Revises: 0003
Create Date: 2026-12-03 10:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from orderly.orders.search import keys_of

# revision identifiers, used by Alembic.
revision: str = "20261203_1030"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 10_000


def upgrade() -> None:
    keys = op.create_table(
        "order_search_keys",
        sa.Column("key", sa.BigInteger(), nullable=False),
        sa.Column("order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.PrimaryKeyConstraint("key", "order_id", name=op.f("pk_order_search_keys")),
    )
    assert keys is not None
    orders = sa.table(
        "orders",
        *(
            sa.column(name)
            for name in (
                "id",
                "external_id",
                "buyer_name",
                "buyer_email",
                "buyer_phone",
                "ship_name",
                "ship_phone",
            )
        ),
    )
    bind = op.get_bind()
    last = 0
    while True:
        rows = bind.execute(
            sa.select(orders).where(orders.c.id > last).order_by(orders.c.id).limit(BATCH)
        ).all()
        if not rows:
            return
        found = [
            {"key": key, "order_id": row.id}
            for row in rows
            for key in keys_of(
                {
                    "external_id": row.external_id,
                    "buyer": {"name": row.buyer_name, "email": row.buyer_email, "phone": row.buyer_phone},
                    "shipping_address": {"name": row.ship_name, "phone": row.ship_phone},
                }
            )
        ]
        bind.execute(keys.insert(), found)
        last = rows[-1].id


def downgrade() -> None:
    op.drop_table("order_search_keys")
