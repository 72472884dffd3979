"""warehouse routing: routing rules beside the review's (a rule kind), each order's routing decision,
and the products' dimensions (size classes)

Revision ID: 20261204_2240
Revises: 20261204_2230
Create Date: 2026-12-04 22:40:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "20261204_2240"
down_revision: str | Sequence[str] | None = "20261204_2230"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("review_rules", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=16), server_default="review", nullable=False))
        batch_op.drop_constraint("uq_review_rules_key", type_="unique")
        batch_op.create_unique_constraint(op.f("uq_review_rules_kind"), ["kind", "key"])
    with op.batch_alter_table("review_rule_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=16), server_default="review", nullable=False))
        batch_op.drop_constraint("uq_review_rule_versions_key", type_="unique")
        batch_op.create_unique_constraint(op.f("uq_review_rule_versions_kind"), ["kind", "key", "version"])
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("routing", _JSON, nullable=True))
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.add_column(sa.Column("length_mm", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("width_mm", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("height_mm", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_column("height_mm")
        batch_op.drop_column("width_mm")
        batch_op.drop_column("length_mm")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("routing")
    op.execute("DELETE FROM review_rule_versions WHERE kind <> 'review'")
    op.execute("DELETE FROM review_rules WHERE kind <> 'review'")
    with op.batch_alter_table("review_rule_versions", schema=None) as batch_op:
        batch_op.drop_constraint("uq_review_rule_versions_kind", type_="unique")
        batch_op.create_unique_constraint(op.f("uq_review_rule_versions_key"), ["key", "version"])
        batch_op.drop_column("kind")
    with op.batch_alter_table("review_rules", schema=None) as batch_op:
        batch_op.drop_constraint("uq_review_rules_kind", type_="unique")
        batch_op.create_unique_constraint(op.f("uq_review_rules_key"), ["key"])
        batch_op.drop_column("kind")
