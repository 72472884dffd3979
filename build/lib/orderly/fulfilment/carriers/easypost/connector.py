"""The EasyPost connector (``docs/carriers/easypost.md``): quote by creating a shipment (its rates),
buy one rate, download the PDF label, refund to void, trackers for events, signed webhooks.

Credentials: ``api_key`` (test or production: the mode is the key's, §1) and, for webhooks,
``webhook_secret``. The base URL is ``https://api.easypost.com/v2`` or a sandbox's ``.../v2``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import httpx

from orderly.fulfilment.carriers.connector import (
    WEBHOOK_SECRET,
    BoughtLabel,
    CarrierAccountRef,
    CarrierConnector,
    CarrierError,
    CarrierEvent,
    Label,
    Offer,
    ParcelSpec,
    RateLimit,
    TrackingUpdate,
    VoidResult,
    read_answer,
)
from orderly.fulfilment.carriers.easypost import mapper, webhooks
from orderly.fulfilment.carriers.easypost.client import EasyPostApi


class EasyPostConnector(CarrierConnector):
    plugin = "easypost"
    # §12: 5 requests a second on list endpoints; rating and buying sit behind an unpublished
    # load-based limiter, paced as conservatively. 429s back off on top.
    rate_limits = {
        "rates": RateLimit(per_second=5.0, burst=5),
        "buy": RateLimit(per_second=5.0, burst=5),
        "void": RateLimit(per_second=5.0, burst=5),
        "track": RateLimit(per_second=5.0, burst=5),
    }
    credential_names = {
        "api_key": "the EasyPost API key (test or production)",
        WEBHOOK_SECRET: "the secret tracker webhooks are signed with (optional)",
    }
    default_base_url = "https://api.easypost.com/v2"
    webhooks = True

    def __init__(self, account: CarrierAccountRef, client: httpx.Client) -> None:
        super().__init__(account, client)
        self.api = EasyPostApi(client, api_key=self.account.credentials.get("api_key"), pace=self._pace)

    def _pace(self, operation: str) -> None:
        self.pace(operation)  # read at call time: the engine sets ``pace`` after construction

    def quote(self, parcel: ParcelSpec) -> list[Offer]:
        shipment = self.api.send("rates", "POST", "shipments", json=mapper.shipment_request(parcel))
        return self._read(mapper.offers, shipment)

    def buy(self, parcel: ParcelSpec, offer: Offer) -> Label:
        path = f"shipments/{offer.carrier_shipment_id}/buy"
        shipment = self.api.send("buy", "POST", path, json=mapper.buy_request(offer), replayable=False)
        found = self._label(shipment)
        if found is None:
            raise CarrierError(f"EasyPost bought {offer.carrier_shipment_id} but returned no postage_label")
        return found

    def find_bought(self, parcel: ParcelSpec, offer: Offer) -> Label | None:
        # §12: re-read the shipment made before buying; a postage_label means the buy happened.
        shipment = self.api.send("rates", "GET", f"shipments/{offer.carrier_shipment_id}")
        return self._label(shipment)

    def void(self, label: BoughtLabel) -> VoidResult:
        shipment = self.api.send("void", "POST", f"shipments/{label.carrier_shipment_id}/refund")
        return self._read(mapper.refund, shipment)

    def track(self, labels: Sequence[BoughtLabel]) -> dict[str, list[CarrierEvent]]:
        found: dict[str, list[CarrierEvent]] = {}
        for label in labels:
            page = self.api.send("track", "GET", "trackers", params={"tracking_code": label.tracking_number})
            tracker = mapper.pick_tracker(page.get("trackers") or [], label.carrier_shipment_id)
            if tracker is not None:
                found[label.tracking_number] = self._read(mapper.tracking_events, tracker)
        return found

    @classmethod
    def verify_webhook(cls, secret: str | None, headers: Mapping[str, str], body: bytes) -> bool:
        return webhooks.verify(secret, headers, body)

    @classmethod
    def parse_webhook(cls, headers: Mapping[str, str], body: bytes) -> TrackingUpdate | None:
        return webhooks.parse(body)

    def _label(self, shipment: dict[str, Any]) -> Label | None:
        info = self._read(mapper.bought, shipment)
        if info is None:
            return None
        content = self.api.download(info.pop("label_url"))
        return Label(content=content, **info)

    @staticmethod
    def _read(read: Callable[[B], T], body: B) -> T:
        return read_answer("EasyPost", read, body)


B = TypeVar("B")
T = TypeVar("T")
