"""Ingest: store a batch of normalized orders idempotently and reserve their stock, set-based.

A batch is one transaction, in named phases:

1. **check** each order on its own (``validation.py``; a bad one becomes a rejection, ``rejections.py``,
   and the rest go on) and resolve shops and SKUs with one query each;
2. **versions**: of several versions of one order the newest counts; known orders are compared with
   the version stored (``domain.against_stored``) and those to change are locked, in id order;
3. **load** what the batch needs: bundles, the changed orders' lines and reservations, what each
   update does (``domain.decide_update``), the stock as it stands (read, not locked);
4. **review** the orders to plan, once for the batch: a verdict per order;
5. **plan** the reservations in memory (``inventory.domain.allocate``), first placed, first served;
6. **write** the platform's payloads, then orders (each naming its payload), lines and history with one
   statement per table;
7. **lock and book**: lock the stock rows of every product involved, in id order, plan again on the
   locked figures when another writer moved them, correct the few orders whose outcome changed, and
   book ledger rows and level changes.

Locking stock last keeps the time other writers wait short, and what is booked always comes from the
locked figures. ``(shop, external id)`` is unique in the database: new orders that another transaction
inserted first make the whole batch run again and find them known.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from orderly.catalog import repository as catalog_repo
from orderly.catalog.domain import expand
from orderly.core.clock import utcnow
from orderly.core.db import collector_paused, is_retryable, run_in_transaction, update_rows
from orderly.core.phrases import Arg, Phrase, listed
from orderly.inventory import repository as inventory_repo
from orderly.inventory.domain import Allocation, Demand, Level, StockKey, allocate, shipped_from
from orderly.inventory.service import StockBook
from orderly.orders import rejections, search, validation
from orderly.orders import repository as repo
from orderly.orders.domain import (
    CLOSED,
    LEFT_UNSEEN,
    Arrival,
    FigureChanges,
    IngestReport,
    ItemOutcome,
    ItemResult,
    LineSignature,
    OrderStatus,
    Outcome,
    Returned,
    ReviewVerdict,
    Sale,
    Shipped,
    ShippedChanges,
    UpdateDecision,
    against_stored,
    came_before,
    check_change,
    content_digest,
    decide_update,
    figure_changes,
    imported_settled,
    left_the_hubs_shelves,
    left_to_ship,
    left_unseen_note,
    lines_changed,
    outcome,
    releases_stock,
    shipped_changes,
    status_at_import,
    supersedes,
)
from orderly.orders.models import Order
from orderly.orders.rejections import Rejection
from orderly.orders.schemas import NormalizedOrder, amounts
from orderly.review.batch import BatchReview, review_for_ingest

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Candidate:
    index: int
    order: NormalizedOrder
    shop_id: int
    product_ids: list[int]
    subtotal: int
    total: int
    key: repo.OrderKey = field(init=False)
    digest: str = field(init=False)
    #: The status of an order already settled on the platform (cancelled, fulfilled by the platform,
    #: or shipped whole outside the hub), or None when it waits for the hub to ship it.
    settled: OrderStatus | None = field(init=False)

    def __post_init__(self) -> None:
        order = self.order
        self.key = (self.shop_id, order["external_id"])
        self.digest = content_digest(order)
        self._settle()

    def _settle(self) -> None:
        order = self.order
        self.settled = status_at_import(
            cancelled=order["cancelled"],
            platform_fulfilled=order["fulfillment"] == "platform",
            shipped=sum(line["shipped"] for line in order["lines"]),
            left_to_ship=sum(line["quantity"] - line["shipped"] for line in order["lines"]),
            returned=self.returned().whole,
        )

    def returned(self) -> Returned:
        """What the platform says came back of the order."""
        lines = self.order["lines"]
        return Returned(
            sum(line.get("returned", 0) for line in lines),
            sum(line["quantity"] for line in lines),
            self.order["platform_status"],
        )

    def keep_shipped(self, stored: list[tuple[int, int, int]]) -> None:
        """A platform takes no shipment back, and the hub's own parcels count as shipped before the
        platform hears of them: each line keeps at least the units stored as shipped (by line number,
        while its product is the same), so no version ships or reserves them again."""
        raised = False
        for line, pid, (stored_pid, _, shipped) in zip(
            self.order["lines"], self.product_ids, stored, strict=False
        ):
            if pid == stored_pid and shipped > line["shipped"]:
                line["shipped"] = min(shipped, line["quantity"])
                raised = True
        if raised:
            self._settle()

    def outcome_against(self, known: repo.KnownOrder) -> ItemOutcome:
        """Updated (it is newer), unchanged (the same version again) or stale."""
        verdict = against_stored(
            self.order["updated_at"], self.digest, known.platform_updated_at, known.content_digest
        )
        return "updated" if verdict == "newer" else verdict

    def lines(self) -> list[tuple[int, int, int]]:
        """(product, quantity, units shipped) of each line."""
        return [
            (pid, line["quantity"], line["shipped"])
            for pid, line in zip(self.product_ids, self.order["lines"], strict=True)
        ]


def ingest_batch(
    factory: sessionmaker[Session],
    items: Sequence[Any],
    *,
    actor: str = "ingest",
    replaying: Sequence[int] | None = None,
) -> IngestReport:
    """Ingest in one transaction, retried after a lost race; a batch the database refuses is split until
    the order it refuses is alone, and that one is stored as a rejection."""
    try:
        with collector_paused():
            return run_in_transaction(factory, lambda s: ingest(s, items, actor=actor, replaying=replaying))
    except DBAPIError as exc:
        if is_retryable(exc):
            raise
        if len(items) == 1:
            log.warning("database refused an order: %s", exc.orig)
            message = f"the database refused this order: {exc.orig}".splitlines()[0][:500]
            refused = [Rejection(0, items[0], [{"field": "order", "message": message}])]
            return run_in_transaction(
                factory, lambda s: IngestReport(rejections.store(s, refused, replaying, actor))
            )
    middle = len(items) // 2
    first = ingest_batch(
        factory, items[:middle], actor=actor, replaying=replaying[:middle] if replaying else None
    )
    second = ingest_batch(
        factory, items[middle:], actor=actor, replaying=replaying[middle:] if replaying else None
    )
    for item in second.items:
        item.index += middle
    return IngestReport(first.items + second.items)


def ingest(
    session: Session,
    items: Sequence[Any],
    *,
    actor: str = "ingest",
    replaying: Sequence[int] | None = None,
) -> IngestReport:
    """Store and reserve a batch of orders in the caller's transaction.

    ``replaying`` gives, for each item, the rejection it replays; that row is then updated instead of a
    new one being written.
    """
    now = utcnow()
    parsed, invalid = validation.parse(items)
    rejected = [Rejection(index, items[index], errors) for index, errors in invalid]
    candidates = _resolve(session, parsed, items, rejected)
    results: dict[int, ItemResult] = {}
    fresh, updates, locked = _versions(session, candidates, results)
    batch = _Batch(session, fresh, updates, locked, actor, now)
    results.update(batch.run())
    _close_rejections(session, batch, now)
    for rejection_result in rejections.store(session, rejected, replaying, actor):
        results[rejection_result.index] = rejection_result
    return IngestReport([results[i] for i in sorted(results)])


def _resolve(
    session: Session,
    parsed: list[tuple[int, NormalizedOrder]],
    items: Sequence[Any],
    rejected: list[Rejection],
) -> list[_Candidate]:
    """Find each order's shop and each line's product; an order with any unknown, or a line or amount
    that makes no sense, is rejected whole."""
    shops = repo.shop_ids(session, {o["shop"] for _, o in parsed})
    skus = {line["platform_sku"] for _, o in parsed for line in o["lines"] if line["platform_sku"]}
    listings = {line["listing_id"] for _, o in parsed for line in o["lines"] if line["listing_id"]}
    by_sku, by_listing = catalog_repo.mappings_for(session, shops.values(), skus, listings)
    by_code = catalog_repo.product_ids_by_sku(session, skus)

    candidates: list[_Candidate] = []
    for index, order in parsed:
        shop_id = shops.get(order["shop"])
        if shop_id is None:
            errors = [{"field": "shop", "message": f"unknown shop {order['shop']!r}"}]
            rejected.append(Rejection(index, items[index], errors))
            continue
        product_ids: list[int] = []
        errors = []
        for number, line in enumerate(order["lines"]):
            errors.extend(validation.line_errors(number, line))
            if not (line["platform_sku"] or line["listing_id"]):
                continue
            pid = (
                (line["platform_sku"] and by_sku.get((shop_id, line["platform_sku"])))
                or (line["listing_id"] and by_listing.get((shop_id, line["listing_id"])))
                or (line["platform_sku"] and by_code.get(line["platform_sku"]))
            )
            if pid:
                product_ids.append(pid)
            else:
                errors.append(validation.unknown_product(number, line, order["shop"]))
        subtotal, total = amounts(order)
        errors.extend(validation.amount_errors(subtotal, total))
        if errors:
            rejected.append(Rejection(index, items[index], errors))
        else:
            candidates.append(_Candidate(index, order, shop_id, product_ids, subtotal, total))
    return candidates


def _versions(
    session: Session, candidates: list[_Candidate], results: dict[int, ItemResult]
) -> tuple[list[_Candidate], list[_Candidate], dict[repo.OrderKey, repo.KnownOrder]]:
    """(new orders, newer versions of known ones, those known orders locked): the newest version of
    each order in the batch, compared with the one stored; the others get their result here."""
    newest: dict[repo.OrderKey, _Candidate] = {}
    for cand in candidates:
        other = newest.get(cand.key)
        if other is None or supersedes(cand.order["updated_at"], other.order["updated_at"]):
            if other is not None:
                results[other.index] = _result(other, "stale")
            newest[cand.key] = cand
        else:
            results[cand.index] = _result(cand, "stale")
    ordered = sorted(newest.values(), key=lambda c: c.key)  # one insert order for all writers

    known = repo.find_known(session, [c.key for c in ordered])
    fresh = [c for c in ordered if c.key not in known]
    newer: list[_Candidate] = []
    for cand in ordered:
        if cand.key in known:
            against = cand.outcome_against(known[cand.key])
            if against == "updated":
                newer.append(cand)
            else:
                results[cand.index] = _result(cand, against, known[cand.key].id, known[cand.key].status)
    # Lock the orders about to change and compare again with what they hold under the lock.
    locked = repo.lock_known(session, [known[c.key].id for c in newer]) if newer else {}
    updates = [c for c in newer if c.outcome_against(locked[c.key]) == "updated"]
    behind = _behind_in_shipping(session, updates, locked)
    updates = [c for c in updates if c.key not in behind]
    updating = {c.key for c in updates}
    for cand in newer:
        if cand.key not in updating:
            results[cand.index] = _result(cand, "stale", locked[cand.key].id, locked[cand.key].status)
    return fresh, updates, locked


def _behind_in_shipping(
    session: Session, updates: list[_Candidate], locked: dict[repo.OrderKey, repo.KnownOrder]
) -> set[repo.OrderKey]:
    """Of the versions with the stored one's stamp, those that came before it (``domain.came_before``):
    fewer units shipped, or not yet returned whole when the order is returned."""
    ties = {
        locked[c.key].id: c for c in updates if c.order["updated_at"] == locked[c.key].platform_updated_at
    }
    if not ties:
        return set()
    stored = repo.line_products(session, ties)
    return {
        cand.key
        for order_id, cand in ties.items()
        if came_before(
            sum(line["shipped"] for line in cand.order["lines"]),
            sum(shipped for _, _, shipped in stored.get(order_id, [])),
        )
        or (locked[cand.key].status == OrderStatus.RETURNED and not cand.returned().whole)
    }


def _result(
    cand: _Candidate, outcome: ItemOutcome, order_id: int | None = None, status: str | None = None
) -> ItemResult:
    return ItemResult(cand.index, cand.order["shop"], cand.order["external_id"], outcome, order_id, status)


HEADER_COLUMNS = (
    "payment_status",
    "payment_method",
    "platform_status",
    "currency",
    "subtotal",
    "shipping_total",
    "discount_total",
    "tax_total",
    "total",
    "buyer_name",
    "buyer_email",
    "buyer_phone",
    "buyer_platform_id",
    "ship_name",
    "ship_line1",
    "ship_line2",
    "ship_city",
    "ship_region",
    "ship_postal_code",
    "ship_country",
    "ship_phone",
    "billing_country",
    "buyer_remark",
    "seller_remark",
    "tags",
    "placed_at",
    "platform_updated_at",
    "content_digest",
    "updated_at",
)
NEW_ORDER_COLUMNS = (
    "shop_id",
    "external_id",
    "status",
    "warehouse_id",
    "holds",
    "review",
    "routing",
    "created_at",
    "shipments",
    "raw_payload_id",
    *HEADER_COLUMNS,
)


_TAGS = HEADER_COLUMNS.index("tags")


def _header(cand: _Candidate, now: datetime) -> tuple[Any, ...]:
    """What the platform says of the order, in ``HEADER_COLUMNS`` order."""
    order, buyer, address = cand.order, cand.order["buyer"], cand.order["shipping_address"]
    return (
        str(order["payment_status"]),
        order["payment_method"],
        order["platform_status"],
        order["currency"],
        cand.subtotal,
        order["shipping_total"],
        order["discount_total"],
        order["tax_total"],
        cand.total,
        buyer["name"],
        buyer["email"],
        buyer["phone"],
        buyer["platform_id"],
        address["name"],
        address["line1"],
        address["line2"],
        address["city"],
        address["region"],
        address["postal_code"],
        address["country"],
        address["phone"],
        order["billing_country"],
        order["buyer_remark"],
        order["seller_remark"],
        order["tags"],
        order["placed_at"],
        order["updated_at"],
        cand.digest,
        now,
    )


def _shipments(order: NormalizedOrder) -> list[dict[str, Any]] | None:
    """The platform's shipments as stored (JSON), or None when this version does not list them."""
    if order["shipments"] is None:
        return None
    return [
        {**shipment, "shipped_at": at.astimezone(UTC).isoformat() if (at := shipment["shipped_at"]) else None}
        for shipment in order["shipments"]
    ]


