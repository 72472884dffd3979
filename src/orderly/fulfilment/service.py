"""Shipment use cases: make a parcel for an order, hand it over (its stock leaves), void it.

Each locks the order first, then its shipment, then the stock rows it moves (the hub's lock order), so
two packers shipping one parcel, or shipping racing a cancellation, take turns: stock leaves once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from sqlalchemy.orm import Session

from orderly.alerts.service import raise_alert, resolve
from orderly.catalog import repository as catalog_repo
from orderly.channels.connector import Parcel, ParcelLine, WriteBack
from orderly.channels.models import Shop
from orderly.channels.registry import connector_class
from orderly.core.clock import utcnow
from orderly.core.errors import Conflict, DomainError, InsufficientStock, NotFound
from orderly.core.phrases import Arg, Phrase
from orderly.fulfilment import domain
from orderly.fulfilment import repository as repo
from orderly.fulfilment.carriers import service as carriers
from orderly.fulfilment.carriers.domain import Label
from orderly.fulfilment.domain import (
    LIVE,
    PLATFORM_CARRIER,
    SHIPPABLE_ORDERS,
    LineToShip,
    ShipmentStatus,
    TrackingEvent,
)
from orderly.fulfilment.models import Shipment, ShipmentEvent, TrackingEventRow, TrackingWriteback
from orderly.fulfilment.schemas import (
    ParcelToChaseOut,
    ShipmentEventOut,
    ShipmentIn,
    ShipmentLineOut,
    ShipmentOut,
    TrackingEventOut,
    TrackingOut,
    WritebackOut,
)
from orderly.inventory import repository as inventory_repo
from orderly.inventory.domain import StockKey
from orderly.inventory.service import StockBook
from orderly.jobs.errors import GiveUp, RetryLater
from orderly.jobs.service import NewJob, enqueue
from orderly.orders import repository as order_repo
from orderly.orders import search
from orderly.orders.domain import OrderStatus, check_transition, shipped_changes
from orderly.orders.models import Order


def create_shipment(session: Session, order_id: int, data: ShipmentIn, *, actor: str) -> Shipment:
    """A parcel for units the order has left to ship, from a warehouse where it holds their stock."""
    order = order_repo.lock_order(session, order_id)
    domain.check_order_shippable(order.id, OrderStatus(order.status))
    lines = _lines_to_ship(session, order.id)
    units = domain.units_to_ship(lines, data.requested())
    parts = catalog_repo.bundle_parts(session, {line.product_id for line in lines})
    needed = domain.stock_needed(lines, units, parts)
    free = _held_for_new_parcels(session, order.id, lines, parts)
    if data.warehouse is None:
        warehouse_id = domain.warehouse_for(needed, free, order.warehouse_id)
        if warehouse_id is None:
            raise InsufficientStock(
                f"no one warehouse holds every unit of this parcel for order {order.id}: "
                "name fewer lines, or one warehouse"
            )
    else:
        found = inventory_repo.warehouse_id(session, data.warehouse)
        if found is None:
            raise NotFound(f"no warehouse {data.warehouse!r}", field="warehouse")
        warehouse_id = found
    domain.check_held(needed, free, warehouse_id, catalog_repo.skus_of(session, needed))

    now = utcnow()
    shipment = Shipment(
        order_id=order.id,
        warehouse_id=warehouse_id,
        status=ShipmentStatus.CREATED,
        carrier_plugin="manual",
        **data.model_dump(exclude={"warehouse", "lines", "ship"}),
        created_at=now,
        updated_at=now,
    )
    session.add(shipment)
    session.flush()
    repo.add_lines(session, shipment.id, units)
    session.flush()  # the session does not autoflush: shipping reads the lines back
    _event(session, shipment, None, actor, "parcel made")
    if data.tracking_number is not None:
        search.record_tracking_number(session, order.id, data.tracking_number)
        _labelled(session, order, shipment, actor, f"tracking number {data.tracking_number}")
    if data.ship:
        _ship(session, order, shipment, actor, None)
    session.flush()
    return shipment


def ship_shipment(session: Session, shipment_id: int, *, actor: str, note: str | None = None) -> Shipment:
    """Hand a parcel over: its stock leaves the warehouse (on hand and reserved both fall), its units
    count as shipped on the order, and the order is shipped or partly shipped. Refused (409) while its
    carrier label is being bought or voided."""
    order = order_repo.lock_order(session, repo.order_of(session, shipment_id))
    shipment = repo.lock_shipment(session, shipment_id)
    carriers.check_no_label_job(session, shipment.id)
    _ship(session, order, shipment, actor, note)
    session.flush()
    return shipment


def pick_shipment(session: Session, shipment_id: int, *, actor: str, note: str | None = None) -> Shipment:
    """The parcel's items are off the shelves (made or labelled -> picked); nothing of the stock moves."""
    order = order_repo.lock_order(session, repo.order_of(session, shipment_id))
    shipment = repo.lock_shipment(session, shipment_id)
    domain.check_order_shippable(order.id, OrderStatus(order.status))
    _move(session, shipment, ShipmentStatus.PICKED, actor, note)
    session.flush()
    return shipment


