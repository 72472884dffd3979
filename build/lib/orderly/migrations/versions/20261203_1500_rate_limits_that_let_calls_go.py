"""rate limits that let calls go: a shop's rate_limits entry of under 0.0001 calls a second (0 among
them) or a burst under 1 is dropped (the platform's published limit applies again), as such entries
are now refused

Revision ID: 20261203_1500
Revises: 20261203_1145
Create Date: 2026-12-03 15:00:00

"""

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "20261203_1500"
down_revision: str | Sequence[str] | None = "20261203_1145"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


MIN_PER_SECOND = 0.0001  # channels.schemas: PerSecond


def _lets_calls_go(limit: Any) -> bool:
    if not isinstance(limit, list) or len(limit) != 2:
        return True  # not this migration's to judge
    per_second, burst = limit
    numbers = all(isinstance(n, int | float) and not isinstance(n, bool) for n in limit)
    return not numbers or (per_second >= MIN_PER_SECOND and burst >= 1)


def upgrade() -> None:
    shops = sa.table("shops", sa.column("id", sa.BigInteger), sa.column("settings", sa.JSON))
    bind = op.get_bind()
    for shop_id, stored in bind.execute(sa.select(shops.c.id, shops.c.settings)).all():
        settings = json.loads(stored) if isinstance(stored, str) else stored
        limits = settings.get("rate_limits") if isinstance(settings, dict) else None
        if not isinstance(limits, dict):
            continue
        kept = {op_name: limit for op_name, limit in limits.items() if _lets_calls_go(limit)}
        if kept != limits:
            changed = {**settings, "rate_limits": kept}
            bind.execute(sa.update(shops).where(shops.c.id == shop_id).values(settings=changed))


def downgrade() -> None:
    pass  # the dropped entries stopped the shop's sync: nothing worth restoring
