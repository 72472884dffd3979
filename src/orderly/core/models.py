"""Imports every context's tables so ``Base.metadata`` is whole (Alembic and tests use it)."""

from orderly.auth import models as auth_models
from orderly.catalog import models as catalog_models
from orderly.channels import models as channel_models
from orderly.core.db import Base
from orderly.inventory import models as inventory_models
from orderly.orders import models as order_models

__all__ = ["Base", "auth_models", "catalog_models", "channel_models", "inventory_models", "order_models"]
