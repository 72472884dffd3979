"""Ingest: store a batch of normalized orders idempotently and reserve their stock, set-based.

Per batch: check each order on its own (a bad one is rejected with its reason, the rest go on), resolve
shops and SKUs with one query each, plan the reservations in memory (pure domain) on the stock as it
stands, write orders, lines and history with one statement per table, and only then lock the stock
rows of every product involved, in id order, plan again on the locked figures, correct the few orders
whose outcome changed, and book: ledger rows and level changes. Locking last keeps the time other
writers wait short, and what is booked always comes from the locked figures.
``(shop, external id)`` is unique in the database: new orders that another transaction inserted first
make the whole batch run again and find them known.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import orjson
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import insert, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from orderly.catalog import repository as catalog_repo
from orderly.catalog.domain import expand
from orderly.channels.models import Shop
from orderly.core.clock import utcnow
from orderly.core.db import RetryTransaction, collector_paused, is_retryable, run_in_transaction, update_rows
from orderly.core.errors import field_path
from orderly.core.text import escape_nul, escape_nul_json
from orderly.inventory import repository as inventory_repo
from orderly.inventory.domain import Allocation, Demand, StockKey, allocate, shipped_from
from orderly.inventory.service import StockBook
from orderly.orders import repository as repo
from orderly.orders import search
from orderly.orders.domain import (
    CANCEL_REQUEST_HOLD,
    CLOSED,
    HOLDS_RESERVATION,
    HoldReason,
    LineSignature,
    OrderStatus,
    content_digest,
    held_by_person,
    lines_changed,
    shortage_hold,
    status_at_import,
    with_address_hold,
)
from orderly.orders.models import Order, RawPayload
from orderly.orders.schemas import MAX_TOTAL, MINOR_UNITS_EXPECTED, MONEY_FIELDS, NormalizedOrder, amounts
from orderly.review.batch import BatchReview, review_for_ingest

log = logging.getLogger(__name__)

Outcome = Literal["created", "updated", "unchanged", "stale", "rejected"]


@dataclass
class ItemResult:
    index: int
    shop: str | None
    external_id: str | None
    outcome: Outcome
    order_id: int | None = None
    status: str | None = None
    rejection_id: int | None = None
    errors: list[dict[str, str]] = field(default_factory=list)


@dataclass
class IngestReport:
    items: list[ItemResult]

    def count(self, outcome: Outcome) -> int:
        return sum(1 for item in self.items if item.outcome == outcome)

    @property
    def totals(self) -> dict[str, int]:
        return {name: self.count(name) for name in ("created", "updated", "unchanged", "stale", "rejected")}


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

    def __post_init__(self) -> None:
        self.key = (self.shop_id, self.order["external_id"])
        self.digest = content_digest(self.order)

    def is_news_to(self, known: repo.KnownOrder) -> bool:
        """A later stamp than the stored version's, or the same stamp with other content: platforms
        stamp to the second, so two changes within one are two versions with one stamp."""
        stamp = self.order["updated_at"]
        return stamp > known.platform_updated_at or (
            stamp == known.platform_updated_at and self.digest != known.content_digest
        )

    @property
    def settled(self) -> OrderStatus | None:
        """The status of an order already settled on the platform (cancelled, fulfilled by the platform,
        or shipped whole outside the hub), or None when it waits for the hub to ship it."""
        order = self.order
        return status_at_import(
            cancelled=order["cancelled"],
            platform_fulfilled=order["fulfillment"] == "platform",
            shipped=sum(line["shipped"] for line in order["lines"]),
            left_to_ship=sum(line["quantity"] - line["shipped"] for line in order["lines"]),
        )


@dataclass
class _Rejection:
    index: int
    payload: Any
    errors: list[dict[str, str]]


def validation_errors(exc: ValidationError) -> list[dict[str, str]]:
    return [
        {"field": field_path(e["loc"]) or "order", "message": _expected(e)}
        for e in exc.errors(include_url=False)
    ]


AMOUNT_OUT_OF_BOUNDS = frozenset({"greater_than_equal", "less_than_equal"})  # pydantic's error types


def _expected(error: Any) -> str:
    """Pydantic's message, saying what is expected where "a valid integer" or a bound would not (money)."""
    loc = error["loc"]
    wrong_amount = error["type"].startswith("int_") or error["type"] in AMOUNT_OUT_OF_BOUNDS
    if wrong_amount and loc and loc[-1] in MONEY_FIELDS:
        return f"{error['msg']}: {MINOR_UNITS_EXPECTED}"
    # Our validators' messages say it all; pydantic's prefix only adds noise for a seller.
    return str(error["msg"]).removeprefix("Value error, ")


