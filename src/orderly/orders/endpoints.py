"""Orders over HTTP: list and read, ingest, cancel, hold and release, and the rejections an ingest leaves
behind."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Literal

from fastapi import Body, Depends, Query

from orderly.core.pagination import decode_cursor, paginate
from orderly.core.text import StorableStr
from orderly.core.web import (
    Authenticated,
    Cursor,
    DateZoneOf,
    DayOrTime,
    DbSession,
    Factory,
    Limit,
    ReadSession,
    api_router,
    id_path,
    require,
)
from orderly.orders import corrections, holds, queries, service
from orderly.orders.domain import HoldReason, IngestReport, OrderStatus
from orderly.orders.ingest import ingest_batch
from orderly.orders.schemas import (
    AddressCorrectionIn,
    CancelIn,
    IngestItemResult,
    IngestRequest,
    IngestResult,
    OrderDetailOut,
    OrderPage,
    RejectionOut,
    RejectionPage,
    ReplayIn,
)
from orderly.review.schemas import NoteIn

router = api_router("orders")

OrderId = Annotated[int, id_path("order")]
RejectionId = Annotated[int, id_path("rejection")]


def _result(report: IngestReport) -> IngestResult:
    return IngestResult(
        **report.totals, items=[IngestItemResult.model_validate(asdict(item)) for item in report.items]
    )


@router.get("/orders", response_model=OrderPage)
def list_orders(
    session: ReadSession,
    zones: DateZoneOf,
    status: OrderStatus | None = None,
    shop: Annotated[StorableStr | None, Query(max_length=64, description="shop code")] = None,
    sku: Annotated[StorableStr | None, Query(max_length=200, description="our SKU or a platform SKU")] = None,
    country: Annotated[
        str | None, Query(pattern="^[A-Za-z]{2}$", description="shipping country, ISO 3166-1 alpha-2")
    ] = None,
    q: Annotated[
        StorableStr | None,
        Query(
            min_length=1,
            max_length=320,
            description="the platform order number, the buyer's name (or one word of it), email, phone or "
            "a tracking number",
        ),
    ] = None,
    placed_from: DayOrTime | None = None,
    placed_to: DayOrTime | None = None,
    channel: Annotated[
        StorableStr | None,
        Query(max_length=32, description="the shops' platform: shopify, amazon, manual..."),
    ] = None,
    tag: Annotated[StorableStr | None, Query(max_length=64, description="one of the order's tags")] = None,
    hold_reason: Annotated[HoldReason | None, Query(description="one of the order's holds")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> OrderPage:
    """Newest first. Filters combine; follow `next_cursor` to walk every match exactly once.
    `placed_from` and `placed_to` include the whole of a plain date's day: in the zone `tz`, else the
    shop's when one shop is asked for, else the hub's."""
    filters = queries.order_filters(
        session,
        zones,
        status=status,
        shop=shop,
        sku=sku,
        country=country,
        q=q,
        placed_from=placed_from,
        placed_to=placed_to,
        channel=channel,
        tag=tag,
        hold_reason=hold_reason,
    )
    return queries.list_orders(session, filters, cursor=cursor, limit=limit)


@router.get("/orders/{order_id}", response_model=OrderDetailOut)
def get_order(session: ReadSession, order_id: OrderId) -> OrderDetailOut:
    return queries.get_order(session, order_id)


#: The largest ingest body: a batch holds at most 10,000 orders (``IngestRequest``); a generated order is
#: about 0.9 KB of JSON and a large one 1.4 KB, so 32 MiB fits the largest batch of orders over twice
#: that size, while bounding what one request makes the hub parse (about ten times its size in memory).
INGEST_BODY_MAX = 32 << 20


@router.post("/orders/ingest", response_model=IngestResult, max_body_size=INGEST_BODY_MAX)
def ingest_orders(body: IngestRequest, factory: Factory, caller: Authenticated) -> IngestResult:
    """Store normalized orders idempotently and reserve their stock.

    Each order is checked on its own: the response is 200 with one item per order, in request order,
    and an order that cannot be taken in is `rejected` with its errors and kept for a replay.
    """
    # ingest_batch runs (and retries) its own transaction, so no request session is opened here.
    return _result(ingest_batch(factory, body.orders, actor=caller.name))


@router.post(
    "/orders/{order_id}/cancel",
    response_model=OrderDetailOut,
    dependencies=[Depends(require("cancels:write"))],
)
def cancel_order(
    session: DbSession, caller: Authenticated, order_id: OrderId, body: CancelIn
) -> OrderDetailOut:
    """Cancel in the hub; stock the order holds goes back to the pool."""
    service.cancel_order(session, order_id, actor=caller.name, reason=body.reason)
    return queries.get_order(session, order_id)


@router.patch(
    "/orders/{order_id}/address",
    response_model=OrderDetailOut,
    dependencies=[Depends(require("addresses:write"))],
)
def correct_address(
    session: DbSession, caller: Authenticated, order_id: OrderId, body: AddressCorrectionIn
) -> OrderDetailOut:
    """Correct the shipping address (the parts sent), recorded in the order's history with who and
    what changed; the order is then reviewed again: an address hold it no longer earns is lifted."""
    corrections.correct_address(session, order_id, body, actor=caller.name)
    return queries.get_order(session, order_id)


@router.post(
    "/orders/{order_id}/release",
    response_model=OrderDetailOut,
    dependencies=[Depends(require("holds:write"))],
)
def release_order(
    session: DbSession, caller: Authenticated, order_id: OrderId, body: NoteIn
) -> OrderDetailOut:
    """Lift every hold of an order on hold: it ships with the stock it kept or reserves stock now, and
    waits, held for stock only, when there is too little. The note is kept in its history."""
    holds.release_order(session, order_id, actor=caller.name, note=body.note)
    return queries.get_order(session, order_id)


@router.post(
    "/orders/{order_id}/approve",
    response_model=OrderDetailOut,
    dependencies=[Depends(require("holds:write"))],
)
def approve_order(
    session: DbSession, caller: Authenticated, order_id: OrderId, body: NoteIn
) -> OrderDetailOut:
    """Approve an order pending review or on hold: as a release, every hold is lifted and it ships with
    the stock it kept or reserves stock now (held for stock only when there is too little). The note is
    kept in its history. 409 for an order in any other status."""
    holds.approve_order(session, order_id, actor=caller.name, note=body.note)
    return queries.get_order(session, order_id)


@router.post(
    "/orders/{order_id}/hold", response_model=OrderDetailOut, dependencies=[Depends(require("holds:write"))]
)
def hold_order(session: DbSession, caller: Authenticated, order_id: OrderId, body: NoteIn) -> OrderDetailOut:
    """Hold an order by hand until a person releases it; it keeps any stock it reserved. The note is
    kept in its history."""
    holds.hold_order(session, order_id, actor=caller.name, note=body.note)
    return queries.get_order(session, order_id)


@router.get("/rejections", response_model=RejectionPage)
def list_rejections(
    session: ReadSession,
    status: Annotated[
        Literal["open", "resolved", "discarded", "all"], Query(description="`all` lists every status")
    ] = "open",
    limit: Limit = 50,
    cursor: Cursor = None,
) -> RejectionPage:
    """Oldest first, so a list being worked through keeps its order."""
    rows = service.list_rejections(
        session,
        status=None if status == "all" else status,
        after_id=decode_cursor(cursor) if cursor else 0,
        limit=limit + 1,
    )
    page, next_cursor = paginate(rows, limit, lambda row: row.id)
    return RejectionPage(items=[RejectionOut.model_validate(row) for row in page], next_cursor=next_cursor)


@router.post("/rejections/{rejection_id}/replay", response_model=IngestResult)
def replay_rejection(
    factory: Factory,
    caller: Authenticated,
    rejection_id: RejectionId,
    body: Annotated[ReplayIn | None, Body()] = None,
) -> IngestResult:
    """Ingest an open rejection again, after its cause was fixed or with a corrected `payload`."""
    payload = body.payload if body is not None else None
    return _result(service.replay_rejections(factory, [rejection_id], payload=payload, actor=caller.name))


@router.post("/rejections/{rejection_id}/discard", response_model=RejectionOut)
def discard_rejection(session: DbSession, caller: Authenticated, rejection_id: RejectionId) -> RejectionOut:
    """Give up on an open rejection: it leaves the open list, the payload is kept."""
    service.discard_rejection(session, rejection_id, actor=caller.name)
    return queries.get_rejection(session, rejection_id)
