"""Inventory over HTTP: stock per warehouse, manual movements, the ledger check, warehouses and
transfers between them."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query, status

from orderly.core.pagination import decode_cursor, paginate
from orderly.core.text import StorableStr
from orderly.core.web import (
    Authenticated,
    Cursor,
    DbSession,
    Limit,
    ReadSession,
    api_router,
    id_path,
    require,
)
from orderly.inventory import service
from orderly.inventory.domain import TransferStatus
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
    TransferCancelIn,
    TransferIn,
    TransferOut,
    TransferPage,
    TransferReceiveIn,
    TransferShipIn,
    VerifyOut,
    WarehouseIn,
    WarehouseOut,
    WarehouseUpdate,
)

router = api_router("inventory", area="stock")


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


@router.delete("/bins/{warehouse}/{sku:path}", status_code=status.HTTP_204_NO_CONTENT)
def clear_bin(
    session: DbSession,
    warehouse: Annotated[StorableStr, Path(min_length=1, max_length=64, description="warehouse code")],
    sku: Annotated[StorableStr, Path(min_length=1, max_length=64, description="our SKU")],
) -> None:
    """Take a SKU out of its bin in a warehouse (it is then picked last). 404 when it has none."""
    service.clear_bin(session, sku, warehouse)


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
    """Compare every stock level with its ledger; `repaired` tells whether any level was rewritten. A
    level whose ledger sums to figures no level may hold keeps its own and says why (`cannot_repair`)."""
    drifts = service.verify(session, repair=repair, actor=caller.name)
    repaired = repair and any(d.cannot_repair is None for d in drifts)
    return VerifyOut(repaired=repaired, drifts=[DriftOut.model_validate(d) for d in drifts])


@router.get("/warehouses", response_model=list[WarehouseOut])
def list_warehouses(session: ReadSession) -> list[WarehouseOut]:
    """In the order allocation tries them: by priority, then id."""
    return service.list_warehouses(session)


# Warehouses are master data, as the catalog: an admin's.
@router.post(
    "/warehouses",
    response_model=WarehouseOut,
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(require("catalog:write"))],
)
def create_warehouse(session: DbSession, body: WarehouseIn) -> WarehouseOut:
    return service.create_warehouse(session, body)


WarehouseCode = Annotated[str, Path(min_length=1, max_length=64, description="the warehouse's code")]


@router.patch(
    "/warehouses/{code}", response_model=WarehouseOut, dependencies=[Depends(require("catalog:write"))]
)
def update_warehouse(session: DbSession, code: WarehouseCode, body: WarehouseUpdate) -> WarehouseOut:
    """Change the fields sent: name, kind, country, priority, or switch it off (`active: false`)."""
    return service.update_warehouse(session, code, body)


@router.delete(
    "/warehouses/{code}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[Depends(require("catalog:write"))],
)
def delete_warehouse(session: DbSession, code: WarehouseCode) -> None:
    """Delete a warehouse that never held stock; 409 names the SKUs it holds otherwise."""
    service.delete_warehouse(session, code)


TransferId = Annotated[int, id_path("transfer")]
CodeFilter = Annotated[StorableStr | None, Query(min_length=1, max_length=64, description="warehouse code")]


@router.post("/transfers", response_model=TransferOut, status_code=status.HTTP_201_CREATED)
def create_transfer(session: DbSession, caller: Authenticated, body: TransferIn) -> TransferOut:
    """Units to move between warehouses, held at the source from now on (orders and shops can no
    longer have them). 404 for an unknown warehouse or SKU, 409 when the source lacks available
    units (every short SKU named), 400 for a bundle (transfer its components)."""
    transfer_id = service.create_transfer(session, body, actor=caller.name)
    return service.get_transfer(session, transfer_id)


@router.get("/transfers", response_model=TransferPage)
def list_transfers(
    session: ReadSession,
    status: Annotated[TransferStatus | None, Query()] = None,
    from_warehouse: CodeFilter = None,
    to_warehouse: CodeFilter = None,
    sku: Annotated[StorableStr | None, Query(min_length=1, max_length=64, description="our SKU")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> TransferPage:
    """Transfers matching every filter given, newest first."""
    rows = service.list_transfers(
        session,
        status=status,
        from_warehouse=from_warehouse,
        to_warehouse=to_warehouse,
        sku=sku,
        before_id=decode_cursor(cursor) if cursor else None,
        limit=limit + 1,
    )
    items, next_cursor = paginate(rows, limit, lambda row: row.id)
    return TransferPage(items=items, next_cursor=next_cursor)


@router.get("/transfers/{transfer_id}", response_model=TransferOut)
def get_transfer(session: ReadSession, transfer_id: TransferId) -> TransferOut:
    """A transfer with its lines (shipped, received, written off, in transit, differences) and history."""
    return service.get_transfer(session, transfer_id)


@router.post("/transfers/{transfer_id}/ship", response_model=TransferOut)
def ship_transfer(
    session: DbSession, caller: Authenticated, transfer_id: TransferId, body: TransferShipIn
) -> TransferOut:
    """The held units leave the source and are in transit. 409 unless the transfer is created."""
    service.ship_transfer(session, transfer_id, actor=caller.name, note=body.note)
    return service.get_transfer(session, transfer_id)


@router.post("/transfers/{transfer_id}/receive", response_model=TransferOut)
def receive_transfer(
    session: DbSession, caller: Authenticated, transfer_id: TransferId, body: TransferReceiveIn
) -> TransferOut:
    """What arrived, per SKU; the rest stays in transit, or with `close` is written off. A difference
    (more than shipped, or short on closing) needs a reason. 409 unless the transfer is in transit."""
    service.receive_transfer(session, transfer_id, body, actor=caller.name)
    return service.get_transfer(session, transfer_id)


@router.post("/transfers/{transfer_id}/cancel", response_model=TransferOut)
def cancel_transfer(
    session: DbSession, caller: Authenticated, transfer_id: TransferId, body: TransferCancelIn
) -> TransferOut:
    """Give the held units back to the source. 409 once the transfer has shipped."""
    service.cancel_transfer(session, transfer_id, actor=caller.name, reason=body.reason)
    return service.get_transfer(session, transfer_id)
