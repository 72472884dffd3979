"""Buying and voiding a parcel's carrier label, through the jobs.

A request (``request_label``, or a void of a parcel whose label was bought) records what is wanted and
enqueues a job in its own transaction. The job reads in a short transaction, calls the carrier with no
transaction open, and stores the outcome in another: the label file kept in ``shipment_labels`` so
reprints never call the carrier, and the parcel and its order moved.

Buying is not idempotent at any carrier (``docs/carriers/README.md`` §1): the offer is stored before it
is bought, so after a lost answer (a timeout, a 5xx) the job first asks the carrier whether it was
bought (``find_bought``) and never buys twice silently. A carrier that cannot tell makes the label
``unknown`` and the job dead (visible, replayable): a person checks the carrier's account, then asks
again with ``confirm_nothing_bought``, or records what they found (``settle_unknown``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from orderly.channels.connector import ChannelError, Parcel, ParcelLine, PlatformLabel, RateLimited, Unreached
from orderly.channels.models import Shop
from orderly.channels.registry import connector_class as channel_class
from orderly.channels.tasks import Paced, connected
from orderly.core.clock import utcnow
from orderly.core.db import transaction
from orderly.core.errors import Conflict, DomainError
from orderly.fulfilment import repository as fulfilment_repo
from orderly.fulfilment import service as fulfilment
from orderly.fulfilment.carriers import domain
from orderly.fulfilment.carriers import repository as repo
from orderly.fulfilment.carriers import service as carriers
from orderly.fulfilment.carriers.connector import CarrierConnector, UnknownOutcome
from orderly.fulfilment.carriers.domain import Label, Offer, ParcelSpec, Preference, VoidOutcome
from orderly.fulfilment.carriers.models import CarrierAccount, LabelState, ShipmentLabel
from orderly.fulfilment.carriers.registry import connector_class
from orderly.fulfilment.carriers.schemas import LabelIn, LabelOutcomeIn, PreferenceIn
from orderly.fulfilment.carriers.service import BUY_LABEL, VOID_LABEL, label_job
from orderly.fulfilment.domain import LIVE, PLATFORM_CARRIER
from orderly.fulfilment.models import Shipment
from orderly.jobs.errors import GiveUp
from orderly.jobs.registry import JobContext
from orderly.jobs.service import Claimed, NewJob, enqueue
from orderly.orders import repository as order_repo
from orderly.orders.models import Order

CHEAPEST = "cheapest"
ACTOR = "carrier"


def _lock(session: Session, shipment_id: int) -> tuple[Shipment, ShipmentLabel | None]:
    """The parcel and its label, locked in the hub's order: its order, the parcel, then the label."""
    order_repo.lock_order(session, fulfilment_repo.order_of(session, shipment_id))
    return fulfilment_repo.lock_shipment(session, shipment_id), repo.label_of(session, shipment_id, lock=True)


# --- requests ---------------------------------------------------------------------------------------


def request_labels(
    session: Session, shipment_ids: Sequence[int], data: LabelIn, *, actor: str
) -> dict[int, str]:
    """:func:`request_label` for several parcels, each under a savepoint: a refused one is named (by
    shipment id, with why) and the rest go on. They are asked for by their orders' ids, as every
    writer locks orders."""
    found = fulfilment_repo.shipments_by_id(session, shipment_ids)
    refusals: dict[int, str] = {}
    for shipment_id in sorted(shipment_ids, key=lambda i: (found[i].order_id if i in found else 0, i)):
        try:
            with session.begin_nested():
                request_label(session, shipment_id, data, actor=actor)
        except DomainError as refused:
            refusals[shipment_id] = refused.message
    return refusals


