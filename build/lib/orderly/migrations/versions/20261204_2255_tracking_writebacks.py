"""tracking_writebacks: whether each shipped parcel's tracking reached its shop

Revision ID: 20261204_2255
Revises: 20261204_2250
Create Date: 2026-12-04 22:55:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "20261204_2255"
down_revision: str | Sequence[str] | None = "20261204_2250"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "tracking_writebacks",
        sa.Column("shipment_id", ID, nullable=False),
        sa.Column("shop_id", ID, nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("maybe_sent", sa.Boolean(), nullable=False),
        sa.Column("claimed_by", sa.String(length=200), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "platform_ids",
            sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql"),
            nullable=False,
        ),
        sa.Column("sent_carrier", sa.String(length=100), nullable=True),
        sa.Column("sent_tracking_number", sa.String(length=100), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["shipment_id"], ["shipments.id"], name=op.f("fk_tracking_writebacks_shipment_id_shipments")
        ),
        sa.PrimaryKeyConstraint("shipment_id", name=op.f("pk_tracking_writebacks")),
    )
    with op.batch_alter_table("tracking_writebacks", schema=None) as batch_op:
        batch_op.create_index("ix_tracking_writebacks_status", ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("tracking_writebacks", schema=None) as batch_op:
        batch_op.drop_index("ix_tracking_writebacks_status")
    op.drop_table("tracking_writebacks")
