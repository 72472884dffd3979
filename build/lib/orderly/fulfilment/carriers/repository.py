"""Carrier queries: accounts, labels, and what a parcel's customs declaration needs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orderly.catalog.models import Product
from orderly.core.db import chunks
from orderly.core.errors import NotFound
from orderly.fulfilment.carriers.models import CarrierAccount, LabelState, ShipmentLabel
from orderly.fulfilment.domain import LIVE, ON_THE_WAY, ShipmentStatus
from orderly.fulfilment.models import Shipment
from orderly.orders.models import OrderLine

#: Label states whose file may be printed: bought, and bought with a void asked for.
PRINTABLE = ("bought", "voiding")


def account_by_code(session: Session, code: str, *, lock: bool = False) -> CarrierAccount:
    query = select(CarrierAccount).where(CarrierAccount.code == code)
    found = session.scalar(query.with_for_update() if lock else query)
    if found is None:
        raise NotFound(f"no carrier account {code!r}", field="carrier_account")
    return found


def accounts(session: Session) -> list[CarrierAccount]:
    return list(session.scalars(select(CarrierAccount).order_by(CarrierAccount.code)))


def account_codes(session: Session, account_ids: Iterable[int]) -> dict[int, str]:
    query = select(CarrierAccount.id, CarrierAccount.code).where(
        CarrierAccount.id.in_(sorted(set(account_ids)))
    )
    return dict(session.execute(query).all())


def label_of(session: Session, shipment_id: int, *, lock: bool = False) -> ShipmentLabel | None:
    query = select(ShipmentLabel).where(ShipmentLabel.shipment_id == shipment_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return session.scalar(query)


def labels_of(session: Session, shipment_ids: Iterable[int]) -> dict[int, ShipmentLabel]:
    found: dict[int, ShipmentLabel] = {}
    for part in chunks(sorted(set(shipment_ids))):
        query = select(ShipmentLabel).where(ShipmentLabel.shipment_id.in_(part))
        found.update((label.shipment_id, label) for label in session.scalars(query))
    return found


def label_files(session: Session, shipment_ids: Iterable[int]) -> dict[int, bytes]:
    """The carrier label files kept for these shipments (those that have one to print)."""
    found: dict[int, bytes] = {}
    for part in chunks(sorted(set(shipment_ids))):
        query = select(ShipmentLabel.shipment_id, ShipmentLabel.content).where(
            ShipmentLabel.shipment_id.in_(part),
            ShipmentLabel.state.in_(PRINTABLE),
            ShipmentLabel.content.is_not(None),
        )
        found.update((sid, content) for sid, content in session.execute(query) if content)
    return found


def customs_facts(
    session: Session, order_id: int, units: Mapping[int, int]
) -> list[tuple[int, str, str, int, int | None]]:
    """Per line of the parcel: (quantity, SKU, title, unit price, unit weight in grams or None)."""
    query = (
        select(
            OrderLine.line_no,
            Product.sku,
            OrderLine.title,
            Product.name,
            OrderLine.unit_price,
            Product.weight_g,
        )
        .join(Product, Product.id == OrderLine.product_id)
        .where(OrderLine.order_id == order_id, OrderLine.line_no.in_(sorted(units)))
        .order_by(OrderLine.line_no)
    )
    return [
        (units[no], sku, title or name, price, weight)
        for no, sku, title, name, price, weight in session.execute(query)
    ]


#: Parcels whose carrier is asked for news: labelled and not yet arrived (one on the shelf too, so a
#: carrier's pickup hands it over).
FOLLOWED = sorted((LIVE - {ShipmentStatus.CREATED}) | ON_THE_WAY)


def followed(session: Session, account_id: int, limit: int) -> list[tuple[Shipment, ShipmentLabel]]:
    """The account's parcels to ask their carrier about, those heard of least recently first."""
    heard = func.coalesce(Shipment.last_event_at, Shipment.shipped_at, Shipment.created_at)
    query = (
        select(Shipment, ShipmentLabel)
        .join(ShipmentLabel, ShipmentLabel.shipment_id == Shipment.id)
        .where(
            ShipmentLabel.account_id == account_id,
            ShipmentLabel.state == LabelState.BOUGHT,
            Shipment.status.in_(FOLLOWED),
            Shipment.tracking_number.is_not(None),
        )
        .order_by(heard, Shipment.id)
        .limit(limit)
    )
    return [(shipment, label) for shipment, label in session.execute(query).all()]


def accounts_following(session: Session) -> list[int]:
    """Active accounts with a parcel to follow."""
    query = (
        select(ShipmentLabel.account_id)
        .join(Shipment, Shipment.id == ShipmentLabel.shipment_id)
        .join(CarrierAccount, CarrierAccount.id == ShipmentLabel.account_id)
        .where(
            CarrierAccount.active.is_(True),
            ShipmentLabel.state == LabelState.BOUGHT,
            Shipment.status.in_(FOLLOWED),
        )
        .distinct()
    )
    return sorted(session.scalars(query))


def labelled_parcel(session: Session, account_id: int, tracking_number: str) -> int | None:
    """The parcel a carrier account bought this tracking number for."""
    query = (
        select(Shipment.id)
        .join(ShipmentLabel, ShipmentLabel.shipment_id == Shipment.id)
        .where(ShipmentLabel.account_id == account_id, Shipment.tracking_number == tracking_number)
        .order_by(Shipment.id.desc())
        .limit(1)
    )
    return session.scalar(query)
