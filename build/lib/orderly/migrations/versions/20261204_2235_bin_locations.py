"""bin locations: where each SKU is picked in each warehouse, and the bin's place on the walk

Revision ID: 20261204_2235
Revises: 20261204_0010
Create Date: 2026-12-04 22:35:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "20261204_2235"
down_revision: str | Sequence[str] | None = "20261204_0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "bin_locations",
        sa.Column("id", ID, nullable=False),
        sa.Column("product_id", ID, nullable=False),
        sa.Column("warehouse_id", ID, nullable=False),
        sa.Column("bin", sa.String(length=32), nullable=False),
        sa.Column("walk", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_bin_locations_product_id_products")
        ),
        sa.ForeignKeyConstraint(
            ["warehouse_id"], ["warehouses.id"], name=op.f("fk_bin_locations_warehouse_id_warehouses")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bin_locations")),
        sa.UniqueConstraint("product_id", "warehouse_id", name=op.f("uq_bin_locations_product_id")),
    )
    with op.batch_alter_table("bin_locations", schema=None) as batch_op:
        batch_op.create_index("ix_bin_locations_warehouse", ["warehouse_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("bin_locations", schema=None) as batch_op:
        batch_op.drop_index("ix_bin_locations_warehouse")
    op.drop_table("bin_locations")
