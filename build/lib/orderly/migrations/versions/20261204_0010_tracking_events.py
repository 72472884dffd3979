"""tracking events: each parcel's journey as its carrier tells it, and when it was promised

Revision ID: 20261204_0010
Revises: 20261203_2000
Create Date: 2026-12-04 00:10:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "20261204_0010"
down_revision: str | Sequence[str] | None = "20261203_2000"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("shipments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("promised_by", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("last_event_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_shipments_on_the_way", ["status", "last_event_at"], unique=False)

    op.create_table(
        "shipment_tracking_events",
        sa.Column("id", ID, nullable=False),
        sa.Column("shipment_id", ID, nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=True),
        sa.Column("code", sa.String(length=60), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("location", sa.String(length=300), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("digest", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["shipment_id"], ["shipments.id"], name=op.f("fk_shipment_tracking_events_shipment_id_shipments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipment_tracking_events")),
        sa.UniqueConstraint("shipment_id", "digest", name=op.f("uq_shipment_tracking_events_shipment_id")),
    )
    with op.batch_alter_table("shipment_tracking_events", schema=None) as batch_op:
        batch_op.create_index("ix_tracking_events_shipment", ["shipment_id", "occurred_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("shipment_tracking_events", schema=None) as batch_op:
        batch_op.drop_index("ix_tracking_events_shipment")
    op.drop_table("shipment_tracking_events")
    with op.batch_alter_table("shipments", schema=None) as batch_op:
        batch_op.drop_index("ix_shipments_on_the_way")
        batch_op.drop_column("delivered_at")
        batch_op.drop_column("last_event_at")
        batch_op.drop_column("promised_by")