def mark_packed(session: Session, order: Order, shipment: Shipment, *, actor: str) -> None:
    """Every unit of a locked parcel is in its box (scan to pack, ``packing.py``). A warehouse that
    ships on pack hands it over at once (its stock leaves); otherwise it waits, packed, for the
    carrier's pickup or the packer's confirmation (``ship_shipment``)."""
    _move(session, shipment, ShipmentStatus.PACKED, actor, "every unit scanned")
    warehouse = repo.warehouses_by_id(session, [shipment.warehouse_id])[shipment.warehouse_id]
    if warehouse.ship_on_pack:
        _ship(session, order, shipment, actor, "shipped on pack")
    session.flush()


def void_shipment(
    session: Session, shipment_id: int, *, actor: str, reason: str, through_carrier: bool = True
) -> Shipment:
    """Void a parcel not yet handed over: its units may go in another; nothing of the stock moved.

    A label bought from a carrier is voided through the carrier first (a job: ``carriers/labels.py``);
    the parcel stays as it is until the carrier accepts, and is voided then (``through_carrier=False``)."""
    order = order_repo.lock_order(session, repo.order_of(session, shipment_id))
    shipment = repo.lock_shipment(session, shipment_id)
    if through_carrier and carriers.void_through_carrier(session, shipment, actor=actor, reason=reason):
        _event(session, shipment, shipment.status, actor, f"void asked of the carrier: {reason}")
        session.flush()
        return shipment
    _move(session, shipment, ShipmentStatus.VOIDED, actor, reason)
    session.flush()
    labelled_left = any(
        s.id != shipment.id and s.status in LIVE and s.status != ShipmentStatus.CREATED
        for s in repo.shipments_of(session, order.id)
    )
    status = domain.order_status_after_void(OrderStatus(order.status), labelled_left)
    _set_order_status(
        session,
        order,
        status,
        actor,
        Phrase("shipment %(shipment)s voided: %(reason)s", shipment=shipment.id, reason=reason),
    )
    session.flush()
    return shipment


def void_parcels_of_cancelled_orders(session: Session, *, limit: int = 200) -> int:
    """Void the parcels still on the shelf of orders cancelled since they were made, however they were
    cancelled (orders know nothing of parcels): a label bought from a carrier is refunded through it.
    A parcel whose label is being bought or voided waits for the next sweep. Returns how many were
    voided or sent to their carrier to void."""
    done = 0
    for shipment_id in repo.live_parcels_of_cancelled_orders(session, limit):
        try:
            with session.begin_nested():
                void_shipment(session, shipment_id, actor=SWEEPER, reason="its order was cancelled")
            done += 1
        except DomainError:
            continue  # a label job is under way: the next sweep voids it
    return done


def label_bought(session: Session, shipment_id: int, label: Label, *, plugin: str, actor: str) -> Shipment:
    """Record a label bought from a carrier: its carrier, service, tracking number, cost and promise.
    A parcel still ``created`` becomes ``label_bought`` (and its order label printed); one already
    picked or packed keeps its status."""
    order = order_repo.lock_order(session, repo.order_of(session, shipment_id))
    shipment = repo.lock_shipment(session, shipment_id)
    shipment.carrier_plugin = plugin
    shipment.carrier, shipment.service = label.carrier, label.service
    shipment.tracking_number, shipment.tracking_url = label.tracking_number, label.tracking_url
    shipment.cost, shipment.cost_currency = label.cost, label.currency
    if label.delivery_date is not None:  # the end of the promised day, as the carrier gave no hour
        shipment.promised_by = datetime.combine(label.delivery_date, time.max, tzinfo=UTC)
    if label.tracking_number:
        search.record_tracking_number(session, order.id, label.tracking_number)
    what = f"{label.carrier} {label.service}, tracking number {label.tracking_number}"
    if shipment.status == ShipmentStatus.CREATED:
        _labelled(session, order, shipment, actor, what)
    else:
        note(session, shipment, actor, f"label bought: {what}")
    session.flush()
    return shipment


