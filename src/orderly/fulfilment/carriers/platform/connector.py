"""The "platform" carrier: the parcel goes with the logistics of the marketplace that sold the order
(Shopee, Lazada, TikTok Shop), which gives its tracking number and label. It has no account of its
own to call: the label job (``carriers/labels.py``) asks the order's shop through its channel
connector (``Connector.ship_with_platform``), and stores what the platform made like any bought
label. Nothing is quoted or charged here (the platform bills the seller), a void is the platform's
to make (the seller cancels the shipment there), and tracking comes with the order's own updates."""

from __future__ import annotations

from collections.abc import Sequence

from orderly.fulfilment.carriers.connector import (
    BoughtLabel,
    CarrierConnector,
    CarrierEvent,
    Label,
    Offer,
    ParcelSpec,
    Rejected,
    VoidOutcome,
    VoidResult,
)
from orderly.fulfilment.domain import PLATFORM_CARRIER


class PlatformConnector(CarrierConnector):
    plugin = PLATFORM_CARRIER

    def quote(self, parcel: ParcelSpec) -> list[Offer]:
        return []

    def buy(self, parcel: ParcelSpec, offer: Offer) -> Label:
        raise Rejected("a platform label is made by the order's shop, through the label job")

    def find_bought(self, parcel: ParcelSpec, offer: Offer) -> Label | None:
        return None

    def void(self, label: BoughtLabel) -> VoidResult:
        return VoidResult(
            VoidOutcome.REFUSED, "the platform's shipment is cancelled on the platform, not from the hub"
        )

    def track(self, labels: Sequence[BoughtLabel]) -> dict[str, list[CarrierEvent]]:
        return {}
