"""What the end-to-end tests of a platform's returns read once an order came back whole."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from orderly.inventory import service as inventory
from orderly.inventory.schemas import StockOut
from orderly.orders.models import OrderEvent


def returned_whole(session: Session, order_id: int, sku: str) -> tuple[OrderEvent, StockOut]:
    """The order's one move to returned and the SKU's stock after it; the ledger still equals the
    levels."""
    (event,) = session.scalars(
        select(OrderEvent).where(OrderEvent.order_id == order_id, OrderEvent.to_status == "returned")
    ).all()
    (stock,) = inventory.stock_of(session, sku)
    assert inventory.verify(session, repair=False, actor="test") == []
    return event, stock