def note(session: Session, shipment: Shipment, actor: str, message: str) -> None:
    """A line in the parcel's history that changes nothing (a carrier's refusal, a purchase asked)."""
    shipment.updated_at = utcnow()
    _event(session, shipment, shipment.status, actor, message)


def record_tracking(
    session: Session, shipment_id: int, events: Iterable[TrackingEvent], *, source: str, actor: str
) -> int:
    """Add what a carrier (or a person) told of a parcel to its timeline, and move the parcel and its
    order as the newest events say. Carriers resend their whole history, so events heard before are
    skipped; returns how many were new. A parcel the carrier reports moving while still on the shelf is
    handed over first (its stock leaves), unless its order may not ship: then a person is alerted."""
    order = order_repo.lock_order(session, repo.order_of(session, shipment_id))
    shipment = repo.lock_shipment(session, shipment_id)
    known = repo.tracking_digests(session, shipment.id)
    fresh = {event.digest(): event for event in events}
    for digest in known & fresh.keys():
        del fresh[digest]
    subject = f"shipment:{shipment.id}"
    for digest, event in sorted(fresh.items(), key=lambda item: item[1].occurred_at):
        session.add(
            TrackingEventRow(
                shipment_id=shipment.id,
                kind=event.kind,
                code=event.code,
                description=event.description,
                location=event.location,
                occurred_at=event.occurred_at,
                digest=digest,
                source=source,
                recorded_at=utcnow(),
            )
        )
        newest = shipment.last_event_at is None or event.occurred_at >= shipment.last_event_at
        if newest:
            shipment.last_event_at = event.occurred_at
        effect = domain.tracking_effect(ShipmentStatus(shipment.status), event.kind, newest=newest)
        why = f"{source}: {event.description or event.code}"
        if effect.hand_over and order.status not in SHIPPABLE_ORDERS:
            raise_alert(
                session,
                "parcel_left_unshippable",
                subject,
                f"the carrier reports shipment {shipment.id} moving ({why}) but its order {order.id} is "
                f"{order.status}: the parcel was not handed over in the hub; check it",
            )
            continue
        if effect.hand_over:
            _ship(session, order, shipment, actor, why)
        if effect.status is not None and effect.status != shipment.status:
            _move(session, shipment, effect.status, actor, why)
        if effect.status == ShipmentStatus.DELIVERED:
            shipment.delivered_at = event.occurred_at
    if fresh:
        resolve(session, "parcel_stale", subject)
    if shipment.status == ShipmentStatus.DELIVERED:
        resolve(session, "parcel_late", subject)
        session.flush()
        parcels = [ShipmentStatus(s.status) for s in repo.shipments_of(session, order.id)]
        if domain.order_delivered(OrderStatus(order.status), parcels):
            delivered = Phrase("shipment %(shipment)s delivered", shipment=shipment.id)
            _set_order_status(session, order, OrderStatus.DELIVERED, actor, delivered)
    session.flush()
    return len(fresh)


def tracking_of(session: Session, shipment_id: int) -> TrackingOut:
    shipment = repo.get_shipment(session, shipment_id)
    return TrackingOut(
        shipment_id=shipment.id,
        status=shipment.status,
        carrier=shipment.carrier,
        tracking_number=shipment.tracking_number,
        promised_by=shipment.promised_by,
        last_event_at=shipment.last_event_at,
        delivered_at=shipment.delivered_at,
        events=[TrackingEventOut.model_validate(row) for row in repo.timeline(session, shipment.id)],
    )