def _lines(cand: _Candidate) -> list[list[Any]]:
    """The order's lines in ``repo.LINE_COLUMNS`` order; the order id (first) is set once known."""
    return [
        [
            0,
            number,
            line["platform_sku"],
            line["listing_id"],
            pid,
            line["title"],
            line["quantity"],
            line["shipped"],
            line["unit_price"],
            line["discount"],
            line["tax"],
        ]
        for number, (line, pid) in enumerate(zip(cand.order["lines"], cand.product_ids, strict=True), start=1)
    ]


def _with_order(lines: list[list[Any]], order_id: int) -> list[list[Any]]:
    for line in lines:
        line[0] = order_id
    return lines


def _shipped(cand: _Candidate, parts: dict[int, list[tuple[int, int]]]) -> dict[int, int]:
    return expand(((pid, shipped) for pid, _, shipped in cand.lines() if shipped), parts)


@dataclass
class _Loaded:
    """What the batch needs from the database, read before anything is decided (stock not locked)."""

    parts: dict[int, list[tuple[int, int]]]  # bundle components
    warehouses: list[int]  # active, in the order allocation tries them
    warehouse_codes: dict[int, str]
    decisions: dict[repo.OrderKey, UpdateDecision]  # what each newer version does to its order
    planned: list[_Candidate]  # reviewed and allocated: new orders not settled, updates planned again
    needs: dict[repo.OrderKey, dict[int, int]]  # of the planned: units by product, bundles expanded
    held: dict[int, dict[StockKey, int]]  # what each updated order holds, less what it shipped
    shipments: list[tuple[int, dict[StockKey, int]]]  # units updated orders shipped outside the hub
    releases: list[tuple[int, str]]  # orders whose stock goes back, with why
    #: New orders shipped from the hub's shelves before the hub saw them: their shipped units, to take
    #: out of stock as shipped (``NormalizedOrder.shipped_from_stock``)
    left_unseen: list[Demand]
    stock_products: set[int]  # every product whose stock the batch reads, locks and books
    levels: dict[StockKey, Level]  # their levels as read


