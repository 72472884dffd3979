"""The manual carrier: the seller types carrier, service and tracking number (a label bought or printed
elsewhere), and the hub prints its own 4x6 label. It calls nobody: no offers, nothing to buy, a void is
local, and tracking comes from the seller or the shop."""

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


class ManualConnector(CarrierConnector):
    plugin = "manual"
    buys = False

    def quote(self, parcel: ParcelSpec) -> list[Offer]:
        return []

    def buy(self, parcel: ParcelSpec, offer: Offer) -> Label:
        raise Rejected("the manual carrier sells no labels: type the carrier and tracking number instead")

    def find_bought(self, parcel: ParcelSpec, offer: Offer) -> Label | None:
        return None

    def void(self, label: BoughtLabel) -> VoidResult:
        return VoidResult(VoidOutcome.VOIDED)

    def track(self, labels: Sequence[BoughtLabel]) -> dict[str, list[CarrierEvent]]:
        return {}
