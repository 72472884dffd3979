"""A held order that the platform updates is reviewed again: the buyer's history it is judged by holds
the buyer's other orders, never the order itself as stored before. On both databases."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from orderly.core.clock import utcnow
from orderly.orders.ingest import ingest_batch
from tests.factories import order, setup_catalog, stored_order


def _unpaid(**fields: Any) -> dict[str, Any]:
    return order(("SKU-1", 1), payment_status="pending", payment_method="bank_transfer", **fields)


def _paid(body: dict[str, Any]) -> dict[str, Any]:
    return {**body, "payment_status": "paid", "updated_at": utcnow().isoformat()}


def test_an_order_reviewed_again_is_not_merged_with_itself(factory: sessionmaker[Session]) -> None:
    setup_catalog(factory, {"SKU-1": 5})
    body = _unpaid(external_id="PAY")
    ingest_batch(factory, [body])
    assert stored_order(factory, "PAY").status == "on_hold"

    ingest_batch(factory, [_paid(body)])
    reviewed = stored_order(factory, "PAY")
    assert reviewed.status == "allocated"
    assert "merge_with" not in (reviewed.review or {})


def test_an_order_reviewed_again_counts_the_buyers_other_orders_but_not_itself(
    factory: sessionmaker[Session],
) -> None:
    """With the velocity check's default (two similar orders tolerated within ten minutes), a buyer's
    second order is fine: counting its own earlier version would make it a third and hold it."""
    setup_catalog(factory, {"SKU-1": 5})
    first = order(("SKU-1", 1), external_id="FIRST", placed=0)
    second = _unpaid(external_id="SECOND", placed=60)
    second["buyer"], second["shipping_address"] = first["buyer"], first["shipping_address"]
    ingest_batch(factory, [first])
    ingest_batch(factory, [second])
    first_id = stored_order(factory, "FIRST").id
    held = stored_order(factory, "SECOND")
    assert [h["reason"] for h in held.holds] == ["payment"]

    ingest_batch(factory, [_paid(second)])
    reviewed = stored_order(factory, "SECOND")
    assert (reviewed.status, reviewed.holds) == ("allocated", [])
    assert reviewed.review is not None
    assert reviewed.review["merge_with"] == [first_id]  # the buyer's other order, and only that one
    assert reviewed.review["risk"] == {"score": 0, "factors": []}