def request_label(session: Session, shipment_id: int, data: LabelIn, *, actor: str) -> ShipmentLabel:
    """Ask for a label from a carrier account for a parcel not yet handed over: a job buys it. 409 when
    the parcel has a label, one is being bought or voided, or the last purchase's outcome is unknown
    (unless a person confirms nothing was bought)."""
    shipment, label = _lock(session, shipment_id)
    if shipment.status not in LIVE:
        raise Conflict(
            f"shipment {shipment.id} is {shipment.status}: a label is bought only before it leaves"
        )
    if label is not None:
        _check_restart(session, shipment.id, label, data.confirm_nothing_bought)
    if shipment.tracking_number is not None:
        raise Conflict(
            f"shipment {shipment.id} has a label already (tracking number {shipment.tracking_number}): "
            "void it and make a new parcel for another"
        )
    account = repo.account_by_code(session, data.carrier_account)
    carriers.reach(account)  # refused when switched off
    klass = connector_class(account.plugin)
    if account.plugin == PLATFORM_CARRIER:
        _check_platform_logistics(session, shipment)
    if klass is None or not klass.buys:
        raise Conflict(
            f"carrier account {account.code!r} ({account.plugin}) sells no labels: type the tracking number",
            field="carrier_account",
        )
    if data.parcel is not None and not (shipment.length_mm and shipment.width_mm and shipment.height_mm):
        shipment.length_mm, shipment.width_mm, shipment.height_mm = (
            data.parcel.length_mm,
            data.parcel.width_mm,
            data.parcel.height_mm,
        )
    now = utcnow()
    if label is None:
        label = ShipmentLabel(shipment_id=shipment.id, created_at=now)
        session.add(label)
    label.account_id = account.id
    label.state = LabelState.BUYING
    label.service = data.service
    label.deliver_by = data.deliver_by
    label.preference = _preference(session, shipment, account, data, actor).model_dump()
    label.offer = None
    label.carrier_shipment_id = None
    label.content = label.file_format = None
    label.extra = {}
    label.error = None
    label.updated_at = now
    fulfilment.note(session, shipment, actor, f"label asked of {account.code} ({data.service})")
    enqueue(session, [label_job(BUY_LABEL, shipment.id)])
    session.flush()
    return label


def _check_platform_logistics(session: Session, shipment: Shipment) -> None:
    order = session.get(Order, shipment.order_id)  # locked first, in ``_lock``
    shop = session.get(Shop, order.shop_id) if order is not None else None
    channel = channel_class(shop.channel) if shop is not None else None
    if channel is None or not channel.PLATFORM_LOGISTICS:
        where = f"a {shop.channel} shop" if shop is not None else "no shop"
        raise Conflict(
            f"shipment {shipment.id}: its order is from {where}, whose platform ships no parcels itself",
            field="carrier_account",
        )


def _preference(
    session: Session, shipment: Shipment, account: CarrierAccount, data: LabelIn, actor: str
) -> PreferenceIn:
    """The person's preference; when they leave rate shopping free, the one the order's routing rule
    gave (noted on the parcel)."""
    if data.service != CHEAPEST or data.preference != PreferenceIn():
        return data.preference
    order = session.get(Order, shipment.order_id)  # locked first, in ``_lock``
    routed = (order.routing if order is not None and order.routing else {}).get("carrier")
    if not routed:
        return data.preference
    chosen = domain.routed_preference(routed, account.code, account.plugin)
    fulfilment.note(
        session,
        shipment,
        actor,
        f"rate shopping within routing rule {routed.get('rule')}: {domain.describe(chosen)}",
    )
    return PreferenceIn(carrier=chosen.carrier, service=chosen.service)


def _check_restart(session: Session, shipment_id: int, label: ShipmentLabel, confirmed: bool) -> None:
    carriers.check_no_label_job(session, shipment_id)
    if label.state == LabelState.BOUGHT:
        raise Conflict(f"shipment {shipment_id} has a carrier label already: void it first")
    if label.state == LabelState.UNKNOWN and not confirmed:
        raise Conflict(
            f"shipment {shipment_id}: whether the last label was bought is unknown ({label.error}). Check "
            f"the carrier's account for reference SHP-{shipment_id}; if nothing was bought, ask again with "
            "confirm_nothing_bought",
            field="confirm_nothing_bought",
        )


