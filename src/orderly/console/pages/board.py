"""The board: where every open order stands, as columns with their counts and latest cards.

Live by polling, not server-sent events: the page asks htmx for the columns partial every 5 seconds
while it is visible (``hx-trigger="every 5s [document.visibilityState === 'visible']"``). A poll is an
ordinary short read-only request, so it passes every proxy, holds no worker thread or connection
between updates (a sync route holds a thread for as long as it streams, and an event stream would do so
for every open board), needs no change feed from the write side, and keeps working across a hub
restart. Five seconds is live enough for a board people glance at; the read it costs is bounded.

What each column counts (orders, unless said):

- **Pending review**: status ``pending_review`` (ingest reviews in the same transaction, so an order
  stays here only while a person has still to decide).
- **On hold**: status ``on_hold``, whatever the reasons (the exceptions page groups them).
- **Approved**: status ``approved``: approved without the stock it needs, waiting for it (a backorder).
- **To pick**: statuses ``allocated``, ``label_printed`` and ``partly_shipped`` (stock reserved, the
  rest still to leave) without a packed parcel.
- **Packed**: the orders of those statuses with a parcel ``packed`` and waiting for its carrier
  (fulfilment's shipments). A held order with a packed parcel counts as on hold, not packed.
- **Shipped**: status ``shipped``: handed over, not yet delivered (delivered, cancelled, returned and
  fulfilled by the platform are done and on no column).
- **Exceptions**: parcels that need a person, counted as parcels: the carrier reported a problem
  (shipment ``exception``), the shop refused the tracking for good (a ``refused`` write-back), or the
  label's purchase is in an ``unknown`` state (``fulfilment.repository.PARCEL_PROBLEMS``). Held orders
  are the on-hold column's.

Cost at a million orders: the order columns are one grouped count over ``ix_orders_status_id`` limited
to the open statuses (an index-only scan of their entries, none of the done orders'); shipped orders,
which can be many (they stay shipped until the carrier reports them delivered), are counted through
the same index no further than ``SHIPPED_CAP`` (shown as "10000+"); the packed
column a count of the packed parcels' orders (``ix_shipments_status_id``), each exception an indexed
count, and each column's cards a ``LIMIT`` read of the same indexes (the to-pick cards looking up each
candidate's parcels through ``ix_shipments_order``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from orderly.console.i18n import N_
from orderly.console.pages.common import render
from orderly.console.viewer import SignedIn, Viewer, allowed
from orderly.core.web import ReadSession
from orderly.fulfilment import repository as fulfilment
from orderly.orders import queries
from orderly.orders.domain import OrderStatus

router = APIRouter(include_in_schema=False)

#: How many cards a column shows (its newest).
CARDS = 6
#: How often an open board asks for its columns again.
POLL_SECONDS = 5
#: The shipped column counts this far ("10000+" beyond): orders stay shipped until delivered.
SHIPPED_CAP = 10_000

S = OrderStatus
#: Stock reserved, the rest still to leave: to pick, or packed.
IN_THE_WAREHOUSE = (S.ALLOCATED, S.LABEL_PRINTED, S.PARTLY_SHIPPED)
#: The order columns counting statuses as they are: key, title, statuses.
BY_STATUS = (
    ("pending_review", N_("Pending review"), (S.PENDING_REVIEW,)),
    ("on_hold", N_("On hold"), (S.ON_HOLD,)),
    ("approved", N_("Approved"), (S.APPROVED,)),
)
PROBLEM_NAMES = {
    "carrier_exception": N_("The carrier reported a problem"),
    "writeback_refused": N_("The shop refused the tracking"),
    "label_unknown": N_("Label purchase in an unknown state"),
}


@dataclass
class Card:
    order: queries.OrderCard
    problem: str | None = None  # an exception's kind
    detail: str | None = None


@dataclass
class Column:
    key: str
    title: str
    count: int
    cards: list[Card] = field(default_factory=list)
    link: str | None = None  # the order list showing the column's orders

    @property
    def shown(self) -> str:
        return f"{SHIPPED_CAP}+" if self.key == "shipped" and self.count >= SHIPPED_CAP else str(self.count)


def columns(session: Session, viewer: Viewer) -> list[Column]:
    counted = [status for _, _, statuses in BY_STATUS for status in statuses]
    counts = queries.count_by_status(session, [*counted, *IN_THE_WAREHOUSE])
    board = [
        Column(
            key,
            title,
            sum(counts.get(status, 0) for status in statuses),
            [Card(card) for card in queries.latest_cards(session, statuses, limit=CARDS)],
            f"/orders?status={statuses[0]}",
        )
        for key, title, statuses in BY_STATUS
    ]
    packed, newest_packed = fulfilment.packed_orders(session, IN_THE_WAREHOUSE, limit=CARDS)
    to_pick = fulfilment.newest_unpacked(session, IN_THE_WAREHOUSE, limit=CARDS)
    in_warehouse = sum(counts.get(status, 0) for status in IN_THE_WAREHOUSE)
    found = queries.cards(session, [*to_pick, *newest_packed])
    board += [
        Column("to_pick", N_("To pick"), in_warehouse - packed, [Card(found[i]) for i in to_pick]),
        Column("packed", N_("Packed"), packed, [Card(found[i]) for i in newest_packed]),
        Column(
            "shipped",
            N_("Shipped"),
            queries.count_capped(session, S.SHIPPED, SHIPPED_CAP),
            [Card(card) for card in queries.latest_cards(session, [S.SHIPPED], limit=CARDS)],
            f"/orders?status={S.SHIPPED}",
        ),
    ]
    if viewer.may("fulfilment:read"):
        board.append(_exceptions(session))
    return board


def _exceptions(session: Session) -> Column:
    problems = fulfilment.parcel_problems(session, limit=CARDS)
    latest = sorted(
        ((kind, problem) for kind, (_, found) in problems.items() for problem in found),
        key=lambda item: item[1].shipment_id,
        reverse=True,
    )[:CARDS]
    orders = queries.cards(session, {problem.order_id for _, problem in latest})
    return Column(
        "exceptions",
        N_("Exceptions"),
        sum(count for count, _ in problems.values()),
        [Card(orders[problem.order_id], kind, problem.detail) for kind, problem in latest],
    )


@router.get("/board", response_class=HTMLResponse)
def board_page(request: Request, session: ReadSession, viewer: SignedIn) -> HTMLResponse:
    """The board; htmx polls it for the columns alone."""
    allowed(viewer, "orders:read")
    template = "_board_columns.html" if request.headers.get("hx-request") else "board.html"
    return render(
        request,
        template,
        viewer,
        columns=columns(session, viewer),
        problem_names=PROBLEM_NAMES,
        poll_seconds=POLL_SECONDS,
    )
