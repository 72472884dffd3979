"""order content digest: orders keep a fingerprint of the version stored, so a version with the same
second-precise stamp and other content is applied; the inbox is processed in the order entries were
last received

Revision ID: 20261203_1145
Revises: 20261203_1140
Create Date: 2026-12-03 11:45:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "20261203_1145"
down_revision: str | Sequence[str] | None = "20261203_1140"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Null for the orders already stored: a version with their stamp is applied once.
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("content_digest", sa.String(length=32), nullable=True))
    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.drop_index("ix_inbox_unprocessed")
        batch_op.create_index("ix_inbox_unprocessed", ["processed_at", "received_at", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.drop_index("ix_inbox_unprocessed")
        batch_op.create_index("ix_inbox_unprocessed", ["processed_at", "id"], unique=False)
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("content_digest")