def settle_unknown(session: Session, shipment_id: int, data: LabelOutcomeIn, *, actor: str) -> None:
    """A person's answer to a purchase whose outcome is unknown, from the carrier's account. Bought: the
    label is recorded as the job would have (the parcel ``label_bought`` with the tracking number found,
    at the quoted cost; its file stays at the carrier's). Not bought: the purchase failed, and a new
    one may be asked for. 409 unless the parcel's label purchase is of unknown outcome."""
    shipment, label = _lock(session, shipment_id)
    if label is None or label.state != LabelState.UNKNOWN or not label.offer:
        raise Conflict(f"shipment {shipment_id}: no label purchase of unknown outcome to settle")
    if not data.bought:
        label.state = LabelState.FAILED
        label.error = f"nothing was bought, as {actor} found in the carrier's account: {data.note}"
        label.updated_at = utcnow()
        fulfilment.note(session, shipment, actor, label.error)
        session.flush()
        return
    assert data.tracking_number is not None  # LabelOutcomeIn asks it of a bought label
    offer = Offer.from_json(label.offer)
    account = session.get(CarrierAccount, label.account_id)
    assert account is not None  # accounts with labels are never deleted
    bought = Label(
        carrier_shipment_id=data.carrier_shipment_id or offer.carrier_shipment_id or data.tracking_number,
        tracking_number=data.tracking_number,
        content=b"",
        file_format="",
        cost=offer.cost,
        currency=offer.currency,
        carrier=offer.carrier,
        service=offer.service,
        delivery_date=offer.delivery_date,
    )
    _store(session, shipment.id, bought, account.plugin, actor=actor)
    fulfilment.note(session, shipment, actor, f"the label was bought, as {actor} found: {data.note}")
    session.flush()


# --- the buy job ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Purchase:
    """A buy job's reading of the parcel and what was asked, made in one short transaction."""

    target: carriers.Reach
    spec: ParcelSpec
    service: str
    deliver_by: date | None
    preference: Preference
    offer: Offer | None


def buy_label(ctx: JobContext, job: Claimed) -> None:
    shipment_id = int(job.payload["shipment_id"])
    with transaction(ctx.factory) as session:
        platform = _read_platform_shipping(session, shipment_id)
        purchase = None if platform is not None else _read_purchase(session, shipment_id, ctx)
    if platform is not None:
        _ship_with_platform(ctx, job, shipment_id, platform)
        return
    if purchase is None:
        return
    with carriers.connected(ctx.factory, purchase.target, sleep=ctx.sleep) as connector:
        label = _buy(ctx, connector, shipment_id, purchase)
    with transaction(ctx.factory) as session:
        _store(session, shipment_id, label, purchase.target.plugin)


# --- the platform's own logistics (the "platform" carrier) -----------------------------------------


@dataclass(frozen=True)
class _PlatformShipping:
    shop_id: int
    parcel: Parcel
    method: str | None  # the platform's way of shipping asked for; None: its default
    currency: str


def _read_platform_shipping(session: Session, shipment_id: int) -> _PlatformShipping | None:
    """What a platform label job sends, when the parcel's label is asked of the "platform" carrier.
    The parcel is marked as sent before the platform is called: a try after a lost answer has the
    connector look on the platform first (``Parcel.maybe_sent``)."""
    label = repo.label_of(session, shipment_id, lock=True)
    if label is None or label.state not in (LabelState.BUYING, LabelState.UNKNOWN):
        return None
    account = session.get(CarrierAccount, label.account_id)
    if account is None or account.plugin != PLATFORM_CARRIER:
        return None
    shipment = fulfilment_repo.get_shipment(session, shipment_id)
    order = session.get(Order, shipment.order_id)
    assert order is not None
    maybe_sent = label.carrier_shipment_id is not None
    label.carrier_shipment_id = f"{PLATFORM_CARRIER}:{order.external_id}"[:100]
    label.updated_at = utcnow()
    lines = [
        ParcelLine(lid, sku, qty) for sku, lid, qty in fulfilment_repo.parcel_lines(session, shipment_id)
    ]
    parcel = Parcel(
        reference=str(shipment.id),
        external_id=order.external_id,
        carrier=None,
        service=None,
        tracking_number=None,
        tracking_url=None,
        shipped_at=utcnow(),
        lines=lines,
        maybe_sent=maybe_sent,
    )
    method = None if label.service == CHEAPEST else label.service
    return _PlatformShipping(order.shop_id, parcel, method, order.currency)


