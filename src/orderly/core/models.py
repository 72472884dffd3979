"""Imports every context's tables so ``Base.metadata`` is whole (Alembic and tests use it)."""

from orderly.alerts import models as alert_models
from orderly.auth import models as auth_models
from orderly.catalog import models as catalog_models
from orderly.channels import models as channel_models
from orderly.core.db import Base
from orderly.inventory import models as inventory_models
from orderly.jobs import models as job_models
from orderly.orders import models as order_models
from orderly.review import models as review_models

__all__ = [
    "Base",
    "alert_models",
    "auth_models",
    "catalog_models",
    "channel_models",
    "inventory_models",
    "job_models",
    "order_models",
    "review_models",
]
