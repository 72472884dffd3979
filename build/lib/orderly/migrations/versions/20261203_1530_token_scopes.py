"""token scopes and expiry: a token reads, writes or administers (tokens, shops), and may expire

The oldest live token (the one ``orderly start`` made) becomes ``admin``; the others ``write``, so
they go on doing what they did except managing tokens and shops.

Revision ID: 20261203_1530
Revises: 20261203_1500
Create Date: 2026-12-03 15:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "20261203_1530"
down_revision: str | Sequence[str] | None = "20261203_1500"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("scope", sa.String(length=10), nullable=False, server_default="write"))
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE api_tokens SET scope = 'admin' WHERE id = "
        "(SELECT min(id) FROM api_tokens WHERE revoked_at IS NULL)"
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.alter_column("scope", server_default=None)
        batch_op.create_check_constraint(
            op.f("ck_api_tokens_scope_known"), "scope IN ('read', 'write', 'admin')"
        )


def downgrade() -> None:
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_api_tokens_scope_known"), type_="check")
        batch_op.drop_column("expires_at")
        batch_op.drop_column("scope")
