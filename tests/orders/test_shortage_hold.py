"""The hold of an order stock cannot fill: worded for the person who reads it, typed for the rules and
screens that read its details. Pure, no database."""

from __future__ import annotations

from orderly.inventory.domain import Shortage
from orderly.orders.domain import HoldReason, shortage_hold


def test_a_stock_hold_names_every_short_sku_with_what_it_needs_and_has() -> None:
    hold = shortage_hold([Shortage(1, 3, 1), Shortage(2, 2, 0)], {1: "SKU-1", 2: "SKU-2"})
    assert hold.as_json() == {
        "reason": "out_of_stock",
        "message": "out of stock: SKU-1 needs 3, 1 available; SKU-2 needs 2, 0 available",
        "details": [
            {"sku": "SKU-1", "needed": 3, "available": 1},
            {"sku": "SKU-2", "needed": 2, "available": 0},
        ],
        "phrase": {
            "text": "out of stock: %(short)s",
            "args": {
                "short": {
                    "text": "%(first)s; %(rest)s",
                    "args": {
                        "first": {
                            "text": "%(sku)s needs %(needed)s, %(available)s available",
                            "args": {"sku": "SKU-1", "needed": 3, "available": 1},
                        },
                        "rest": {
                            "text": "%(sku)s needs %(needed)s, %(available)s available",
                            "args": {"sku": "SKU-2", "needed": 2, "available": 0},
                        },
                    },
                }
            },
        },
    }
    assert hold.reason is HoldReason.OUT_OF_STOCK


def test_a_product_without_a_known_sku_is_named_by_its_id() -> None:
    hold = shortage_hold(iter([Shortage(7, 1, 0)]), {})
    assert hold.message == "out of stock: 7 needs 1, 0 available"
    assert hold.details == [{"sku": None, "needed": 1, "available": 0}]
