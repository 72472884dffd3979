"""What makes an incoming order acceptable on its own, before any SKU is resolved: its shape (the
``NormalizedOrder`` schema), no NUL anywhere (PostgreSQL stores none), lines that make sense, amounts
within bounds. Errors name the field and say what is expected, for a person to act on."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import orjson
from pydantic import TypeAdapter, ValidationError

from orderly.core.errors import field_path
from orderly.orders.schemas import (
    MAX_TOTAL,
    MINOR_UNITS_EXPECTED,
    MONEY_FIELDS,
    NormalizedLine,
    NormalizedOrder,
)

Errors = list[dict[str, str]]

AMOUNT_OUT_OF_BOUNDS = frozenset({"greater_than_equal", "less_than_equal"})  # pydantic's error types
MAX_NUL_ERRORS = 20  # fields named in a rejection for their NUL; one is enough to refuse the order

_ONE = TypeAdapter(NormalizedOrder)
_BATCH = TypeAdapter(list[NormalizedOrder])


def validation_errors(exc: ValidationError) -> Errors:
    return [
        {"field": field_path(e["loc"]) or "order", "message": _expected(e)}
        for e in exc.errors(include_url=False)
    ]


def _expected(error: Any) -> str:
    """Pydantic's message, saying what is expected where "a valid integer" or a bound would not (money)."""
    loc = error["loc"]
    wrong_amount = error["type"].startswith("int_") or error["type"] in AMOUNT_OUT_OF_BOUNDS
    if wrong_amount and loc and loc[-1] in MONEY_FIELDS:
        return f"{error['msg']}: {MINOR_UNITS_EXPECTED}"
    # Our validators' messages say it all; pydantic's prefix only adds noise for a seller.
    return str(error["msg"]).removeprefix("Value error, ")


def parse(items: Sequence[Any]) -> tuple[list[tuple[int, NormalizedOrder]], list[tuple[int, Errors]]]:
    """The orders of the batch that have the right shape, and the errors of those that have not (by
    position). One pass over the whole batch; only when something in it is bad, order by order."""
    if not _has_nul(items):
        try:
            return list(enumerate(_BATCH.validate_python(items))), []
        except ValidationError:
            pass
    parsed: list[tuple[int, NormalizedOrder]] = []
    invalid: list[tuple[int, Errors]] = []
    for index, item in enumerate(items):
        nuls = list(itertools.islice(_nul_paths(item, ""), MAX_NUL_ERRORS))
        if nuls:
            message = "must not contain NUL (U+0000) characters"
            invalid.append((index, [{"field": at or "order", "message": message} for at in nuls]))
            continue
        try:
            parsed.append((index, _ONE.validate_python(item)))
        except ValidationError as exc:
            invalid.append((index, validation_errors(exc)))
    return parsed, invalid


def _has_nul(value: Any) -> bool:
    """PostgreSQL stores no NUL in text or JSON; one serialization finds any in the whole batch."""
    try:
        return b"\\u0000" in orjson.dumps(value)
    except (TypeError, orjson.JSONEncodeError):  # e.g. integers past 64 bits: look the slow way
        return next(_nul_paths(value, ""), None) is not None


def _nul_paths(value: Any, path: str) -> Iterator[str]:
    """Where the NULs are, as field paths."""
    if isinstance(value, str):
        if "\x00" in value:
            yield path
    elif isinstance(value, Mapping):
        for key, item in value.items():
            name = f"{path}.{key}" if path else str(key)
            if "\x00" in str(key):
                yield name
            else:
                yield from _nul_paths(item, name)
    elif isinstance(value, list):
        for number, item in enumerate(value):
            yield from _nul_paths(item, f"{path}[{number}]")


def line_errors(number: int, line: NormalizedLine) -> Errors:
    """What is wrong with the line numbered ``number`` (from 0) on its own."""
    if not (line["platform_sku"] or line["listing_id"]):
        return [{"field": f"lines[{number}]", "message": "needs a platform_sku or a listing_id"}]
    errors: Errors = []
    if line["shipped"] > line["quantity"]:
        errors.append(
            {
                "field": f"lines[{number}].shipped",
                "message": f"{line['shipped']} shipped of a line of {line['quantity']}",
            }
        )
    if line.get("returned", 0) > line["shipped"]:
        errors.append(
            {
                "field": f"lines[{number}].returned",
                "message": f"{line.get('returned', 0)} returned of {line['shipped']} shipped: only units "
                "that left can come back",
            }
        )
    if line["discount"] > line["unit_price"] * line["quantity"]:
        errors.append(
            {
                "field": f"lines[{number}].discount",
                "message": f"{line['discount']} is more than the line's price ({line['quantity']} x "
                f"{line['unit_price']}): a line's discount is for the whole line, in minor units",
            }
        )
    return errors


def unknown_product(number: int, line: NormalizedLine, shop: str) -> dict[str, str]:
    """The error of a line whose SKU or listing maps to no product of ours."""
    what = f"SKU {line['platform_sku']!r}" if line["platform_sku"] else f"listing {line['listing_id']!r}"
    return {
        "field": f"lines[{number}].{'platform_sku' if line['platform_sku'] else 'listing_id'}",
        "message": f"unknown {what} on shop {shop!r}: create the product or map it",
    }


def amount_errors(subtotal: int, total: int) -> Errors:
    if max(abs(subtotal), total) > MAX_TOTAL:
        return [{"field": "total", "message": f"order amounts exceed {MAX_TOTAL} minor units"}]
    return []
