"""The published samples, read as the tests use them."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

SAMPLES = Path(__file__).parent / "samples"


def sample(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text())


def sample_order(**changes: Any) -> dict[str, Any]:
    """The get-order-list sample's order, with ``changes`` made to a copy."""
    order: dict[str, Any] = copy.deepcopy(sample("orders_search_202309_response.json")["data"]["orders"][0])
    order.update(changes)
    return order
