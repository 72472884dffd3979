"""Inventory over HTTP: stock per warehouse, manual movements, the ledger check and warehouses."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query, status

from orderly.core.pagination import decode_cursor, paginate
from orderly.core.text import StorableStr
from orderly.core.web import Authenticated, Cursor, DbSession, Limit, ReadSession, api_router
from orderly.inventory import service
from orderly.inventory.schemas import (
    AdjustIn,
    BinOut,
    BinsIn,
    CountIn,
    DriftOut,
    ReceiveIn,
    SafetyIn,
    StockOut,
    StockPage,
    VerifyOut,
    WarehouseIn,
    WarehouseOut,
    WarehouseUpdate,
)

router = api_router("inventory")


@router.get("/stock", response_model=StockPage)
def list_stock(session: ReadSession, limit: Limit = 50, cursor: Cursor = None) -> StockPage:
    """Every SKU, in the order created: on hand, reserved and safety over all warehouses, each
    warehouse's figures, and what can be sold (a bundle's from its components)."""
    rows = service.list_stock(session, after_id=decode_cursor(cursor) if cursor else 0, limit=limit + 1)
    items, next_cursor = paginate(rows, limit, lambda row: row.id)
    return StockPage(items=items, next_cursor=next_cursor)


@router.put("/bins", response_model=list[BinOut])
def set_bins(session: DbSession, body: BinsIn) -> list[BinOut]:
    """Put SKUs in their bins, one or thousands at once (a SKU set again moves to the new bin). All or
    nothing: 404 names every unknown SKU and warehouse, 400 every bundle (its components are picked)."""
    return service.set_bins(session, body.bins)


@router.get("/bins", response_model=list[BinOut])
def list_bins(
    session: ReadSession,
    warehouse: Annotated[
        StorableStr | None, Query(min_length=1, max_length=64, description="warehouse code")
    ] = None,
) -> list[BinOut]:
    """Where each SKU is picked, warehouse by warehouse in the picker's walking order: bins with a
    walk sequence by it, then the others in the natural order of their codes (A-2 before A-10)."""
    return service.list_bins(session, warehouse)


@router.get("/stock/{sku:path}", response_model=list[StockOut])
def stock_of(
    session: ReadSession, sku: Annotated[StorableStr, Path(max_length=64, description="our SKU")]
) -> list[StockOut]:
    """On hand, reserved, safety and available in each warehouse that has held the SKU."""
    return service.stock_of(session, sku)


@router.post("/stock/receive", response_model=StockOut)
def receive(session: DbSession, caller: Authenticated, body: ReceiveIn) -> StockOut:
    return service.receive(
        session, body.sku, body.warehouse, body.quantity, actor=caller.name, reason=body.reason
    )


@router.post("/stock/adjust", response_model=StockOut)
def adjust(session: DbSession, caller: Authenticated, body: AdjustIn) -> StockOut:
    return service.adjust(
        session, body.sku, body.warehouse, body.delta, actor=caller.name, reason=body.reason
    )


@router.post("/stock/count", response_model=StockOut)
def count(session: DbSession, caller: Authenticated, body: CountIn) -> StockOut:
    """Set on hand to what was counted; the difference goes to the ledger."""
    return service.count(
        session, body.sku, body.warehouse, body.counted, actor=caller.name, reason=body.reason
    )


@router.post("/stock/safety", response_model=StockOut)
def set_safety(session: DbSession, caller: Authenticated, body: SafetyIn) -> StockOut:
    """Set the safety stock, which orders never reserve."""
    return service.set_safety(
        session, body.sku, body.warehouse, body.safety, actor=caller.name, reason=body.reason
    )


@router.post("/stock/verify", response_model=VerifyOut)
def verify(
    session: DbSession,
    caller: Authenticated,
    repair: Annotated[bool, Query(description="rewrite drifted levels to what the ledger says")] = False,
) -> VerifyOut:
    """Compare every stock level with its ledger; `repaired` tells whether any level was rewritten."""
    drifts = service.verify(session, repair=repair, actor=caller.name)
    return VerifyOut(repaired=repair and bool(drifts), drifts=[DriftOut.model_validate(d) for d in drifts])


@router.get("/warehouses", response_model=list[WarehouseOut])
def list_warehouses(session: ReadSession) -> list[WarehouseOut]:
    """In the order allocation tries them: by priority, then id."""
    return service.list_warehouses(session)


@router.post("/warehouses", response_model=WarehouseOut, status_code=status.HTTP_201_CREATED)
def create_warehouse(session: DbSession, body: WarehouseIn) -> WarehouseOut:
    return service.create_warehouse(session, body)


WarehouseCode = Annotated[str, Path(min_length=1, max_length=64, description="the warehouse's code")]


@router.patch("/warehouses/{code}", response_model=WarehouseOut)
def update_warehouse(session: DbSession, code: WarehouseCode, body: WarehouseUpdate) -> WarehouseOut:
    """Change the fields sent: name, kind, country, priority, or switch it off (`active: false`)."""
    return service.update_warehouse(session, code, body)


@router.delete("/warehouses/{code}", status_code=status.HTTP_204_NO_CONTENT)
def delete_warehouse(session: DbSession, code: WarehouseCode) -> None:
    """Delete a warehouse that never held stock; 409 names the SKUs it holds otherwise."""
    service.delete_warehouse(session, code)