def watch_parcels(session: Session, now: datetime, quiet: timedelta) -> None:
    """Alert on parcels on their way that have gone quiet for ``quiet``, or whose promised delivery has
    passed. Each alert stays open, once per parcel, until an event (or the delivery) resolves it."""
    silent, late = _to_chase(session, now, quiet)
    for shipment in silent:
        heard = shipment.last_event_at or shipment.shipped_at
        raise_alert(
            session,
            "parcel_stale",
            f"shipment:{shipment.id}",
            f"shipment {shipment.id} ({shipment.carrier or shipment.carrier_plugin} "
            f"{shipment.tracking_number or 'no tracking number'}) has had no carrier event since "
            f"{heard:%Y-%m-%d %H:%M} UTC",
        )
    for shipment in late:
        raise_alert(
            session,
            "parcel_late",
            f"shipment:{shipment.id}",
            f"shipment {shipment.id} was promised by {shipment.promised_by:%Y-%m-%d %H:%M} UTC and is "
            f"{shipment.status}",
        )


def _to_chase(session: Session, now: datetime, quiet: timedelta) -> tuple[list[Shipment], list[Shipment]]:
    """The parcels on their way gone quiet for ``quiet`` (of a carrier that reports events), and those
    whose promised delivery has passed: the stale and the late alerts' rule."""
    return repo.quiet_since(session, now - quiet), repo.promise_passed(session, now)


def parcels_to_chase(session: Session, now: datetime, quiet: timedelta) -> list[ParcelToChaseOut]:
    """The parcels the stale and late alerts are about (:func:`watch_parcels`), each with its newest
    carrier event; the longest unheard of first."""
    silent, late = _to_chase(session, now, quiet)
    quiet_ids, late_ids = {s.id for s in silent}, {s.id for s in late}
    shipments = {s.id: s for s in (*silent, *late)}
    orders = repo.orders_with_shop(session, {s.order_id for s in shipments.values()})
    codes = inventory_repo.warehouse_codes(session)
    last = repo.last_events(session, shipments)
    out = [
        ParcelToChaseOut(
            shipment_id=s.id,
            order_id=s.order_id,
            order_number=orders[s.order_id][0].external_id,
            shop=orders[s.order_id][1],
            warehouse=codes.get(s.warehouse_id, str(s.warehouse_id)),
            status=s.status,
            carrier=s.carrier or s.carrier_plugin,
            tracking_number=s.tracking_number,
            tracking_url=s.tracking_url,
            shipped_at=s.shipped_at,
            promised_by=s.promised_by,
            quiet=s.id in quiet_ids,
            late=s.id in late_ids,
            last_event=TrackingEventOut.model_validate(last[s.id]) if s.id in last else None,
        )
        for s in shipments.values()
    ]
    heard = {s.id: s.last_event_at or s.shipped_at or s.created_at for s in shipments.values()}
    return sorted(out, key=lambda p: (heard[p.shipment_id], p.shipment_id))


def get_shipment(session: Session, shipment_id: int) -> ShipmentOut:
    return shipment_views(session, [repo.get_shipment(session, shipment_id)])[0]


def order_shipments(session: Session, order_id: int) -> list[ShipmentOut]:
    if session.get(Order, order_id) is None:
        raise NotFound(f"no order {order_id}")
    return shipment_views(session, repo.shipments_of(session, order_id))


def shipment_views(session: Session, shipments: list[Shipment]) -> list[ShipmentOut]:
    ids = [s.id for s in shipments]
    lines = repo.lines_of(session, ids)
    events = repo.events_of(session, ids)
    writebacks = repo.writebacks_of(session, ids)
    codes = inventory_repo.warehouse_codes(session)
    labels = carriers.label_views(session, ids)
    return [
        ShipmentOut(
            id=s.id,
            order_id=s.order_id,
            warehouse=codes[s.warehouse_id],
            status=s.status,
            carrier_plugin=s.carrier_plugin,
            carrier=s.carrier,
            service=s.service,
            tracking_number=s.tracking_number,
            tracking_url=s.tracking_url,
            cost=s.cost,
            cost_currency=s.cost_currency,
            weight_g=s.weight_g,
            length_mm=s.length_mm,
            width_mm=s.width_mm,
            height_mm=s.height_mm,
            lines=[ShipmentLineOut(line_no=no, quantity=qty) for no, qty in lines[s.id].items()],
            events=[ShipmentEventOut.model_validate(e) for e in events[s.id]],
            created_at=s.created_at,
            shipped_at=s.shipped_at,
            carrier_label=labels.get(s.id),
            writeback=WritebackOut.model_validate(writebacks[s.id]) if s.id in writebacks else None,
        )
        for s in shipments
    ]


