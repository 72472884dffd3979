"""transfer lines found by product: what is in transit is read by product for every stock figure

Revision ID: 20261204_2300
Revises: 20261204_2255
Create Date: 2026-12-04 23:00:00

"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "20261204_2300"
down_revision: str | Sequence[str] | None = "20261204_2255"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("transfer_lines", schema=None) as batch_op:
        batch_op.create_index("ix_transfer_lines_product", ["product_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("transfer_lines", schema=None) as batch_op:
        batch_op.drop_index("ix_transfer_lines_product")
