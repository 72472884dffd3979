"""shipments: an order's parcels, their lines and their history (the fulfilment context)

Revision ID: 20261203_2000
Revises: 20261203_1530
Create Date: 2026-12-03 20:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "20261203_2000"
down_revision: str | Sequence[str] | None = "20261203_1530"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "shipments",
        sa.Column("id", ID, nullable=False),
        sa.Column("order_id", ID, nullable=False),
        sa.Column("warehouse_id", ID, nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("carrier_plugin", sa.String(length=40), nullable=False),
        sa.Column("carrier", sa.String(length=100), nullable=True),
        sa.Column("service", sa.String(length=100), nullable=True),
        sa.Column("tracking_number", sa.String(length=100), nullable=True),
        sa.Column("tracking_url", sa.String(length=500), nullable=True),
        sa.Column("cost", sa.BigInteger(), nullable=True),
        sa.Column("cost_currency", sa.String(length=3), nullable=True),
        sa.Column("weight_g", sa.Integer(), nullable=True),
        sa.Column("length_mm", sa.Integer(), nullable=True),
        sa.Column("width_mm", sa.Integer(), nullable=True),
        sa.Column("height_mm", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("shipped_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["warehouse_id"], ["warehouses.id"], name=op.f("fk_shipments_warehouse_id_warehouses")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipments")),
    )
    with op.batch_alter_table("shipments", schema=None) as batch_op:
        batch_op.create_index("ix_shipments_order", ["order_id"], unique=False)
        batch_op.create_index("ix_shipments_status_id", ["status", "id"], unique=False)
        batch_op.create_index("ix_shipments_tracking", ["tracking_number"], unique=False)

    op.create_table(
        "shipment_events",
        sa.Column("id", ID, nullable=False),
        sa.Column("shipment_id", ID, nullable=False),
        sa.Column("from_status", sa.String(length=20), nullable=True),
        sa.Column("to_status", sa.String(length=20), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["shipment_id"], ["shipments.id"], name=op.f("fk_shipment_events_shipment_id_shipments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipment_events")),
    )
    with op.batch_alter_table("shipment_events", schema=None) as batch_op:
        batch_op.create_index("ix_shipment_events_shipment", ["shipment_id", "id"], unique=False)

    op.create_table(
        "shipment_lines",
        sa.Column("shipment_id", ID, nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["shipment_id"], ["shipments.id"], name=op.f("fk_shipment_lines_shipment_id_shipments")
        ),
        sa.PrimaryKeyConstraint("shipment_id", "line_no", name=op.f("pk_shipment_lines")),
    )


def downgrade() -> None:
    op.drop_table("shipment_lines")
    with op.batch_alter_table("shipment_events", schema=None) as batch_op:
        batch_op.drop_index("ix_shipment_events_shipment")

    op.drop_table("shipment_events")
    with op.batch_alter_table("shipments", schema=None) as batch_op:
        batch_op.drop_index("ix_shipments_tracking")
        batch_op.drop_index("ix_shipments_status_id")
        batch_op.drop_index("ix_shipments_order")

    op.drop_table("shipments")
