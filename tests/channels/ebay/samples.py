"""The published sample, read as the tests use it."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

SAMPLES = Path(__file__).parent / "samples"


def sample(name: str = "get_orders_response_sandbox_masked_first_order.json") -> Any:
    return json.loads((SAMPLES / name).read_text())


def sample_order(**changes: Any) -> dict[str, Any]:
    """The getOrders sample's order, with ``changes`` made to a copy."""
    order: dict[str, Any] = copy.deepcopy(sample()["orders"][0])
    order.update(changes)
    return order
