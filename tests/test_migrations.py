"""The Alembic migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from orderly.core.models import Base


def test_migrated_schema_matches_the_models(engine: Engine) -> None:
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert differences == []


def test_the_unique_order_key_is_enforced_by_the_database(engine: Engine) -> None:
    constraints = inspect(engine).get_unique_constraints("orders")
    assert {"shop_id", "external_id"} in [set(c["column_names"]) for c in constraints]