@dataclass
class _Plan:
    wanted: list[Demand]  # first placed, first served
    seen: dict[StockKey, Level]  # the stock as read, before this batch's releases and shipments
    guessed: dict[Any, Allocation]  # on the stock as read
    left_unseen: list[Allocation]  # where the units of orders shipped before the hub saw them left from


class _Batch:
    """Decides and writes what happens to new and changed orders and their stock: load, review,
    plan, write, then lock and book."""

    def __init__(
        self,
        session: Session,
        fresh: list[_Candidate],
        updates: list[_Candidate],
        locked: dict[repo.OrderKey, repo.KnownOrder],
        actor: str,
        now: datetime,
    ) -> None:
        self.session, self.fresh, self.updates, self.locked = session, fresh, updates, locked
        self.actor, self.now = actor, now
        self.results: dict[int, ItemResult] = {}
        self.ids: dict[repo.OrderKey, int] = {k: v.id for k, v in locked.items()}
        self.events: dict[repo.OrderKey, tuple[Any, ...]] = {}  # rows as repo.insert_events takes them
        self.shipped_at: dict[repo.OrderKey, datetime] = {}  # set by this batch: updates shipped whole
        self.index_of = {c.key: c.index for c in fresh + updates}
        self.orders = {c.key: c.order for c in fresh + updates}
        self.verdicts: dict[repo.OrderKey, ReviewVerdict] = {}
        self.sku_codes: dict[int, str] = {}
        self.warehouse_codes: dict[int, str] = {}
        self.review: BatchReview | None = None
        self.raw_ids: dict[repo.OrderKey, int] = {}

    def run(self) -> dict[int, ItemResult]:
        if not self.fresh and not self.updates:
            return {}
        loaded = self._load()
        review = self._review(loaded)
        plan = self._plan(loaded)
        self._write(loaded, review, plan)
        self._lock_and_book(loaded, plan)
        return self.results

    # --- load ----------------------------------------------------------------------------------------

    def _load(self) -> _Loaded:
        session = self.session
        parts = catalog_repo.bundle_parts(
            session, {pid for c in self.fresh + self.updates for pid in c.product_ids}
        )
        update_ids = [self.locked[c.key].id for c in self.updates]
        old_lines = repo.line_products(session, update_ids)
        for cand in self.updates:
            cand.keep_shipped(old_lines.get(self.locked[cand.key].id, []))
        held = inventory_repo.reserved_by_order(session, update_ids)
        warehouses = inventory_repo.active_warehouse_ids(session)
        self.warehouse_codes = inventory_repo.warehouse_codes(session)

        planned: list[_Candidate] = [c for c in self.fresh if c.settled is None]
        decisions: dict[repo.OrderKey, UpdateDecision] = {}
        releases: list[tuple[int, str]] = []
        shipments: list[tuple[int, dict[StockKey, int]]] = []
        for cand in self.updates:
            known = self.locked[cand.key]
            before = old_lines.get(known.id, [])
            decision = decisions[cand.key] = self._decide_update(cand, before)
            holding = held.get(known.id, {})
            if holding:
                # Units the platform shipped since the version before left with the stock they held.
                shipped_before = expand(((pid, shipped) for pid, _, shipped in before), parts)
                newly = {pid: qty - shipped_before.get(pid, 0) for pid, qty in _shipped(cand, parts).items()}
                gone = shipped_from(holding, newly)
                if gone:
                    shipments.append((known.id, gone))
                    holding = held[known.id] = {
                        key: left for key, qty in holding.items() if (left := qty - gone.get(key, 0)) > 0
                    }
            if holding and releases_stock(known.status, decision):
                releases.append((known.id, str(decision.note or "order changed on the platform")))
            if decision.replan:
                planned.append(cand)
        needs = {c.key: left_to_ship(c.lines(), parts) for c in planned}
        stock_products = {pid for by_key in needs.values() for pid in by_key}
        stock_products |= {pid for by_key in held.values() for pid, _ in by_key}
        stock_products |= {pid for _, gone in shipments for pid, _ in gone}
        maybe_unseen = [c for c in self.fresh if c.order.get("shipped_from_stock", False)]
        joined = repo.shops_joined(session, {c.shop_id for c in maybe_unseen})
        left_unseen = [
            Demand(c.key, _shipped(c, parts), split=True)
            for c in maybe_unseen
            if left_the_hubs_shelves(c.order, c.settled, joined[c.shop_id])
        ]
        stock_products |= {pid for demand in left_unseen for pid in demand.needs}
        levels = inventory_repo.read_levels(session, stock_products)
        return _Loaded(
            parts,
            warehouses,
            self.warehouse_codes,
            decisions,
            planned,
            needs,
            held,
            shipments,
            releases,
            left_unseen,
            stock_products,
            levels,
        )

    def _decide_update(self, cand: _Candidate, old_lines: list[tuple[int, int, int]]) -> UpdateDecision:
        known = self.locked[cand.key]
        return decide_update(
            OrderStatus(known.status),
            known.holds,
            cancelled=cand.order["cancelled"],
            shipped_whole=cand.settled in (OrderStatus.SHIPPED, OrderStatus.RETURNED),
            lines_changed=lines_changed(
                [LineSignature(pid, qty) for pid, qty, _ in old_lines],
                [LineSignature(pid, qty) for pid, qty, _ in cand.lines()],
            ),
            cancel_requested=cand.order["cancel_requested"],
            returned=cand.returned(),
        )

    # --- review --------------------------------------------------------------------------------------

    def _review(self, loaded: _Loaded) -> BatchReview:
        """Every order that is planned is reviewed first, once for the batch: the rules decide holds,
        warehouses, splits and tags (``self.verdicts``)."""
        review = review_for_ingest(
            self.session,
            [
                (
                    c.key,
                    c.order,
                    c.total,
                    c.product_ids,
                    self.locked[c.key].id if c.key in self.locked else None,
                )
                for c in loaded.planned
            ],
            parts=loaded.parts,
            levels=loaded.levels,
            warehouse_ids=loaded.warehouses,
            now=self.now,
        )
        for cand in loaded.planned:
            decision = review.decisions.get(cand.key)
            allowed, split = review.demand_options(cand.key, loaded.warehouses)
            self.verdicts[cand.key] = ReviewVerdict(
                holds=tuple(review.holds(cand.key)),
                holds_when_short=review.holds_when_short(cand.key),
                warehouses=allowed,
                split=split,
                tags=tuple(decision.tags) if decision else (),
                merge_with=tuple(decision.merge_with) if decision else (),
            )
        return review

    # --- plan ----------------------------------------------------------------------------------------

    def _plan(self, loaded: _Loaded) -> _Plan:
        """Reservations planned on the stock as read, after this batch's own releases and shipments."""
        demands: list[tuple[float, Demand]] = []
        for cand in loaded.planned:
            verdict = self.verdicts[cand.key]
            demand = Demand(cand.key, loaded.needs[cand.key], verdict.warehouses, verdict.split)
            # POSIX seconds sort as the instants do, several times faster than aware datetimes.
            demands.append((cand.order["placed_at"].timestamp(), demand))
        demands.sort(key=itemgetter(0))  # first placed, first served
        wanted = [d for _, d in demands]
        levels = loaded.levels
        seen = {key: level.copy() for key, level in levels.items()}
        for order_id, _ in loaded.releases:
            for key, qty in loaded.held[order_id].items():
                levels[key].reserved -= qty
        for _, gone in loaded.shipments:
            for key, qty in gone.items():
                levels[key].on_hand -= qty
                levels[key].reserved -= qty
        # What left unseen left first: it is gone from the shelves before any order here reserves.
        left_unseen = allocate(loaded.left_unseen, levels, loaded.warehouses)
        for alloc in left_unseen:
            for key, qty in alloc.reservations() if alloc.ok else ():
                levels[key].on_hand -= qty
                levels[key].reserved -= qty
        guessed = {a.order_key: a for a in allocate(wanted, levels, loaded.warehouses)}
        self._load_sku_codes([*guessed.values(), *left_unseen])
        return _Plan(wanted, seen, guessed, left_unseen)

    def _load_sku_codes(self, allocations: Any) -> None:
        """The SKUs a stock hold names."""
        short = {s.product_id for a in allocations for s in a.shortages} - self.sku_codes.keys()
        if short:
            self.sku_codes |= catalog_repo.skus_of(self.session, short)

    def _outcome(self, key: repo.OrderKey, allocation: Allocation) -> Outcome:
        order = self.orders[key]
        return outcome(
            self.verdicts.get(key, ReviewVerdict()),
            allocation,
            address=order["shipping_address"],
            cancel_requested=order["cancel_requested"],
            skus=self.sku_codes,
            warehouse_codes=self.warehouse_codes,
        )

    # --- write ---------------------------------------------------------------------------------------

    def _write(self, loaded: _Loaded, review: BatchReview, plan: _Plan) -> None:
        """Orders, lines and search keys, one statement per table; the review's identities and alerts."""
        self.review = review
        self.headers = {c.key: _header(c, self.now) for c in self.fresh + self.updates}
        self.line_rows = {c.key: _lines(c) for c in self.fresh + self.updates}
        self.raw_ids = self._store_raw()
        self._insert_fresh(review, plan.guessed)
        self._write_updates(review, plan.guessed, loaded.decisions)
        review.record(self.session, self.ids, [c.key for c in self.fresh])

    def _store_raw(self) -> dict[repo.OrderKey, int]:
        """Keep the verbatim platform payloads, before the orders: each order's row names its own."""
        stored = [c for c in self.fresh + self.updates if c.order["raw"] is not None]
        ids = repo.insert_raw_payloads(
            self.session,
            [(c.shop_id, "order", c.order["external_id"], c.order["raw"], self.now) for c in stored],
        )
        return {c.key: raw_id for c, raw_id in zip(stored, ids, strict=True)}

    def _insert_fresh(self, review: BatchReview, allocations: dict[Any, Allocation]) -> None:
        if not self.fresh:
            return
        # Ids first: a review then names the orders of this very batch it ships together with.
        ids = repo.new_order_ids(self.session, len(self.fresh))
        self.ids.update((cand.key, order_id) for cand, order_id in zip(self.fresh, ids, strict=True))
        rows: list[tuple[Any, ...]] = []
        lines: list[list[Any]] = []
        for cand, order_id in zip(self.fresh, ids, strict=True):
            settled = cand.settled
            result = (
                imported_settled(settled, cand.order["platform_status"])
                if settled is not None
                else self._outcome(cand.key, allocations[cand.key])
            )
            rows.append(
                (
                    cand.shop_id,
                    cand.order["external_id"],
                    result.status,
                    result.warehouse_id,
                    result.holds,
                    review.as_json(cand.key, self.ids),
                    review.routing_json(cand.key, allocations.get(cand.key)) if settled is None else None,
                    self.now,
                    _shipments(cand.order) or [],
                    self.raw_ids.get(cand.key),
                    *self._tagged(cand.key),
                )
            )
            lines.extend(_with_order(self.line_rows[cand.key], order_id))
            self.events[cand.key] = self._event(order_id, "imported", None, result.status, result.note)
            self.results[cand.index] = _result(cand, "created", order_id, result.status)
        repo.insert_new(self.session, NEW_ORDER_COLUMNS, ids, rows)
        repo.insert_lines(self.session, lines)
        search.record_keys(self.session, [(self.ids[c.key], c.order) for c in self.fresh], known=False)

    def _write_updates(
        self,
        review: BatchReview,
        allocations: dict[Any, Allocation],
        decisions: dict[repo.OrderKey, UpdateDecision],
    ) -> None:
        if not self.updates:
            return
        # Rows are grouped by the columns they rewrite so each group is one statement.
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        lines: list[list[Any]] = []
        for cand in self.updates:
            known = self.locked[cand.key]
            decision = decisions[cand.key]
            status = decision.status
            note: str | Phrase | None = decision.note
            row: dict[str, Any] = {
                "id": known.id,
                **dict(zip(HEADER_COLUMNS, self._tagged(cand.key), strict=True)),
            }
            alloc = allocations.get(cand.key)
            if alloc is not None:
                result = self._outcome(cand.key, alloc)
                check_change(known.status, result.status)
                status, note = result.status, result.note
                row |= {
                    "status": status,
                    "warehouse_id": result.warehouse_id,
                    "holds": result.holds,
                    "review": review.as_json(cand.key, self.ids),
                    "routing": review.routing_json(cand.key, alloc),
                }
            elif decision.holds is not None:
                row |= {"status": status, "holds": decision.holds}
            elif status != known.status:
                row |= {"status": status, "holds": []}
            left = status in (OrderStatus.SHIPPED, OrderStatus.RETURNED)
            if left and known.status not in CLOSED:  # it left as the platform says
                row["shipped_at"] = self.shipped_at[cand.key] = self.now
            shipments = _shipments(cand.order)
            if shipments is not None:
                row["shipments"] = shipments
            if cand.key in self.raw_ids:
                row["raw_payload_id"] = self.raw_ids[cand.key]
            groups.setdefault(tuple(row), []).append(row)
            lines.extend(_with_order(self.line_rows[cand.key], known.id))
            self.events[cand.key] = self._event(known.id, "updated", known.status, status, note)
            self.results[cand.index] = _result(cand, "updated", known.id, status)
        for rows in groups.values():
            update_rows(self.session, Order, rows)
        repo.replace_lines(self.session, [self.locked[c.key].id for c in self.updates], lines)
        search.record_keys(self.session, [(self.locked[c.key].id, c.order) for c in self.updates], known=True)

    def _tagged(self, key: repo.OrderKey) -> tuple[Any, ...]:
        """The order's header, with the tags the rules added after the platform's own."""
        header = self.headers[key]
        verdict = self.verdicts.get(key)
        if verdict is None or not verdict.tags:
            return header
        tags = [*header[_TAGS], *(t for t in verdict.tags if t not in header[_TAGS])]
        return (*header[:_TAGS], tags, *header[_TAGS + 1 :])

    def _event(
        self, order_id: int, kind: str, before: str | None, after: str, note: str | Phrase | None
    ) -> tuple[Any, ...]:
        return (order_id, kind, before, after, self.actor, note, self.now)

    # --- lock and book -------------------------------------------------------------------------------

    def _lock_and_book(self, loaded: _Loaded, plan: _Plan) -> None:
        """Lock the stock rows (orders are locked already), plan again on the locked figures when
        another writer moved them meanwhile, correct the orders whose outcome changed, book every
        movement and write the history."""
        book = StockBook(self.session, inventory_repo.lock_levels(self.session, loaded.stock_products))
        moved = book.snapshot() != plan.seen  # nobody booked stock since the read: the guess is exact
        for order_id, gone in loaded.shipments:
            book.ship(gone, order_id, self.actor, "shipped on the platform, outside the hub")
        for order_id, reason in loaded.releases:
            book.release(loaded.held[order_id], order_id, self.actor, reason)
        left_unseen = book.allocate(loaded.left_unseen, loaded.warehouses) if moved else plan.left_unseen
        self._book_left_unseen(book, left_unseen)
        exact = (
            {a.order_key: a for a in book.allocate(plan.wanted, loaded.warehouses)} if moved else plan.guessed
        )
        self._correct(plan.guessed, exact)
        for alloc in exact.values():
            if alloc.ok:
                assert isinstance(alloc.order_key, tuple)
                book.reserve(alloc, self.ids[alloc.order_key], self.actor)
        book.flush()
        repo.insert_events(self.session, list(self.events.values()))
        # The home page's figures last, after the stock's locks, so their rows are held only until
        # the commit.
        repo.add_figures(self.session, self._figure_changes())
        repo.add_ship_figures(self.session, self._shipped_changes())

    def _book_left_unseen(self, book: StockBook, allocations: list[Allocation]) -> None:
        """Units shipped from the hub's shelves before the hub saw their order leave its stock as
        shipped at once: taken where they are (reserved and shipped in one booking, never a
        reservation left behind), or, when the hub holds fewer than left, named in the history for a
        person to count."""
        self._load_sku_codes(allocations)
        for alloc in allocations:
            assert isinstance(alloc.order_key, tuple)
            order_id = self.ids[alloc.order_key]
            if alloc.ok:
                book.reserve(alloc, order_id, self.actor)
                book.ship(dict(alloc.reservations()), order_id, self.actor, LEFT_UNSEEN)
            order_id, kind, before, after, actor, said, at = self.events[alloc.order_key]
            note: Arg = left_unseen_note(OrderStatus(after), alloc, self.warehouse_codes, self.sku_codes)
            if said and OrderStatus(after) not in (OrderStatus.SHIPPED, OrderStatus.RETURNED):
                # A part is left to ship, or was cancelled: what its import said stands.
                note = listed([said, note])
            self.events[alloc.order_key] = (order_id, kind, before, after, actor, note, at)

    def _shipped_changes(self) -> ShippedChanges:
        """What the batch does to paid-to-shipped: the updated orders as they were and are (new ones
        have not shipped in the hub's eyes)."""

        def shipped(cand: _Candidate) -> Shipped:
            known = self.locked[cand.key].shipped
            at = self.shipped_at.get(cand.key, known.shipped_at)
            return Shipped(cand.order["placed_at"], at, str(cand.order["payment_status"]))

        return shipped_changes(
            [self.locked[c.key].shipped for c in self.updates], [shipped(c) for c in self.updates]
        )

    def _figure_changes(self) -> FigureChanges:
        """What the batch does to the home page's sales and imports: the updated orders as they were
        and are, the new ones and their imports, each in the status its history ends in."""
        status = {key: event[3] for key, event in self.events.items()}

        def sale(cand: _Candidate) -> Sale:
            order = cand.order
            return Sale(cand.shop_id, order["currency"], order["placed_at"], cand.total, status[cand.key])

        return figure_changes(
            [self.locked[c.key].sale for c in self.updates],
            [sale(c) for c in self.fresh + self.updates],
            [Arrival(c.shop_id, c.order["currency"], self.now, status[c.key]) for c in self.fresh],
        )

    def _correct(self, guessed: dict[Any, Allocation], exact: dict[Any, Allocation]) -> None:
        """Rewrite the orders whose outcome on the locked stock differs from the guess."""
        changed = [key for key, alloc in exact.items() if alloc != guessed[key]]
        if not changed:
            return
        self._load_sku_codes(exact[key] for key in changed)
        rows = []
        for key in changed:
            result = self._outcome(key, exact[key])
            order_id, kind, before, _, actor, _, at = self.events[key]
            if before is not None:
                check_change(before, result.status)
            row = {"id": order_id, "status": result.status, "warehouse_id": result.warehouse_id}
            row["holds"] = result.holds
            if self.review is not None and self.review.routed is not None:  # where its stock went
                row["routing"] = self.review.routing_json(key, exact[key])
            rows.append(row)
            self.events[key] = (order_id, kind, before, result.status, actor, result.note, at)
            self.results[self.index_of[key]].status = result.status
        update_rows(self.session, Order, rows)


def _close_rejections(session: Session, batch: _Batch, now: datetime) -> None:
    """Close the rejections of orders that have now gone in."""
    rejections.resolve(
        session,
        [(c.order["shop"], c.order["external_id"], batch.ids[c.key]) for c in batch.fresh + batch.updates],
        now,
    )