# --- steps ----------------------------------------------------------------------------------------


def _ship(session: Session, order: Order, shipment: Shipment, actor: str, note: str | None) -> None:
    domain.check_transition(ShipmentStatus(shipment.status), ShipmentStatus.SHIPPED)
    domain.check_order_shippable(order.id, OrderStatus(order.status))
    lines = _lines_to_ship(session, order.id)
    units = repo.lines_of(session, [shipment.id])[shipment.id]
    parts = catalog_repo.bundle_parts(session, {line.product_id for line in lines})
    needed = domain.stock_needed(lines, units, parts)
    held = inventory_repo.reserved_by_order(session, [order.id]).get(order.id, {})
    taken = domain.check_held(needed, held, shipment.warehouse_id, catalog_repo.skus_of(session, needed))
    book = StockBook(session, inventory_repo.lock_levels(session, {pid for pid, _ in taken}))
    book.ship(taken, order.id, actor, f"shipment {shipment.id}")
    book.flush()
    order_repo.add_shipped(session, order.id, units)
    shipment.shipped_at = utcnow()
    _move(session, shipment, ShipmentStatus.SHIPPED, actor, note)
    after = [(line.quantity, line.shipped + units.get(line.line_no, 0)) for line in lines]
    _set_order_status(
        session,
        order,
        domain.order_status_after_shipping(after),
        actor,
        Phrase("shipment %(shipment)s (%(what)s)", shipment=shipment.id, what=_tracked(shipment)),
    )
    _queue_writeback(session, order, shipment)


def _lines_to_ship(session: Session, order_id: int) -> list[LineToShip]:
    in_parcels = repo.in_live_shipments(session, order_id)
    return [
        LineToShip(no, pid, qty, shipped, in_parcels.get(no, 0))
        for no, pid, qty, shipped in order_repo.lines_of(session, order_id)
    ]


def _held_for_new_parcels(
    session: Session, order_id: int, lines: list[LineToShip], parts: Mapping[int, list[tuple[int, int]]]
) -> dict[StockKey, int]:
    """What the order holds, less what its live parcels will take from each warehouse."""
    held = dict(inventory_repo.reserved_by_order(session, [order_id]).get(order_id, {}))
    warehouse_of = {s.id: s.warehouse_id for s in repo.shipments_of(session, order_id) if s.status in LIVE}
    taken: dict[StockKey, int] = defaultdict(int)
    for shipment_id, units in repo.lines_of(session, list(warehouse_of)).items():
        for pid, qty in domain.stock_needed(lines, units, parts).items():
            taken[(pid, warehouse_of[shipment_id])] += qty
    return {key: left for key, qty in held.items() if (left := qty - taken.get(key, 0)) > 0}


LABEL_BOUGHT = Phrase("label bought")


def _labelled(session: Session, order: Order, shipment: Shipment, actor: str, message: str) -> None:
    _move(session, shipment, ShipmentStatus.LABEL_BOUGHT, actor, message)
    _set_order_status(
        session, order, domain.order_status_after_label(OrderStatus(order.status)), actor, LABEL_BOUGHT
    )


def _move(
    session: Session, shipment: Shipment, target: ShipmentStatus, actor: str, message: str | None
) -> None:
    before = ShipmentStatus(shipment.status)
    domain.check_transition(before, target)
    shipment.status = target
    shipment.updated_at = utcnow()
    _event(session, shipment, before, actor, message)


def _event(session: Session, shipment: Shipment, before: str | None, actor: str, message: str | None) -> None:
    session.add(
        ShipmentEvent(
            shipment_id=shipment.id,
            from_status=before,
            to_status=shipment.status,
            actor=actor,
            message=message,
            created_at=shipment.updated_at,
        )
    )


def _set_order_status(
    session: Session, order: Order, target: OrderStatus, actor: str, message: Phrase
) -> None:
    """Move the order through its state machine and note why; a status that stays is only noted."""
    before = order.status
    if target != before:
        check_transition(OrderStatus(before), target)
        order.status = target
    order.updated_at = utcnow()
    if target == OrderStatus.SHIPPED and before != target:
        was = order_repo.shipped_of(order)
        order.shipped_at = order.updated_at
        order_repo.add_ship_figures(session, shipped_changes([was], [order_repo.shipped_of(order)]))
    order_repo.add_event(
        session, order, "shipped" if target in _SHIPPED else "fulfilment", before, actor, message
    )


