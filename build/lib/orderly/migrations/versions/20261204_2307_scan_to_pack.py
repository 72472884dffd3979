"""scan to pack: the units scanned into each parcel, each packer's parcel, ship on pack per warehouse,
products found by barcode, and bins going with their product or warehouse

Revision ID: 20261204_2307
Revises: 20261204_2300
Create Date: 2026-12-04 23:07:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "20261204_2307"
down_revision: str | Sequence[str] | None = "20261204_2300"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "pack_scans",
        sa.Column("id", ID, nullable=False),
        sa.Column("shipment_id", ID, nullable=False),
        sa.Column("product_id", ID, nullable=False),
        sa.Column("code", sa.String(length=200), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_pack_scans_product_id_products")
        ),
        sa.ForeignKeyConstraint(
            ["shipment_id"], ["shipments.id"], name=op.f("fk_pack_scans_shipment_id_shipments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pack_scans")),
    )
    with op.batch_alter_table("pack_scans", schema=None) as batch_op:
        batch_op.create_index("ix_pack_scans_shipment", ["shipment_id", "product_id"], unique=False)

    op.create_table(
        "pack_stations",
        sa.Column("packer", sa.String(length=200), nullable=False),
        sa.Column("shipment_id", ID, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["shipment_id"], ["shipments.id"], name=op.f("fk_pack_stations_shipment_id_shipments")
        ),
        sa.PrimaryKeyConstraint("packer", name=op.f("pk_pack_stations")),
    )
    with op.batch_alter_table("warehouses", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("ship_on_pack", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.create_index("ix_products_barcode", ["barcode"], unique=False)
    with op.batch_alter_table("bin_locations", schema=None) as batch_op:
        batch_op.drop_constraint("fk_bin_locations_product_id_products", type_="foreignkey")
        batch_op.drop_constraint("fk_bin_locations_warehouse_id_warehouses", type_="foreignkey")
        batch_op.create_foreign_key(
            "fk_bin_locations_product_id_products", "products", ["product_id"], ["id"], ondelete="CASCADE"
        )
        batch_op.create_foreign_key(
            "fk_bin_locations_warehouse_id_warehouses",
            "warehouses",
            ["warehouse_id"],
            ["id"],
            ondelete="CASCADE",
        )


def downgrade() -> None:
    with op.batch_alter_table("bin_locations", schema=None) as batch_op:
        batch_op.drop_constraint("fk_bin_locations_warehouse_id_warehouses", type_="foreignkey")
        batch_op.drop_constraint("fk_bin_locations_product_id_products", type_="foreignkey")
        batch_op.create_foreign_key(
            "fk_bin_locations_product_id_products", "products", ["product_id"], ["id"]
        )
        batch_op.create_foreign_key(
            "fk_bin_locations_warehouse_id_warehouses", "warehouses", ["warehouse_id"], ["id"]
        )
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_index("ix_products_barcode")
    with op.batch_alter_table("warehouses", schema=None) as batch_op:
        batch_op.drop_column("ship_on_pack")
    op.drop_table("pack_stations")
    with op.batch_alter_table("pack_scans", schema=None) as batch_op:
        batch_op.drop_index("ix_pack_scans_shipment")
    op.drop_table("pack_scans")
