"""products' unit costs (cost of goods), in minor units of their currency

Revision ID: 20261205_0700
Revises: 20261205_0215
Create Date: 2026-12-05 07:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "20261205_0700"
down_revision: str | Sequence[str] | None = "20261205_0215"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("products") as batch_op:
        batch_op.add_column(sa.Column("cost", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("cost_currency", sa.String(length=3), nullable=True))
        batch_op.create_check_constraint("cost_has_currency", "(cost IS NULL) = (cost_currency IS NULL)")
        batch_op.create_check_constraint("cost_not_negative", "cost >= 0")


def downgrade() -> None:
    with op.batch_alter_table("products") as batch_op:
        batch_op.drop_constraint("cost_not_negative", type_="check")
        batch_op.drop_constraint("cost_has_currency", type_="check")
        batch_op.drop_column("cost_currency")
        batch_op.drop_column("cost")
