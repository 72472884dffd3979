"""Carrier accounts, and reaching a carrier for a parcel: its accounts (credentials sealed with the
shops' key), a paced connector, the parcel as a carrier sees it, and a quote with rate shopping.

A quote reads the parcel in a short transaction and calls the carrier with none open. Buying and
voiding go through the jobs (``labels.py``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from functools import partial

import httpx
from sqlalchemy.orm import Session, sessionmaker

from orderly.channels.connector import ChannelError, RateLimited
from orderly.channels.schemas import stored_address
from orderly.channels.secrets import seal, unseal
from orderly.core.clock import utcnow
from orderly.core.config import Settings, get_settings
from orderly.core.db import flush_or_conflict, transaction
from orderly.core.errors import Conflict, DomainError
from orderly.fulfilment import repository as fulfilment_repo
from orderly.fulfilment.carriers import domain, ratelimit
from orderly.fulfilment.carriers import repository as repo
from orderly.fulfilment.carriers.connector import (
    BoughtLabel,
    CarrierAccountRef,
    CarrierConnector,
    CustomsLine,
    Offer,
    ParcelSpec,
    Party,
)
from orderly.fulfilment.carriers.domain import Preference
from orderly.fulfilment.carriers.models import CarrierAccount, LabelState, ShipmentLabel
from orderly.fulfilment.carriers.registry import connector_class
from orderly.fulfilment.carriers.schemas import (
    CarrierAccountIn,
    CarrierAccountOut,
    CarrierAccountUpdate,
    CarrierLabelOut,
    CarrierSettings,
    OfferOut,
    ParcelSize,
    PreferenceIn,
    RatesIn,
    RatesOut,
)
from orderly.fulfilment.domain import LIVE
from orderly.fulfilment.models import Shipment
from orderly.jobs.service import NewJob, enqueue

TIMEOUT = httpx.Timeout(30.0, connect=5.0)  # buying a label can take the carrier a while
LONGEST_WAIT = 5.0  # a rate-limit wait longer than this hands the job to a later run


class CarrierUnavailable(DomainError):
    """The carrier did not answer usefully (throttled, failing, unreachable): try again later."""

    http_status = 502


# --- accounts --------------------------------------------------------------------------------------


def create_account(
    session: Session, data: CarrierAccountIn, settings: Settings | None = None
) -> CarrierAccountOut:
    klass = _plugin(data.plugin)
    _check_setup(klass, data.settings, data.credentials or {})
    account = CarrierAccount(
        code=data.code,
        name=data.name,
        plugin=data.plugin,
        base_url=stored_address(data.base_url) if data.base_url else klass.default_base_url or None,
        credentials=seal(settings or get_settings(), dict(data.credentials)) if data.credentials else None,
        settings=data.settings.model_dump(exclude_none=True),
        active=data.active,
        created_at=utcnow(),
    )
    session.add(account)
    flush_or_conflict(session, f"carrier account {data.code!r}")
    return account_out(account, settings)


def update_account(
    session: Session, code: str, data: CarrierAccountUpdate, settings: Settings | None = None
) -> CarrierAccountOut:
    account = repo.account_by_code(session, code, lock=True)
    base_url = stored_address(data.base_url) if data.base_url is not None else account.base_url
    if base_url != account.base_url and account.credentials and data.credentials is None:
        raise Conflict(
            f"changing the address of carrier account {code!r} changes where its credentials are sent: give "
            "the credentials again in the same change",
            field="credentials",
        )
    klass = _plugin(account.plugin)
    account_settings = data.settings or CarrierSettings.model_validate(account.settings)
    credentials = (
        data.credentials
        if data.credentials is not None
        else unseal(settings or get_settings(), account.credentials)
    )
    _check_setup(klass, account_settings, credentials)
    if data.name is not None:
        account.name = data.name
    account.base_url = base_url
    if data.credentials is not None:
        account.credentials = seal(settings or get_settings(), dict(data.credentials))
    account.settings = account_settings.model_dump(exclude_none=True)
    if data.active is not None:
        account.active = data.active
    session.flush()
    return account_out(account, settings)


def list_accounts(session: Session, settings: Settings | None = None) -> list[CarrierAccountOut]:
    return [account_out(a, settings) for a in repo.accounts(session)]


def get_account(session: Session, code: str, settings: Settings | None = None) -> CarrierAccountOut:
    return account_out(repo.account_by_code(session, code), settings)


def account_out(account: CarrierAccount, settings: Settings | None = None) -> CarrierAccountOut:
    names = sorted(unseal(settings or get_settings(), account.credentials)) if account.credentials else []
    return CarrierAccountOut(
        id=account.id,
        code=account.code,
        name=account.name,
        plugin=account.plugin,
        base_url=account.base_url,
        credentials=names,
        settings=dict(account.settings or {}),
        active=account.active,
        created_at=account.created_at,
    )


def _plugin(plugin: str) -> type[CarrierConnector]:
    klass = connector_class(plugin)
    if klass is None:
        raise DomainError(f"no carrier plugin {plugin!r}", field="plugin")
    return klass


def _check_setup(
    klass: type[CarrierConnector], settings: CarrierSettings, credentials: dict[str, str]
) -> None:
    missing = [name for name in klass.credential_names if name not in credentials and _required(klass, name)]
    if missing:
        raise DomainError(
            f"{klass.plugin} accounts need the credential(s) {', '.join(missing)}", field="credentials"
        )
    unknown = sorted(set(credentials) - set(klass.credential_names))
    if unknown:
        known = ", ".join(klass.credential_names) or "none"
        raise DomainError(
            f"{klass.plugin} takes no credential {', '.join(unknown)}; it knows: {known}", field="credentials"
        )
    for name in klass.setting_names:
        if getattr(settings, name, None) is None:
            raise DomainError(f"{klass.plugin} accounts need the setting {name}", field=f"settings.{name}")


def _required(klass: type[CarrierConnector], name: str) -> bool:
    return "(optional)" not in klass.credential_names[name]


# --- a connector for an account ---------------------------------------------------------------------


class Paced(RateLimited):
    """Our own rate limiter asks for a wait; the carrier did not fail."""


@dataclass(frozen=True)
class Reach:
    """An account as a connector needs it, read in a transaction and used after it closed."""

    account_id: int
    plugin: str
    ref: CarrierAccountRef


def reach(account: CarrierAccount, settings: Settings | None = None) -> Reach:
    if not account.active:
        raise Conflict(f"carrier account {account.code!r} is switched off", field="carrier_account")
    ref = CarrierAccountRef(
        account_id=account.id,
        code=account.code,
        base_url=account.base_url or "",
        credentials=unseal(settings or get_settings(), account.credentials),
        settings=dict(account.settings or {}),
    )
    return Reach(account.id, account.plugin, ref)


@contextmanager
def connected(
    factory: sessionmaker[Session],
    target: Reach,
    *,
    sleep: Callable[[float], None] = time.sleep,
    client: httpx.Client | None = None,
) -> Iterator[CarrierConnector]:
    """A connector on ``target`` whose every request draws from the account's shared buckets; a 429
    blocks the throttled bucket for every worker."""
    klass = _plugin(target.plugin)
    own = client is None
    http = client or httpx.Client(
        base_url=target.ref.base_url, timeout=TIMEOUT, headers={"User-Agent": "Orderly"}
    )
    connector = klass(target.ref, http)
    connector.pace = partial(_pace, factory, connector, sleep)
    try:
        yield connector
    except Paced:
        raise
    except RateLimited as exc:
        limits = connector.rate_limits
        names = [exc.operation] if exc.operation is not None and exc.operation in limits else list(limits)
        for name in names:
            ratelimit.block(factory, target.account_id, limits[name].bucket or name, exc.retry_after)
        raise
    finally:
        if own:
            http.close()


def _pace(
    factory: sessionmaker[Session],
    connector: CarrierConnector,
    sleep: Callable[[float], None],
    operation: str,
) -> None:
    limit = connector.rate_limits.get(operation)
    if limit is None:
        return
    wait = ratelimit.take(factory, connector.account.account_id, limit.bucket or operation, limit)
    if wait > LONGEST_WAIT:
        raise Paced(
            f"{operation}: waiting for the carrier account's rate limit", retry_after=wait, status=None
        )
    if wait > 0:
        sleep(wait)


# --- the parcel as a carrier sees it -------------------------------------------------------------------


def parcel_spec(
    session: Session, shipment: Shipment, account: CarrierAccount, size: ParcelSize | None, ship_date: date
) -> ParcelSpec:
    """The shipment in a carrier's terms: from the account's ``ship_from``, to the order's address, its
    weight (the parcel's, else its products'), its box (the parcel's, the one asked for, else the
    account's default), and customs lines when it crosses a border. 409 naming what is missing."""
    settings = CarrierSettings.model_validate(account.settings or {})
    if settings.ship_from is None:
        raise Conflict(f"carrier account {account.code!r} has no ship_from address", field="carrier_account")
    sender = Party(**settings.ship_from.model_dump())
    orders = fulfilment_repo.orders_with_shop(session, [shipment.order_id])
    order, _ = orders[shipment.order_id]
    if not (order.ship_country and order.ship_line1 and order.ship_city):
        raise Conflict(f"order {order.id} has no complete shipping address for a carrier")
    recipient = Party(
        name=order.ship_name or "",
        line1=order.ship_line1,
        line2=order.ship_line2 or "",
        city=order.ship_city,
        region=order.ship_region or "",
        postal_code=order.ship_postal_code or "",
        country=order.ship_country,
        phone=order.ship_phone or "",
        email=order.buyer_email or "",
    )
    units = fulfilment_repo.lines_of(session, [shipment.id])[shipment.id]
    facts = repo.customs_facts(session, order.id, units)
    weight = shipment.weight_g
    if weight is None and facts and all(w is not None for *_, w in facts):
        weight = sum(qty * (w or 0) for qty, *_, w in facts)
    if not weight:
        raise Conflict(
            f"shipment {shipment.id} has no weight: give the parcel's weight_g or the products' weight",
            field="weight_g",
        )
    box = _box(shipment, size or settings.default_parcel)
    if box is None:
        raise Conflict(
            f"shipment {shipment.id} has no dimensions: give the box's size, or the account's default_parcel",
            field="parcel",
        )
    customs: tuple[CustomsLine, ...] = ()
    if sender.country != recipient.country:
        customs = tuple(
            CustomsLine(
                description=title[:200],
                quantity=qty,
                value=qty * price,
                currency=order.currency,
                weight_g=qty * w if w else max(1, weight * qty // sum(f[0] for f in facts)),
                sku=sku,
            )
            for qty, sku, title, price, w in facts
        )
    return ParcelSpec(
        reference=f"SHP-{shipment.id}",
        sender=sender,
        recipient=recipient,
        weight_g=weight,
        length_mm=box[0],
        width_mm=box[1],
        height_mm=box[2],
        ship_date=ship_date,
        customs=customs,
        description=(facts[0][2] if facts else "Goods")[:70],
    )


def _box(shipment: Shipment, size: ParcelSize | None) -> tuple[int, int, int] | None:
    if shipment.length_mm and shipment.width_mm and shipment.height_mm:
        return shipment.length_mm, shipment.width_mm, shipment.height_mm
    if size is not None:
        return size.length_mm, size.width_mm, size.height_mm
    return None


def preference(data: PreferenceIn) -> Preference:
    return Preference(
        carriers=frozenset(data.carriers),
        services=frozenset(data.services),
        carrier=data.carrier,
        service=data.service,
        unknown_delivery_ok=data.unknown_delivery_ok,
    )


def check_quotable(shipment: Shipment) -> None:
    if shipment.status not in LIVE:
        raise Conflict(
            f"shipment {shipment.id} is {shipment.status}: only a parcel not yet handed over is quoted"
        )


# --- quote -----------------------------------------------------------------------------------------


def quote(
    factory: sessionmaker[Session], read_factory: sessionmaker[Session], shipment_id: int, data: RatesIn
) -> RatesOut:
    """The carrier's offers for a parcel and what rate shopping picks. The parcel is read in a short
    transaction; the carrier is called with none open."""
    ship_date = data.ship_date or utcnow().date()
    with transaction(read_factory) as session:
        shipment = fulfilment_repo.get_shipment(session, shipment_id)
        check_quotable(shipment)
        account = repo.account_by_code(session, data.carrier_account)
        spec = parcel_spec(session, shipment, account, data.parcel, ship_date)
        target = reach(account)
    with carrier_call(), connected(factory, target) as connector:
        offers = connector.quote(spec)
    wanted = preference(data.preference)
    try:
        chosen, reason = domain.choose(offers, ship_date, data.deliver_by, wanted), None
    except DomainError as exc:
        chosen, reason = None, exc.message
    unknown_ok = wanted.unknown_delivery_ok
    out = [_offer_out(o, ship_date, data.deliver_by, unknown_ok) for o in offers]
    return RatesOut(
        offers=out,
        chosen=None if chosen is None else _offer_out(chosen, ship_date, data.deliver_by, unknown_ok),
        reason=reason,
    )


@contextmanager
def carrier_call() -> Iterator[None]:
    """A carrier's failure during a request, as the API answers it: a refusal is 409 with the carrier's
    words; a throttle, a failure or no answer is 502 (try again later)."""
    try:
        yield
    except ChannelError as exc:
        if exc.retryable:
            raise CarrierUnavailable(f"the carrier did not answer usefully, try again later: {exc}") from exc
        raise Conflict(f"the carrier refused: {exc}", field="carrier_account") from exc


def _offer_out(offer: Offer, ship_date: date, deliver_by: date | None, unknown_ok: bool) -> OfferOut:
    return OfferOut(
        carrier=offer.carrier,
        service=offer.service,
        service_name=offer.service_name,
        cost=offer.cost,
        currency=offer.currency,
        transit_days=offer.transit_days,
        delivery_date=offer.delivery_date,
        arrives=domain.arrives(offer, ship_date),
        meets_promise=domain.meets(offer, ship_date, deliver_by, unknown_ok=unknown_ok),
    )


# --- labels through the jobs (``labels.py`` runs them) -----------------------------------------------

BUY_LABEL, VOID_LABEL = "buy_label", "void_label"
#: A buy job tries this often before it is dead (a lost answer is looked up before each new try).
BUY_ATTEMPTS = 8


def bought_label(label: ShipmentLabel, shipment: Shipment) -> BoughtLabel:
    """What voiding and tracking tell the carrier of a label it sold."""
    return BoughtLabel(
        carrier_shipment_id=label.carrier_shipment_id or "",
        tracking_number=shipment.tracking_number or "",
        carrier=shipment.carrier or "",
        extra=dict(label.extra),
    )


def label_job(kind: str, shipment_id: int) -> NewJob:
    # One label job per parcel at a time: a buy and a void never overlap.
    return NewJob(kind, {"shipment_id": shipment_id}, key=f"label:{shipment_id}", max_attempts=BUY_ATTEMPTS)


def check_no_label_job(session: Session, shipment_id: int) -> None:
    """A parcel whose label a job is buying or voiding is not handed over meanwhile: its label would
    be bought for a parcel gone, or refunded for one on its way."""
    label = repo.label_of(session, shipment_id, lock=True)
    if label is not None and label.state in (LabelState.BUYING, LabelState.VOIDING):
        what = "purchase" if label.state == LabelState.BUYING else "void"
        raise Conflict(f"shipment {shipment_id}: a label {what} is under way; wait for it")


def void_through_carrier(session: Session, shipment: Shipment, *, actor: str, reason: str) -> bool:
    """Whether voiding this (locked) parcel is the carrier's to do first: a label bought from it is
    refunded by a job, and the parcel is voided when the carrier accepts. Refused (409) while a
    purchase or a void is under way."""
    check_no_label_job(session, shipment.id)
    label = repo.label_of(session, shipment.id)
    if label is None or label.state != LabelState.BOUGHT:
        return False  # nothing known bought: the void is the hub's alone
    label.state = LabelState.VOIDING
    label.extra = {**label.extra, "void_reason": reason, "void_by": actor}
    label.error = None
    label.updated_at = utcnow()
    enqueue(session, [label_job(VOID_LABEL, shipment.id)])
    return True


def label_views(session: Session, shipment_ids: list[int]) -> dict[int, CarrierLabelOut]:
    found = repo.labels_of(session, shipment_ids)
    codes = repo.account_codes(session, {label.account_id for label in found.values()})
    return {
        sid: CarrierLabelOut(
            carrier_account=codes[label.account_id],
            state=label.state,
            service=label.service,
            deliver_by=label.deliver_by,
            carrier_shipment_id=label.carrier_shipment_id,
            has_file=label.content is not None,
            error=label.error,
            updated_at=label.updated_at,
        )
        for sid, label in found.items()
    }
