"""carrier accounts, their rate buckets, and the labels bought from them

Revision ID: 20261204_2230
Revises: 20261204_2235
Create Date: 2026-12-04 22:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "20261204_2230"
down_revision: str | Sequence[str] | None = "20261204_2235"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "carrier_accounts",
        sa.Column("id", ID, nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("plugin", sa.String(length=40), nullable=False),
        sa.Column("base_url", sa.String(length=500), nullable=True),
        sa.Column("credentials", sa.Text(), nullable=True),
        sa.Column("settings", JSON, nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carrier_accounts")),
        sa.UniqueConstraint("code", name=op.f("uq_carrier_accounts_code")),
    )
    op.create_table(
        "carrier_rate_buckets",
        sa.Column("account_id", ID, nullable=False),
        sa.Column("operation", sa.String(length=32), nullable=False),
        sa.Column("tokens", sa.Float(), nullable=False),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("blocked_until", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["carrier_accounts.id"],
            name=op.f("fk_carrier_rate_buckets_account_id_carrier_accounts"),
        ),
        sa.PrimaryKeyConstraint("account_id", "operation", name=op.f("pk_carrier_rate_buckets")),
    )
    op.create_table(
        "shipment_labels",
        sa.Column("shipment_id", ID, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("service", sa.String(length=100), nullable=False),
        sa.Column("deliver_by", sa.Date(), nullable=True),
        sa.Column("preference", JSON, nullable=False),
        sa.Column("offer", JSON, nullable=True),
        sa.Column("carrier_shipment_id", sa.String(length=100), nullable=True),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.Column("file_format", sa.String(length=10), nullable=True),
        sa.Column("extra", JSON, nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["carrier_accounts.id"],
            name=op.f("fk_shipment_labels_account_id_carrier_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["shipment_id"], ["shipments.id"], name=op.f("fk_shipment_labels_shipment_id_shipments")
        ),
        sa.PrimaryKeyConstraint("shipment_id", name=op.f("pk_shipment_labels")),
    )


def downgrade() -> None:
    op.drop_table("shipment_labels")
    op.drop_table("carrier_rate_buckets")
    op.drop_table("carrier_accounts")