def _key_of(payload: Any) -> tuple[str | None, str | None]:
    """The shop and order a rejected item names, as the columns keep them: a NUL, which PostgreSQL
    cannot store, escaped (the errors name it)."""
    if not isinstance(payload, Mapping):
        return None, None
    shop, external_id = payload.get("shop"), payload.get("external_id")
    return (
        escape_nul(str(shop))[:64] if shop is not None else None,
        escape_nul(str(external_id))[:200] if external_id is not None else None,
    )


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
            return run_in_transaction(
                factory,
                lambda s: _store_rejections(
                    s, [_Rejection(0, items[0], [{"field": "order", "message": message}])], replaying, actor
                ),
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
    results: dict[int, ItemResult] = {}
    rejected: list[_Rejection] = []

    parsed = _parse(items, rejected)

    candidates = _resolve(session, parsed, items, rejected)
    # A batch may carry several versions of one order: the newest wins, the rest are stale. Of two
    # with one stamp the later in the batch wins (the inbox gives them in the order they came).
    newest: dict[repo.OrderKey, _Candidate] = {}
    for cand in candidates:
        other = newest.get(cand.key)
        if other is None or cand.order["updated_at"] >= other.order["updated_at"]:
            if other is not None:
                results[other.index] = _result(other, "stale")
            newest[cand.key] = cand
        else:
            results[cand.index] = _result(cand, "stale")
    ordered = sorted(newest.values(), key=lambda c: c.key)  # one insert order for all writers

    known = repo.find_known(session, [c.key for c in ordered])
    fresh = [c for c in ordered if c.key not in known]
    changed_keys = [c.key for c in ordered if c.key in known and c.is_news_to(known[c.key])]
    for cand in ordered:
        if cand.key in known and cand.key not in changed_keys:
            k = known[cand.key]
            outcome: Outcome = "unchanged" if cand.order["updated_at"] == k.platform_updated_at else "stale"
            results[cand.index] = _result(cand, outcome, k.id, k.status)
    # Lock the orders we are about to change and read them again under the lock.
    locked = repo.find_known(session, changed_keys, lock=True) if changed_keys else {}
    updates = [c for c in ordered if c.key in locked and c.is_news_to(locked[c.key])]
    behind = _behind_in_shipping(session, updates, locked)
    updates = [c for c in updates if c.key not in behind]
    for cand in ordered:
        if cand.key in locked and cand not in updates:
            results[cand.index] = _result(cand, "stale", locked[cand.key].id, locked[cand.key].status)

    plan = _Plan(session, fresh, updates, locked, actor, now)
    plan.run()
    results.update(plan.results)
    _store_raw_and_resolve(session, plan, now)
    for rejection_result in _store_rejections(session, rejected, replaying, actor).items:
        results[rejection_result.index] = rejection_result
    return IngestReport([results[i] for i in sorted(results)])


def _behind_in_shipping(
    session: Session, updates: list[_Candidate], locked: dict[repo.OrderKey, repo.KnownOrder]
) -> set[repo.OrderKey]:
    """Of the versions with the stored one's stamp, those reporting fewer units shipped than it: the
    platform never takes a shipment back, so such a version came before the stored one (applied, the
    stored one's shipment would be booked twice when it came again)."""
    ties = {
        locked[c.key].id: c for c in updates if c.order["updated_at"] == locked[c.key].platform_updated_at
    }
    if not ties:
        return set()
    stored = repo.line_products(session, ties)
    return {
        cand.key
        for order_id, cand in ties.items()
        if sum(line["shipped"] for line in cand.order["lines"])
        < sum(shipped for _, _, shipped in stored.get(order_id, []))
    }


_ONE = TypeAdapter(NormalizedOrder)
_BATCH = TypeAdapter(list[NormalizedOrder])


def _parse(items: Sequence[Any], rejected: list[_Rejection]) -> list[tuple[int, NormalizedOrder]]:
    """Validate the batch in one pass; only when something in it is bad, order by order."""
    if not _has_nul(items):
        try:
            return list(enumerate(_BATCH.validate_python(items)))
        except ValidationError:
            pass
    parsed: list[tuple[int, NormalizedOrder]] = []
    for index, item in enumerate(items):
        nuls = list(itertools.islice(_nul_paths(item, ""), MAX_NUL_ERRORS))
        if nuls:
            message = "must not contain NUL (U+0000) characters"
            errors = [{"field": at or "order", "message": message} for at in nuls]
            rejected.append(_Rejection(index, item, errors))
            continue
        try:
            parsed.append((index, _ONE.validate_python(item)))
        except ValidationError as exc:
            rejected.append(_Rejection(index, item, validation_errors(exc)))
    return parsed


def _has_nul(value: Any) -> bool:
    """PostgreSQL stores no NUL in text or JSON; one serialization finds any in the whole batch."""
    try:
        return b"\\u0000" in orjson.dumps(value)
    except (TypeError, orjson.JSONEncodeError):  # e.g. integers past 64 bits: look the slow way
        return next(_nul_paths(value, ""), None) is not None


MAX_NUL_ERRORS = 20  # fields named in a rejection for their NUL; one is enough to refuse the order


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


def _result(
    cand: _Candidate, outcome: Outcome, order_id: int | None = None, status: str | None = None
) -> ItemResult:
    return ItemResult(cand.index, cand.order["shop"], cand.order["external_id"], outcome, order_id, status)


def _resolve(
    session: Session,
    parsed: list[tuple[int, NormalizedOrder]],
    items: Sequence[Any],
    rejected: list[_Rejection],
) -> list[_Candidate]:
    """Find each order's shop and each line's product; an order with any unknown is rejected whole."""
    shop_codes = {o["shop"] for _, o in parsed}
    shops = dict(session.execute(select(Shop.code, Shop.id).where(Shop.code.in_(shop_codes))).all())
    skus = {line["platform_sku"] for _, o in parsed for line in o["lines"] if line["platform_sku"]}
    listings = {line["listing_id"] for _, o in parsed for line in o["lines"] if line["listing_id"]}
    by_sku, by_listing = catalog_repo.mappings_for(session, shops.values(), skus, listings)
    by_code = catalog_repo.product_ids_by_sku(session, skus)

    candidates: list[_Candidate] = []
    for index, order in parsed:
        shop_id = shops.get(order["shop"])
        if shop_id is None:
            rejected.append(
                _Rejection(
                    index, items[index], [{"field": "shop", "message": f"unknown shop {order['shop']!r}"}]
                )
            )
            continue
        product_ids: list[int] = []
        errors: list[dict[str, str]] = []
        for number, line in enumerate(order["lines"]):
            if not (line["platform_sku"] or line["listing_id"]):
                errors.append(
                    {"field": f"lines[{number}]", "message": "needs a platform_sku or a listing_id"}
                )
                continue
            if line["shipped"] > line["quantity"]:
                errors.append(
                    {
                        "field": f"lines[{number}].shipped",
                        "message": f"{line['shipped']} shipped of a line of {line['quantity']}",
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
            pid = (
                (line["platform_sku"] and by_sku.get((shop_id, line["platform_sku"])))
                or (line["listing_id"] and by_listing.get((shop_id, line["listing_id"])))
                or (line["platform_sku"] and by_code.get(line["platform_sku"]))
            )
            if pid:
                product_ids.append(pid)
                continue
            what = (
                f"SKU {line['platform_sku']!r}" if line["platform_sku"] else f"listing {line['listing_id']!r}"
            )
            errors.append(
                {
                    "field": f"lines[{number}].{'platform_sku' if line['platform_sku'] else 'listing_id'}",
                    "message": f"unknown {what} on shop {order['shop']!r}: create the product or map it",
                }
            )
        subtotal, total = amounts(order)
        if max(abs(subtotal), total) > MAX_TOTAL:
            errors.append({"field": "total", "message": f"order amounts exceed {MAX_TOTAL} minor units"})
        if errors:
            rejected.append(_Rejection(index, items[index], errors))
        else:
            candidates.append(_Candidate(index, order, shop_id, product_ids, subtotal, total))
    return candidates


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
    "created_at",
    "shipments",
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


def _needs(cand: _Candidate, parts: dict[int, list[tuple[int, int]]]) -> dict[int, int]:
    """What the order still needs from the hub's stock: units shipped outside the hub need none."""
    lines = zip(cand.product_ids, cand.order["lines"], strict=True)
    left = ((pid, line["quantity"] - line["shipped"]) for pid, line in lines)
    return expand(((pid, qty) for pid, qty in left if qty > 0), parts)


def _shipped(cand: _Candidate, parts: dict[int, list[tuple[int, int]]]) -> dict[int, int]:
    lines = zip(cand.product_ids, cand.order["lines"], strict=True)
    return expand(((pid, line["shipped"]) for pid, line in lines), parts)


@dataclass(slots=True)
class _UpdateDecision:
    """What a newer platform version does to a known order."""

    status: str
    note: str | None = None
    replan: bool = False  # review and reserve its stock again
    holds: list[dict[str, Any]] | None = None  # its holds when they change without a new plan


_IMPORTED_AS = {
    OrderStatus.CANCELLED: "imported as cancelled",
    OrderStatus.PLATFORM_FULFILLED: "imported as fulfilled by the platform: it takes none of the hub's stock",
    OrderStatus.SHIPPED: "imported as shipped on the platform: it takes none of the hub's stock",
}


class _Plan:
    """Decides and writes what happens to new and changed orders and their stock, under stock locks."""

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
        self.events: dict[repo.OrderKey, tuple[Any, ...]] = {}  # rows in repo.EVENT_COLUMNS order
        self.index_of = {c.key: c.index for c in fresh + updates}
        self.orders = {c.key: c.order for c in fresh + updates}
        self.sku_codes: dict[int, str] = {}
        self.warehouse_codes: dict[int, str] = {}
        self.headers: dict[repo.OrderKey, tuple[Any, ...]] = {}
        self.line_rows: dict[repo.OrderKey, list[list[Any]]] = {}
        self.review: BatchReview | None = None

    def run(self) -> None:
        if not self.fresh and not self.updates:
            return
        session = self.session
        changed = self.fresh + self.updates
        all_products = {pid for c in changed for pid in c.product_ids}
        parts = catalog_repo.bundle_parts(session, all_products)
        update_ids = [self.locked[c.key].id for c in self.updates]
        old_lines = repo.line_products(session, update_ids)
        held = inventory_repo.reserved_by_order(session, update_ids)
        warehouses = inventory_repo.active_warehouse_ids(session)
        self.warehouse_codes = inventory_repo.warehouse_codes(session)

        self.headers = {c.key: _header(c, self.now) for c in changed}
        self.line_rows = {c.key: _lines(c) for c in changed}
        planned: list[_Candidate] = [c for c in self.fresh if c.settled is None]
        update_status: dict[repo.OrderKey, _UpdateDecision] = {}
        releases: list[tuple[int, str]] = []
        shipments: list[tuple[int, dict[StockKey, int]]] = []
        for cand in self.updates:
            decision = self._decide_update(cand, old_lines)
            order_id = self.locked[cand.key].id
            holding = held.get(order_id, {})
            if holding:
                # Units the platform shipped since the version before left with the stock they held.
                before = expand(((pid, shipped) for pid, _, shipped in old_lines.get(order_id, [])), parts)
                newly = {pid: qty - before.get(pid, 0) for pid, qty in _shipped(cand, parts).items()}
                gone = shipped_from(holding, newly)
                if gone:
                    shipments.append((order_id, gone))
                    holding = held[order_id] = {
                        key: left for key, qty in holding.items() if (left := qty - gone.get(key, 0)) > 0
                    }
            if (
                holding
                and decision.status != self.locked[cand.key].status
                and (decision.replan or decision.status not in HOLDS_RESERVATION)
            ):
                releases.append((order_id, decision.note or "order changed on the platform"))
            update_status[cand.key] = decision
            if decision.replan:
                planned.append(cand)
        needs = {c.key: _needs(c, parts) for c in planned}
        stock_products = {pid for by_key in needs.values() for pid in by_key}
        stock_products |= {pid for by_key in held.values() for pid, _ in by_key}
        stock_products |= {pid for _, gone in shipments for pid, _ in gone}

        # Plan on the stock as it stands and write the orders; lock the stock rows only then, so
        # concurrent writers wait on them briefly. Under the lock the plan is made again on the locked
        # figures, and the few orders whose outcome changed (another writer took or gave stock
        # meanwhile) are corrected before anything is booked.
        snapshot = inventory_repo.read_levels(session, stock_products)
        # Every order that is planned is reviewed first: the rules decide holds, warehouses and splits.
        self.review = review_for_ingest(
            session,
            [
                (
                    c.key,
                    c.order,
                    c.total,
                    c.product_ids,
                    self.locked[c.key].id if c.key in self.locked else None,
                )
                for c in planned
            ],
            parts=parts,
            levels=snapshot,
            warehouse_ids=warehouses,
            now=self.now,
        )
        demands: list[tuple[datetime, Demand]] = []
        for cand in planned:
            allowed, split = self.review.demand_options(cand.key, warehouses)
            demands.append((cand.order["placed_at"], Demand(cand.key, needs[cand.key], allowed, split)))
        demands.sort(key=lambda item: item[0])  # first placed, first served
        wanted = [d for _, d in demands]
        seen = {key: level.copy() for key, level in snapshot.items()}
        for order_id, _ in releases:
            for key, qty in held[order_id].items():
                snapshot[key].reserved -= qty
        for _, gone in shipments:
            for key, qty in gone.items():
                snapshot[key].on_hand -= qty
                snapshot[key].reserved -= qty
        guessed = {a.order_key: a for a in allocate(wanted, snapshot, warehouses)}
        self._load_sku_codes(guessed.values())
        self._insert_fresh(guessed)
        self._write_updates(guessed, update_status)
        self.review.record(session, self.ids, [c.key for c in self.fresh])

        book = StockBook(session, inventory_repo.lock_levels(session, stock_products))
        moved = book.snapshot() != seen  # nobody booked stock since the read: the guess is exact
        for order_id, gone in shipments:
            book.ship(gone, order_id, self.actor, "shipped on the platform, outside the hub")
        for order_id, reason in releases:
            book.release(held[order_id], order_id, self.actor, reason)
        exact = {a.order_key: a for a in book.allocate(wanted, warehouses)} if moved else guessed
        self._correct(guessed, exact)
        for alloc in exact.values():
            if alloc.ok:
                assert isinstance(alloc.order_key, tuple)
                book.reserve(alloc, self.ids[alloc.order_key], self.actor)
        book.flush()
        repo.insert_events(session, list(self.events.values()))

    def _correct(self, guessed: dict[Any, Allocation], exact: dict[Any, Allocation]) -> None:
        """Rewrite the orders whose outcome on the locked stock differs from the guess."""
        changed = [key for key, alloc in exact.items() if alloc != guessed[key]]
        if not changed:
            return
        self._load_sku_codes(exact[key] for key in changed)
        rows = []
        for key in changed:
            status, warehouse_id, holds, note = self._outcome(key, exact[key])
            order_id = self.ids[key]
            rows.append({"id": order_id, "status": status, "warehouse_id": warehouse_id, "holds": holds})
            order_id, kind, before, _, actor, _, at = self.events[key]
            self.events[key] = (order_id, kind, before, status, actor, note, at)
            self.results[self.index_of[key]].status = status
        update_rows(self.session, Order, rows)

    def _decide_update(
        self, cand: _Candidate, old_lines: dict[int, list[tuple[int, int, int]]]
    ) -> _UpdateDecision:
        """What the newer version does to the known order: its status, a note, whether to plan again."""
        known = self.locked[cand.key]
        current = OrderStatus(known.status)
        order = cand.order
        if order["cancelled"]:
            if current == OrderStatus.CANCELLED:
                return _UpdateDecision(current)
            if current in CLOSED:
                note = f"the platform reports a cancellation but the order is already {current}"
                return _UpdateDecision(current, note)
            return _UpdateDecision(OrderStatus.CANCELLED, "cancelled on the platform")
        if current in CLOSED or current == OrderStatus.PLATFORM_FULFILLED:
            return _UpdateDecision(current)
        if cand.settled == OrderStatus.SHIPPED:
            return _UpdateDecision(OrderStatus.SHIPPED, "shipped on the platform, outside the hub")
        changed = lines_changed(
            [LineSignature(pid, qty) for pid, qty, _ in old_lines.get(known.id, [])],
            [
                LineSignature(pid, ln["quantity"])
                for pid, ln in zip(cand.product_ids, order["lines"], strict=True)
            ],
        )
        asks_cancel = order["cancel_requested"] and not any(
            h["reason"] == HoldReason.CANCEL_REQUEST for h in known.holds
        )
        if current == OrderStatus.ALLOCATED and changed:
            return _UpdateDecision(
                OrderStatus.APPROVED, "lines changed on the platform: stock reserved again", True
            )
        if asks_cancel:
            # The order keeps any stock it holds (the buyer may be refused), but nobody ships it.
            return _UpdateDecision(
                OrderStatus.ON_HOLD,
                "held: " + CANCEL_REQUEST_HOLD.message,
                holds=[*known.holds, CANCEL_REQUEST_HOLD.as_json()],
            )
        if current == OrderStatus.LABEL_PRINTED and changed:
            # The parcel may already be packed: a person must look before it ships.
            return _UpdateDecision(
                current, "lines changed on the platform after the label was printed: check the parcel"
            )
        if current == OrderStatus.ON_HOLD and not held_by_person(known.holds):
            # A person's hold stays until a person lifts it; any other is decided again.
            return _UpdateDecision(OrderStatus.APPROVED, "reviewed again after an update", True)
        return _UpdateDecision(current)

    def _load_sku_codes(self, allocations: Any) -> None:
        short = {s.product_id for a in allocations for s in a.shortages}
        if short:
            self.sku_codes = catalog_repo.skus_of(self.session, short)

    def _outcome(self, key: repo.OrderKey, alloc: Allocation) -> tuple[str, int | None, list[Any], str]:
        """(status, warehouse, holds, a note for the history) from the review and the allocation.

        A held order keeps the stock it could reserve: the platform has sold those units. An order
        short of stock is held, unless the rules say to let it wait approved (a backorder). An order
        whose address cannot take a parcel, or whose buyer asked to cancel, is held whatever the rules
        say: nobody may ship it until a person has looked.
        """
        assert self.review is not None
        order = self.orders[key]
        holds = with_address_hold(self.review.holds(key), order["shipping_address"])
        if order["cancel_requested"]:
            holds.append(CANCEL_REQUEST_HOLD)
        if not alloc.ok and self.review.holds_when_short(key):
            holds.append(shortage_hold(alloc.shortages, self.sku_codes))
        where = f"stock reserved in warehouse {self.warehouse_codes.get(alloc.warehouse_id or 0)}" + (
            " and others (split)" if alloc.parts else ""
        )
        if holds:
            held = "held: " + "; ".join(h.message for h in holds)
            return (
                OrderStatus.ON_HOLD,
                alloc.warehouse_id if alloc.ok else None,
                [h.as_json() for h in holds],
                f"{held} ({where})" if alloc.ok else held,
            )
        if alloc.ok:
            return OrderStatus.ALLOCATED, alloc.warehouse_id, [], f"approved; {where}"
        return OrderStatus.APPROVED, None, [], "approved; waits for stock (backorder)"

    def _insert_fresh(self, allocations: dict[Any, Allocation]) -> None:
        if not self.fresh:
            return
        rows: list[tuple[Any, ...]] = []
        notes: dict[repo.OrderKey, tuple[str, str]] = {}
        assert self.review is not None
        known_ids = dict(self.ids)
        for cand in self.fresh:
            settled = cand.settled
            if settled is None:
                status, warehouse_id, holds, note = self._outcome(cand.key, allocations[cand.key])
            else:
                status, warehouse_id, holds, note = settled, None, [], _IMPORTED_AS[settled]
            notes[cand.key] = (status, note)
            review = self.review.as_json(cand.key, known_ids)
            rows.append(
                (
                    cand.shop_id,
                    cand.order["external_id"],
                    status,
                    warehouse_id,
                    holds,
                    review,
                    self.now,
                    _shipments(cand.order) or [],
                    *self._tagged(cand.key),
                )
            )
        inserted = repo.insert_new(self.session, NEW_ORDER_COLUMNS, rows)
        if len(inserted) != len(rows):
            raise RetryTransaction("another writer imported some of these orders first")
        self.ids.update(inserted)
        self._link_merges([c.key for c in self.fresh], known_ids)
        lines: list[list[Any]] = []
        for cand in self.fresh:
            order_id = inserted[cand.key]
            lines.extend(_with_order(self.line_rows[cand.key], order_id))
            status, note = notes[cand.key]
            self.events[cand.key] = self._event(order_id, "imported", None, status, note)
            self.results[cand.index] = _result(cand, "created", order_id, status)
        repo.insert_lines(self.session, lines)
        search.record_keys(self.session, [(inserted[c.key], c.order) for c in self.fresh], known=False)

    def _write_updates(
        self, allocations: dict[Any, Allocation], update_status: dict[repo.OrderKey, _UpdateDecision]
    ) -> None:
        if not self.updates:
            return
        # Rows are grouped by the columns they rewrite so each group is one statement.
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        lines: list[list[Any]] = []
        for cand in self.updates:
            known = self.locked[cand.key]
            decision = update_status[cand.key]
            status, note = decision.status, decision.note
            row: dict[str, Any] = {
                "id": known.id,
                **dict(zip(HEADER_COLUMNS, self._tagged(cand.key), strict=True)),
            }
            alloc = allocations.get(cand.key)
            if alloc is not None:
                assert self.review is not None
                status, warehouse_id, holds, note = self._outcome(cand.key, alloc)
                review = self.review.as_json(cand.key, self.ids)
                row |= {"status": status, "warehouse_id": warehouse_id, "holds": holds, "review": review}
            elif decision.holds is not None:
                row |= {"status": status, "holds": decision.holds}
            elif status != known.status:
                row |= {"status": status, "holds": []}
            shipments = _shipments(cand.order)
            if shipments is not None:
                row["shipments"] = shipments
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
        added = self.review.tags(key) if self.review else []
        if not added:
            return header
        tags = [*header[_TAGS], *(t for t in added if t not in header[_TAGS])]
        return (*header[:_TAGS], tags, *header[_TAGS + 1 :])

    def _link_merges(self, keys: list[repo.OrderKey], known_ids: Mapping[Any, int]) -> None:
        """Name, in their review, the orders of this very batch each new order ships together with."""
        assert self.review is not None
        rows = []
        for key in keys:
            decision = self.review.decisions.get(key)
            if decision and any(k in self.ids and k not in known_ids for k in decision.merge_with):
                rows.append({"id": self.ids[key], "review": self.review.as_json(key, self.ids)})
        update_rows(self.session, Order, rows)

    def _event(
        self, order_id: int, kind: str, before: str | None, after: str, note: str | None
    ) -> tuple[Any, ...]:
        return (order_id, kind, before, after, self.actor, note, self.now)


def _store_raw_and_resolve(session: Session, plan: _Plan, now: datetime) -> None:
    """Keep the verbatim platform payloads and close rejections of orders that have now gone in."""
    stored = [c for c in plan.fresh + plan.updates if c.order["raw"] is not None]
    if stored:
        rows = [
            {
                "shop_id": c.shop_id,
                "kind": "order",
                "external_id": c.order["external_id"],
                "body": c.order["raw"],
                "received_at": now,
            }
            for c in stored
        ]
        ids = (
            session.connection()
            .execute(insert(RawPayload).returning(RawPayload.id, sort_by_parameter_order=True), rows)
            .scalars()
            .all()
        )
        update_rows(
            session,
            Order,
            [{"id": plan.ids[c.key], "raw_payload_id": rid} for c, rid in zip(stored, ids, strict=True)],
        )
    done = plan.fresh + plan.updates
    if done and repo.has_open_rejections(session):
        repo.resolve_rejections(
            session,
            [
                {
                    "p_shop_code": c.order["shop"],
                    "p_external_id": c.order["external_id"],
                    "p_order_id": plan.ids[c.key],
                    "p_now": now,
                }
                for c in done
            ],
        )


def _store_rejections(
    session: Session, rejected: list[_Rejection], replaying: Sequence[int] | None, actor: str
) -> IngestReport:
    now = utcnow()
    items: list[ItemResult] = []
    fresh_rows, fresh_items, replayed_rows = [], [], []
    for rej in sorted(rejected, key=lambda r: r.index):
        shop, external_id = _key_of(rej.payload)
        errors = escape_nul_json(rej.errors)
        reason = "; ".join(f"{e['field']}: {e['message']}" for e in errors)[:2000]
        item = ItemResult(rej.index, shop, external_id, "rejected", errors=errors)
        items.append(item)
        if replaying is not None:
            item.rejection_id = replaying[rej.index]
            replayed_rows.append(
                {"id": item.rejection_id, "reason": reason, "errors": errors, "updated_at": now}
            )
            continue
        fresh_items.append(item)
        fresh_rows.append(
            {
                "shop_code": shop,
                "external_id": external_id,
                "status": "open",
                "reason": reason,
                "errors": errors,
                "payload": escape_nul_json(rej.payload),
                "attempts": 1,
                "created_at": now,
                "updated_at": now,
            }
        )
    _insert_or_renew(session, fresh_items, fresh_rows)
    repo.update_rejections(session, replayed_rows)
    if items:
        log.info("%d orders rejected by %s", len(items), actor)
    return IngestReport(items)


def _insert_or_renew(session: Session, items: list[ItemResult], rows: list[dict[str, Any]]) -> None:
    """Store new rejections; one of an order that already has an open rejection (or an earlier one in
    this batch) renews that one instead, so ingesting a bad file twice lists each order once."""
    keys = {(r["shop_code"], r["external_id"]) for r in rows if r["shop_code"] and r["external_id"]}
    known = repo.open_rejection_ids(session, keys)
    renewed: dict[int, dict[str, Any]] = {}
    inserted: dict[Any, int] = {}  # the position in ``fresh`` of each key
    fresh: list[dict[str, Any]] = []
    fresh_items: list[list[ItemResult]] = []
    for item, row in zip(items, rows, strict=True):
        order_key = (row["shop_code"], row["external_id"])
        key: Any = order_key if order_key in keys else id(row)  # a row naming no order stands alone
        if key in known:
            item.rejection_id = known[key]
            renewed[known[key]] = {k: row[k] for k in ("reason", "errors", "payload", "updated_at")} | {
                "id": known[key],
                "attempts": 1,
            }
        elif key in inserted:
            fresh[inserted[key]] = row  # the later version of the order is the one kept
            fresh_items[inserted[key]].append(item)
        else:
            inserted[key] = len(fresh)
            fresh.append(row)
            fresh_items.append([item])
    for same_order, row_id in zip(fresh_items, repo.insert_rejections(session, fresh), strict=True):
        for item in same_order:
            item.rejection_id = row_id
    repo.update_rejections(session, list(renewed.values()), increment=frozenset({"attempts"}))
