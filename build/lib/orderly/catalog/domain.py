"""Pure catalog rules: bundle expansion, SKU code shape and barcodes (GTINs). No I/O here."""

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


#: The lengths of a GTIN: GTIN-8 (EAN-8), GTIN-12 (UPC-A), GTIN-13 (EAN-13), GTIN-14 (cases).
GTIN_LENGTHS = (8, 12, 13, 14)


def _is_gtin(code: str) -> bool:
    return code.isascii() and code.isdigit() and len(code) in GTIN_LENGTHS


def gtin_check_digit(body: str) -> int:
    """The GS1 check digit of a GTIN's other digits: weights 3 and 1 from the right."""
    total = sum(int(digit) * (3 if n % 2 == 0 else 1) for n, digit in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def check_barcode(code: str) -> str:
    """A barcode of 8, 12, 13 or 14 digits claims to be a GTIN (EAN/UPC) and must carry its check
    digit; any other code (letters, other lengths) is the seller's own and is kept as given."""
    if _is_gtin(code) and int(code[-1]) != (expected := gtin_check_digit(code[:-1])):
        raise ValueError(
            f"{code!r} reads as a GTIN-{len(code)} (EAN/UPC) but its check digit is {code[-1]}; "
            f"it should be {expected}: check the digits"
        )
    return code


def barcode_forms(code: str) -> set[str]:
    """Every way the same barcode is written: a GTIN at each length it fits (a scanner reads a UPC-A
    as 12 digits or as the EAN-13 with a leading 0; GS1 pads every GTIN to 14), any other code as is."""
    if not _is_gtin(code):
        return {code}
    digits = code.lstrip("0")
    return {digits.zfill(length) for length in GTIN_LENGTHS if len(digits) <= length}