def _ship_with_platform(ctx: JobContext, job: Claimed, shipment_id: int, shipping: _PlatformShipping) -> None:
    """Arrange the parcel with the order's own platform and keep its tracking number and label."""
    try:
        with connected(ctx, shipping.shop_id, "shipments") as (_, connector):
            if not connector.PLATFORM_LOGISTICS:
                raise GiveUp(f"shipment {shipment_id}: the order's platform ships no parcels itself")
            made = connector.ship_with_platform(shipping.parcel, method=shipping.method)
    except Paced as exc:
        # Our own limiter's wait is no failure: the label goes on once the shop's budget allows.
        with transaction(ctx.factory) as session:
            enqueue(
                session,
                [
                    NewJob(
                        job.kind,
                        job.payload,
                        key=job.key,
                        delay=exc.retry_after,
                        max_attempts=job.max_attempts,
                    )
                ],
            )
        return
    with transaction(ctx.factory) as session:
        _store(session, shipment_id, _platform_label(made, shipping), PLATFORM_CARRIER)


def _platform_label(made: PlatformLabel, shipping: _PlatformShipping) -> Label:
    return Label(
        carrier_shipment_id=",".join(made.platform_ids)[:100]
        or f"{PLATFORM_CARRIER}:{shipping.parcel.external_id}",
        tracking_number=made.tracking_number,
        content=made.label_pdf or b"",  # none where the platform prints none (kept as no file)
        file_format="pdf",
        cost=0,  # the platform bills the seller itself
        currency=shipping.currency,
        carrier=made.carrier,
        service=shipping.method or PLATFORM_CARRIER,
    )


def _read_purchase(session: Session, shipment_id: int, ctx: JobContext) -> _Purchase | None:
    label = repo.label_of(session, shipment_id)
    if label is None or label.state not in (LabelState.BUYING, LabelState.UNKNOWN):
        return None  # asked again, voided or done meanwhile: nothing to buy
    shipment = fulfilment_repo.get_shipment(session, shipment_id)
    account = session.get(CarrierAccount, label.account_id)
    assert account is not None  # an account with labels is never deleted
    try:
        spec = carriers.parcel_spec(session, shipment, account, None, utcnow().date())
        target = carriers.reach(account, ctx.settings)
    except DomainError as exc:
        raise GiveUp(f"shipment {shipment_id}: {exc.message}") from exc
    return _Purchase(
        target=target,
        spec=spec,
        service=label.service,
        deliver_by=label.deliver_by,
        preference=carriers.preference(PreferenceIn.model_validate(label.preference or {})),
        offer=Offer.from_json(label.offer) if label.offer else None,
    )


def _buy(ctx: JobContext, connector: CarrierConnector, shipment_id: int, purchase: _Purchase) -> Label:
    offer = purchase.offer
    if offer is not None:
        # An earlier run chose this offer and may have sent it: ask before buying again.
        found = _look_up(ctx, connector, shipment_id, purchase.spec, offer, None)
        if found is not None:
            return found
    else:
        offer = _choose(connector.quote(purchase.spec), purchase)
        with transaction(ctx.factory) as session:
            _, label = _lock(session, shipment_id)
            if label is None or label.state != LabelState.BUYING:
                raise GiveUp(f"shipment {shipment_id}: the label was no longer wanted before it was bought")
            label.offer = offer.to_json()
            label.carrier_shipment_id = offer.carrier_shipment_id or None
            label.updated_at = utcnow()
    try:
        return connector.buy(purchase.spec, offer)
    except (Unreached, RateLimited):
        _forget_offer(ctx, shipment_id)  # never reached the carrier: nothing was bought
        raise
    except ChannelError as exc:
        if not exc.retryable:  # refused: nothing was bought
            _forget_offer(ctx, shipment_id)
            raise
        found = _look_up(ctx, connector, shipment_id, purchase.spec, offer, exc)
        if found is not None:
            return found
        raise  # surely not bought: the next run buys again


def _look_up(
    ctx: JobContext,
    connector: CarrierConnector,
    shipment_id: int,
    spec: ParcelSpec,
    offer: Offer,
    lost: ChannelError | None,
) -> Label | None:
    try:
        return connector.find_bought(spec, offer)
    except UnknownOutcome as exc:
        with transaction(ctx.factory) as session:
            _, label = _lock(session, shipment_id)
            if label is not None:
                label.state = LabelState.UNKNOWN
                label.error = f"{lost or 'an earlier answer was lost'}; {exc}"
                label.updated_at = utcnow()
        raise
    except ChannelError:
        if lost is not None:
            raise lost from None  # the next run looks again before anything else
        raise


