"""shop health per kind of call: a shop_health row per shop and kind (orders, stock) replaces the one
failure counter on shops, so a kind that works never hides one that fails

Revision ID: 20261203_1137
Revises: 0004_platform_states
Create Date: 2026-12-03 10:40:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import orderly.core.db

# revision identifiers, used by Alembic.
revision: str = "20261203_1137"
down_revision: str | Sequence[str] | None = "0004_platform_states"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "shop_health",
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("unhealthy_since", orderly.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_ok_at", orderly.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"], name=op.f("fk_shop_health_shop_id_shops")),
        sa.PrimaryKeyConstraint("shop_id", "kind", name=op.f("pk_shop_health")),
    )
    with op.batch_alter_table("shops", schema=None) as batch_op:
        batch_op.drop_column("last_error")
        batch_op.drop_column("unhealthy_since")
        batch_op.drop_column("failures")
    # Those alerts named the shop alone; from now on each names the kind of call that fails, and the
    # next failing call raises it again.
    op.execute(
        "UPDATE alerts SET resolved_at = CURRENT_TIMESTAMP "
        "WHERE kind = 'shop_unhealthy' AND resolved_at IS NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("shops", schema=None) as batch_op:
        batch_op.add_column(sa.Column("failures", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(
            sa.Column("unhealthy_since", orderly.core.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("last_error", sa.Text(), nullable=True))
    op.drop_table("shop_health")
