"""Every context's tables in one ``Base.metadata`` (Alembic and tests use it): above the contexts, as
core knows none of them."""

from orderly.alerts import models as alert_models
from orderly.auth import models as auth_models
from orderly.catalog import models as catalog_models
from orderly.channels import models as channel_models
from orderly.core.db import Base
from orderly.fulfilment import models as fulfilment_models
from orderly.fulfilment.carriers import models as carrier_models
from orderly.imports import models as import_models
from orderly.inventory import models as inventory_models
from orderly.jobs import models as job_models
from orderly.orders import models as order_models
from orderly.review import models as review_models

__all__ = [
    "Base",
    "alert_models",
    "auth_models",
    "carrier_models",
    "catalog_models",
    "channel_models",
    "fulfilment_models",
    "import_models",
    "inventory_models",
    "job_models",
    "order_models",
    "review_models",
]