_SHIPPED = frozenset({OrderStatus.SHIPPED, OrderStatus.PARTLY_SHIPPED})


NO_TRACKING_NUMBER = Phrase("no tracking number")


def _tracked(parcel: Shipment | Parcel) -> Arg:
    """A parcel's carrier and tracking number, as its order's history names them."""
    return " ".join(filter(None, (parcel.carrier, parcel.tracking_number))) or NO_TRACKING_NUMBER


# --- tracking write-back ---------------------------------------------------------------------------

#: The job that tells a parcel's shop its carrier and tracking number (``fulfilment/tasks.py``).
WRITE_BACK = "write_back_tracking"
#: How long a try holds a parcel it is sending: longer than its platform calls can take (each request
#: times out within seconds and is tried at most four times, with waits of at most five seconds), so a
#: claim that ran out belongs to a try that is over; another try then looks on the platform first.
WRITEBACK_CLAIM = timedelta(minutes=2)
#: Tries before a write-back that keeps failing (the shop down for hours) is dead: about a day.
WRITEBACK_ATTEMPTS = 100
WRITEBACK_ACTOR = "writeback"
#: Who voids the parcels of cancelled orders, in their history.
SWEEPER = "hub"


@dataclass(frozen=True)
class WritebackStart:
    """A write-back try that is to call the platform (it holds the parcel's claim)."""

    shop_id: int
    parcel: Parcel


def _queue_writeback(session: Session, order: Order, shipment: Shipment) -> None:
    """A parcel handed over goes back to its shop, through the outbox in this transaction, when the
    shop's platform takes tracking numbers (not orders sent by file or API)."""
    shop = session.get(Shop, order.shop_id)
    plugin = connector_class(shop.channel) if shop is not None else None
    if shop is None or plugin is None or not plugin.writes_back:
        return
    if shipment.carrier_plugin == PLATFORM_CARRIER:
        return  # the platform's own logistics made its tracking number: it knows the parcel already
    now = utcnow()
    session.add(
        TrackingWriteback(
            shipment_id=shipment.id, shop_id=shop.id, status="queued", platform_ids=[], created_at=now,
            updated_at=now,
        )
    )  # fmt: skip
    enqueue(session, [_writeback_job(shipment.id, shop.id)])


def _writeback_job(shipment_id: int, shop_id: int) -> NewJob:
    # Keyed by the parcel: its tries run one at a time, and a replay queued meanwhile waits its turn.
    return NewJob(
        WRITE_BACK,
        {"shipment_id": shipment_id},
        key=f"shipment:{shipment_id}",
        shop_id=shop_id,
        max_attempts=WRITEBACK_ATTEMPTS,
    )


def request_writeback(session: Session, shipment_id: int) -> ShipmentOut:
    """Send the parcel's tracking to its shop again: after a refusal (once its cause is fixed), or to
    make sure the shop holds its carrier and number now. Never ships it twice there."""
    repo.get_shipment(session, shipment_id)
    row = repo.lock_writeback(session, shipment_id)
    if row is None:
        raise Conflict(f"shipment {shipment_id} has no write-back: it has not left, or its shop takes none")
    if row.status in ("refused", "skipped"):
        row.status, row.updated_at = "queued", utcnow()
    enqueue(session, [_writeback_job(shipment_id, row.shop_id)])
    return get_shipment(session, shipment_id)


