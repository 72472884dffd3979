"""platform states: units shipped outside the hub per order line; an order's address may lack parts

Revision ID: 0004_platform_states
Revises: 20261203_1100
Create Date: 2026-12-03 10:40:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_platform_states"
down_revision: str | Sequence[str] | None = "20261203_1100"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ADDRESS = (("ship_name", 200), ("ship_line1", 300), ("ship_city", 120), ("ship_country", 2))


def upgrade() -> None:
    with op.batch_alter_table("order_lines") as batch:
        batch.add_column(sa.Column("shipped", sa.Integer(), server_default="0", nullable=False))
    with op.batch_alter_table("orders") as batch:
        for name, length in _ADDRESS:
            batch.alter_column(name, existing_type=sa.String(length=length), nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        for name, length in _ADDRESS:
            batch.alter_column(name, existing_type=sa.String(length=length), nullable=False)
    with op.batch_alter_table("order_lines") as batch:
        batch.drop_column("shipped")
