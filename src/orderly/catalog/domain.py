"""Pure catalog rules: bundle expansion and SKU code shape. No I/O here."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Final, Literal

from orderly.core.errors import DomainError

SKU_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-/]{0,63}$")

#: Whose stock a listing sells: the hub's (its figure is pushed) or the platform's own (Amazon FBA and
#: the like: the platform counts and ships it, and a figure from the hub would overwrite its count).
FulfilledBy = Literal["merchant", "platform"]
MERCHANT: Final = "merchant"
PLATFORM: Final = "platform"


def check_sku(code: str) -> str:
    if not SKU_PATTERN.match(code):
        raise DomainError(
            f"SKU {code!r} must be 1-64 letters, digits, '.', '_', '-' or '/', "
            "starting with a letter or digit",
            field="sku",
        )
    return code


def expand(
    lines: Iterable[tuple[int, int]], components: Mapping[int, Iterable[tuple[int, int]]]
) -> dict[int, int]:
    """Turn (product, quantity) lines into stock needs, a bundle becoming its components."""
    needs: dict[int, int] = {}
    for product_id, quantity in lines:
        parts = components.get(product_id)
        if parts is None:
            needs[product_id] = needs.get(product_id, 0) + quantity
            continue
        for component_id, per_bundle in parts:
            needs[component_id] = needs.get(component_id, 0) + per_bundle * quantity
    return needs


def check_bundle(bundle_id: int, parts: Iterable[tuple[int, int]], bundle_ids: set[int]) -> None:
    """A kit holds at least one component, each a plain SKU (no kits in kits), each quantity positive."""
    seen: set[int] = set()
    for component_id, quantity in parts:
        if component_id == bundle_id or component_id in bundle_ids:
            raise DomainError("a bundle's components must be plain SKUs, not bundles", field="components")
        if quantity <= 0:
            raise DomainError("component quantity must be positive", field="components")
        if component_id in seen:
            raise DomainError("a component is listed twice", field="components")
        seen.add(component_id)
    if not seen:
        raise DomainError("a bundle needs at least one component", field="components")