def start_writeback(session: Session, shipment_id: int, claim: str) -> WritebackStart | None:
    """Claim a parcel for a try and say what to send; None when there is nothing to send. Raises
    :class:`WritebackBusy` while another try holds it."""
    row = repo.lock_writeback(session, shipment_id)
    if row is None:
        return None
    shipment = repo.get_shipment(session, shipment_id)
    now = utcnow()
    step = domain.writeback_step(
        row.status,
        (row.claimed_by, row.claimed_until),
        claim,
        now,
        (row.sent_carrier, row.sent_tracking_number),
        (shipment.carrier, shipment.tracking_number),
    )
    if step == domain.WritebackStep.WAIT:
        assert row.claimed_until is not None
        raise WritebackBusy(
            f"shipment {shipment_id} is being sent by {row.claimed_by}",
            retry_after=(row.claimed_until - now).total_seconds(),
        )
    if step == domain.WritebackStep.NOTHING:
        return None
    order = session.get(Order, shipment.order_id)
    assert order is not None
    lines = repo.parcel_lines(session, shipment_id)
    theirs = repo.platform_fulfilled(
        session, row.shop_id, [k for sku, lid, _ in lines for k in (sku, lid) if k]
    )
    ours = [ParcelLine(lid, sku, qty) for sku, lid, qty in lines if sku not in theirs and lid not in theirs]
    if not ours:
        row.status, row.note, row.updated_at = "skipped", "the platform fulfils every line of it", now
        return None
    if row.status == "sending":
        row.maybe_sent = True  # the claim of a try that is over: it may have sent before it ended
    row.status, row.claimed_by, row.claimed_until = "sending", claim, now + WRITEBACK_CLAIM
    row.attempts += 1
    row.updated_at = now
    parcel = Parcel(
        reference=str(shipment.id),
        external_id=order.external_id,
        carrier=shipment.carrier,
        service=shipment.service,
        tracking_number=shipment.tracking_number,
        tracking_url=shipment.tracking_url,
        shipped_at=shipment.shipped_at or now,
        lines=ours,
        accepted=tuple(row.platform_ids) if step == domain.WritebackStep.UPDATE else (),
        maybe_sent=row.maybe_sent,
    )
    return WritebackStart(row.shop_id, parcel)


def writeback_accepted(session: Session, shipment_id: int, parcel: Parcel, result: WriteBack) -> None:
    """The shop took the parcel: keep what it recorded, so it is never sent again."""
    row = repo.lock_writeback(session, shipment_id)
    if row is None:
        return
    now = utcnow()
    row.status, row.platform_ids, row.note, row.error = (
        "accepted",
        list(result.platform_ids),
        result.note,
        None,
    )
    row.sent_carrier, row.sent_tracking_number = parcel.carrier, parcel.tracking_number
    row.maybe_sent, row.claimed_by, row.claimed_until = False, None, None
    row.updated_at = row.accepted_at = now
    sent = Phrase(
        "shipment %(shipment)s (%(what)s) sent to the shop: %(answer)s",
        shipment=shipment_id,
        what=_tracked(parcel),
        answer=_platforms(result.note),
    )
    _writeback_event(session, parcel, sent, now)


def writeback_failed(
    session: Session, shipment_id: int, claim: str, parcel: Parcel, error: Exception, *, acted: bool
) -> None:
    """A try failed. One that sent a request the platform may have acted on (``acted``) may have
    reached it all the same, so the next one looks there first. A refusal keeps the platform's reason
    and waits for a person (a replay); a try whose claim was taken over meanwhile leaves the row to
    the try that holds it."""
    row = repo.lock_writeback(session, shipment_id)
    if row is None:
        return
    row.maybe_sent = row.maybe_sent or acted
    if row.claimed_by != claim:
        return
    now = utcnow()
    refused = isinstance(error, GiveUp)
    row.status = "refused" if refused else "queued"
    row.error = f"{type(error).__name__}: {error}"[:4000]
    row.claimed_by, row.claimed_until, row.updated_at = None, None, now
    if refused:
        refusal = Phrase(
            "shipment %(shipment)s: the shop refused its tracking: %(error)s",
            shipment=shipment_id,
            error=_platforms(str(error)),
        )
        _writeback_event(session, parcel, refusal, now)


def _writeback_event(session: Session, parcel: Parcel, message: Phrase, at: datetime) -> None:
    """A line in the order's history (no lock: it changes nothing of the order)."""
    order = session.get(Order, repo.order_of(session, int(parcel.reference)))
    assert order is not None
    order_repo.add_event(session, order, "tracking", order.status, WRITEBACK_ACTOR, message, at=at)


def _platforms(words: str) -> str:
    """A shop's answer as the history keeps it: bounded, however much the platform said."""
    return words[:4000]


class WritebackBusy(RetryLater):
    """Another try holds the parcel: this one runs again when that claim runs out."""

    waiting_for = "another worker sending the parcel"