def _choose(offers: list[Offer], purchase: _Purchase) -> Offer:
    try:
        if purchase.service == CHEAPEST:
            return domain.choose(offers, purchase.spec.ship_date, purchase.deliver_by, purchase.preference)
        wanted = Preference(carrier=purchase.preference.carrier, service=purchase.service)
        return domain.choose(offers, purchase.spec.ship_date, None, wanted)
    except DomainError as exc:
        raise GiveUp(exc.message) from exc


def _forget_offer(ctx: JobContext, shipment_id: int) -> None:
    with transaction(ctx.factory) as session:
        _, label = _lock(session, shipment_id)
        if label is not None:
            label.offer = None
            label.carrier_shipment_id = None


def _store(session: Session, shipment_id: int, bought: Label, plugin: str, *, actor: str = ACTOR) -> None:
    shipment = fulfilment.label_bought(session, shipment_id, bought, plugin=plugin, actor=actor)
    label = repo.label_of(session, shipment.id, lock=True)
    assert label is not None
    label.state = LabelState.BOUGHT
    label.carrier_shipment_id = bought.carrier_shipment_id
    label.content, label.file_format = (
        (bought.content, bought.file_format) if bought.content else (None, None)
    )
    label.extra = dict(bought.extra)
    label.error = None
    label.updated_at = utcnow()


# --- the void job -----------------------------------------------------------------------------------


def void_label(ctx: JobContext, job: Claimed) -> None:
    shipment_id = int(job.payload["shipment_id"])
    with transaction(ctx.factory) as session:
        label = repo.label_of(session, shipment_id)
        if label is None or label.state != LabelState.VOIDING:
            return
        shipment = fulfilment_repo.get_shipment(session, shipment_id)
        account = session.get(CarrierAccount, label.account_id)
        assert account is not None
        target = carriers.reach(account, ctx.settings)
        bought = carriers.bought_label(label, shipment)
        reason, by = str(label.extra.get("void_reason", "")), str(label.extra.get("void_by", ACTOR))
    with carriers.connected(ctx.factory, target, sleep=ctx.sleep) as connector:
        try:
            result = connector.void(bought)
        except ChannelError as exc:
            if exc.retryable:
                raise
            result = domain.VoidResult(VoidOutcome.REFUSED, str(exc))
    with transaction(ctx.factory) as session:
        shipment, label = _lock(session, shipment_id)
        assert label is not None
        if result.outcome == VoidOutcome.REFUSED:
            _void_refused(session, shipment, label, result.reason)
            return
        label.state = LabelState.VOIDED
        label.updated_at = utcnow()
        shipment = fulfilment.void_shipment(
            session, shipment_id, actor=by, reason=reason, through_carrier=False
        )
        fulfilment.note(
            session, shipment, ACTOR, f"the carrier accepted the void: {result.reason}".rstrip(": ")
        )


def _void_refused(session: Session, shipment: Shipment, label: ShipmentLabel, reason: str) -> None:
    """The carrier refused the void: the parcel stays as it was, with the refusal shown."""
    label.state = LabelState.BOUGHT
    label.error = f"void refused: {reason}"
    label.updated_at = utcnow()
    fulfilment.note(session, shipment, ACTOR, label.error)


def on_dead(session: Session, job: Claimed, error: str) -> None:
    """A label job that gave up leaves the parcel's label where a person can see it: a purchase never
    sent is ``failed`` (ask again), one that may have been bought ``unknown``; a void is refused."""
    if job.kind not in (BUY_LABEL, VOID_LABEL):
        return
    shipment, label = _lock(session, int(job.payload["shipment_id"]))
    if label is None:
        return
    if job.kind == BUY_LABEL and label.state == LabelState.BUYING:
        label.state = LabelState.UNKNOWN if label.offer else LabelState.FAILED
        label.error = error
        label.updated_at = utcnow()
    elif job.kind == VOID_LABEL and label.state == LabelState.VOIDING:
        _void_refused(session, shipment, label, error)
    elif label.state == LabelState.UNKNOWN:
        label.error = error
