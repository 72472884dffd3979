"""channel sync engine: jobs (outbox), inbox, listing bindings, rate buckets, alerts, shop sync state

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 13:13:48.236708

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import orderly.core.db

# revision identifiers, used by Alembic.
revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    # Existing shops get the defaults of the new non-null columns from server defaults.
    op.create_table(
        "alerts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", orderly.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", orderly.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index("ix_alerts_open", ["resolved_at", "id"], unique=False)

    op.create_table(
        "jobs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=True),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("run_after", orderly.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("lease_until", orderly.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("locked_by", sa.String(length=100), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", orderly.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", orderly.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", orderly.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index("ix_jobs_due", ["status", "run_after"], unique=False)
        batch_op.create_index(
            "uq_jobs_queued_key",
            ["kind", "key"],
            unique=True,
            sqlite_where=sa.text("status = 'queued' AND key IS NOT NULL"),
            postgresql_where=sa.text("status = 'queued' AND key IS NOT NULL"),
        )

    op.create_table(
        "inbox",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("topic", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.String(length=200), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("received_at", orderly.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("processed_at", orderly.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"], name=op.f("fk_inbox_shop_id_shops")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox")),
        sa.UniqueConstraint("shop_id", "event_id", "version", name=op.f("uq_inbox_shop_id")),
    )
    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.create_index("ix_inbox_unprocessed", ["processed_at", "id"], unique=False)

    op.create_table(
        "listing_bindings",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("listing_id", sa.String(length=200), nullable=False),
        sa.Column(
            "data", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=False
        ),
        sa.Column("last_quantity", sa.Integer(), nullable=True),
        sa.Column("last_pushed_at", orderly.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"], name=op.f("fk_listing_bindings_shop_id_shops")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_listing_bindings")),
        sa.UniqueConstraint("shop_id", "listing_id", name=op.f("uq_listing_bindings_shop_id")),
    )
    op.create_table(
        "rate_buckets",
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("operation", sa.String(length=32), nullable=False),
        sa.Column("tokens", sa.Float(), nullable=False),
        sa.Column("refreshed_at", orderly.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("blocked_until", orderly.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"], name=op.f("fk_rate_buckets_shop_id_shops")),
        sa.PrimaryKeyConstraint("shop_id", "operation", name=op.f("pk_rate_buckets")),
    )
    with op.batch_alter_table("shops", schema=None) as batch_op:
        batch_op.add_column(sa.Column("base_url", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("credentials", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "settings",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
                nullable=False,
                server_default="{}",
            )
        )
        batch_op.add_column(
            sa.Column("sync_enabled", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("orders_synced_to", orderly.core.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("last_polled_at", orderly.core.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("last_reconciled_at", orderly.core.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("last_resynced_at", orderly.core.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("failures", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(
            sa.Column("unhealthy_since", orderly.core.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("last_error", sa.Text(), nullable=True))

    # ### end Alembic commands ###


def downgrade() -> None:
    """Downgrade schema."""
    # ### commands auto generated by Alembic - please adjust! ###
    with op.batch_alter_table("shops", schema=None) as batch_op:
        batch_op.drop_column("last_error")
        batch_op.drop_column("unhealthy_since")
        batch_op.drop_column("failures")
        batch_op.drop_column("last_resynced_at")
        batch_op.drop_column("last_reconciled_at")
        batch_op.drop_column("last_polled_at")
        batch_op.drop_column("orders_synced_to")
        batch_op.drop_column("sync_enabled")
        batch_op.drop_column("settings")
        batch_op.drop_column("credentials")
        batch_op.drop_column("base_url")

    op.drop_table("rate_buckets")
    op.drop_table("listing_bindings")
    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.drop_index("ix_inbox_unprocessed")

    op.drop_table("inbox")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_jobs_queued_key",
            sqlite_where=sa.text("status = 'queued' AND key IS NOT NULL"),
            postgresql_where=sa.text("status = 'queued' AND key IS NOT NULL"),
        )
        batch_op.drop_index("ix_jobs_due")

    op.drop_table("jobs")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_alerts_open")

    op.drop_table("alerts")
    # ### end Alembic commands ###
