"""transfers: units moving between warehouses, their lines and their history (inventory)

Revision ID: 20261204_2250
Revises: 20261204_2240
Create Date: 2026-12-04 22:50:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "20261204_2250"
down_revision: str | Sequence[str] | None = "20261204_2240"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "transfers",
        sa.Column("id", ID, nullable=False),
        sa.Column("from_warehouse_id", ID, nullable=False),
        sa.Column("to_warehouse_id", ID, nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("shipped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["from_warehouse_id"], ["warehouses.id"], name=op.f("fk_transfers_from_warehouse_id_warehouses")
        ),
        sa.ForeignKeyConstraint(
            ["to_warehouse_id"], ["warehouses.id"], name=op.f("fk_transfers_to_warehouse_id_warehouses")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transfers")),
    )
    with op.batch_alter_table("transfers", schema=None) as batch_op:
        batch_op.create_index("ix_transfers_status_id", ["status", "id"], unique=False)

    op.create_table(
        "transfer_events",
        sa.Column("id", ID, nullable=False),
        sa.Column("transfer_id", ID, nullable=False),
        sa.Column("from_status", sa.String(length=20), nullable=True),
        sa.Column("to_status", sa.String(length=20), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["transfer_id"], ["transfers.id"], name=op.f("fk_transfer_events_transfer_id_transfers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transfer_events")),
    )
    with op.batch_alter_table("transfer_events", schema=None) as batch_op:
        batch_op.create_index("ix_transfer_events_transfer", ["transfer_id", "id"], unique=False)

    op.create_table(
        "transfer_lines",
        sa.Column("transfer_id", ID, nullable=False),
        sa.Column("product_id", ID, nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("received", sa.Integer(), nullable=False),
        sa.Column("written_off", sa.Integer(), nullable=False),
        sa.Column("difference", sa.Text(), nullable=True),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_transfer_lines_quantity_positive")),
        sa.CheckConstraint(
            "received >= 0 AND written_off >= 0", name=op.f("ck_transfer_lines_received_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_transfer_lines_product_id_products")
        ),
        sa.ForeignKeyConstraint(
            ["transfer_id"], ["transfers.id"], name=op.f("fk_transfer_lines_transfer_id_transfers")
        ),
        sa.PrimaryKeyConstraint("transfer_id", "product_id", name=op.f("pk_transfer_lines")),
    )


def downgrade() -> None:
    op.drop_table("transfer_lines")
    with op.batch_alter_table("transfer_events", schema=None) as batch_op:
        batch_op.drop_index("ix_transfer_events_transfer")

    op.drop_table("transfer_events")
    with op.batch_alter_table("transfers", schema=None) as batch_op:
        batch_op.drop_index("ix_transfers_status_id")

    op.drop_table("transfers")
