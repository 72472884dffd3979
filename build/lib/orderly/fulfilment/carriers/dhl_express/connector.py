"""The DHL Express connector (MyDHL API, ``docs/carriers/dhl-express.md``): rates by product, a
shipment created with its label inline, tracking polled in batches of 200; no webhooks, and no API to
void a waybill (§9): a void cancels the pickup if one was booked and is otherwise the hub's alone.

Credentials: ``username`` and ``password`` (the API key and secret from developer.dhl.com). Setting:
``account_number`` (the shipper account, sent in every body). The base URL defaults to DHL's test
environment, ``https://express.api.dhl.com/mydhlapi/test``; production is ``.../mydhlapi``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import httpx

from orderly.fulfilment.carriers.connector import (
    BoughtLabel,
    CarrierAccountRef,
    CarrierConnector,
    CarrierEvent,
    Label,
    Offer,
    ParcelSpec,
    RateLimit,
    Rejected,
    UnknownOutcome,
    VoidOutcome,
    VoidResult,
    read_answer,
)
from orderly.fulfilment.carriers.dhl_express import mapper
from orderly.fulfilment.carriers.dhl_express.client import MyDhlApi, body

TRACKING_BATCH = 200  # waybills one tracking call takes (§7)


class DhlExpressConnector(CarrierConnector):
    plugin = "dhl_express"
    # §10: per-app limits per second and per day, not published for MyDHL API: paced conservatively,
    # with back-off on a 429.
    rate_limits = {
        "rates": RateLimit(per_second=2.0, burst=4, bucket="api"),
        "buy": RateLimit(per_second=2.0, burst=4, bucket="api"),
        "void": RateLimit(per_second=2.0, burst=4, bucket="api"),
        "track": RateLimit(per_second=2.0, burst=4, bucket="api"),
    }
    credential_names = {"username": "the MyDHL API key", "password": "the MyDHL API secret"}
    setting_names = {"account_number": "the DHL Express shipper account number"}
    default_base_url = "https://express.api.dhl.com/mydhlapi/test"

    def __init__(self, account: CarrierAccountRef, client: httpx.Client) -> None:
        super().__init__(account, client)
        credentials = account.credentials
        self.api = MyDhlApi(
            client,
            username=credentials.get("username"),
            password=credentials.get("password"),
            pace=self._pace,
        )
        self.account_number = str(account.settings.get("account_number") or "")

    def _pace(self, operation: str) -> None:
        self.pace(operation)  # read at call time: the engine sets ``pace`` after construction

    def quote(self, parcel: ParcelSpec) -> list[Offer]:
        answer = self.api.send(
            "rates", "POST", "rates", json=mapper.rate_request(parcel, self.account_number)
        )
        return read_answer("DHL Express", mapper.offers, body(answer))

    def buy(self, parcel: ParcelSpec, offer: Offer) -> Label:
        request = mapper.shipment_request(parcel, offer, self.account_number)
        answer = self.api.send("buy", "POST", "shipments", json=request, replayable=False, expect=(201,))
        return read_answer("DHL Express", lambda found: mapper.created(found, offer), body(answer))

    def find_bought(self, parcel: ParcelSpec, offer: Offer) -> Label | None:
        # §10: no idempotency key, and the label comes only with the creating answer. Looking the
        # shipment up by reference tells whether a waybill exists, never gives its label back; DHL's
        # test environment finds nothing this way at all. A person decides.
        params = [
            ("shipmentReference", parcel.reference),
            ("shipperAccountNumber", self.account_number),
            ("dateRangeFrom", (parcel.ship_date - timedelta(days=1)).isoformat()),
            ("dateRangeTo", (parcel.ship_date + timedelta(days=1)).isoformat()),
        ]
        try:
            found = read_answer(
                "DHL Express",
                mapper.tracking_events,
                body(self.api.send("track", "GET", "tracking", params=params)),
            )
        except Rejected as exc:
            if exc.status != 404:
                raise
            found = {}
        if found:
            numbers = ", ".join(sorted(found))
            raise UnknownOutcome(
                f"DHL Express made waybill {numbers} for {parcel.reference}, but its label was in the lost "
                "answer and cannot be fetched again: have DHL cancel it, then buy again"
            )
        raise UnknownOutcome(
            f"DHL Express cannot say whether a waybill was made for {parcel.reference} (its lookup by "
            "reference found none, which proves nothing): check MyDHL before buying again"
        )

    def void(self, label: BoughtLabel) -> VoidResult:
        pickup = label.extra.get("dispatchConfirmationNumber")
        if pickup:
            params = [("requestorName", "Orderly"), ("reason", "label voided")]
            try:
                self.api.send("void", "DELETE", f"pickups/{pickup}", params=params)
            except Rejected as exc:
                if exc.status != 404:  # a pickup DHL no longer knows needs no cancelling
                    return VoidResult(VoidOutcome.REFUSED, str(exc))
            return VoidResult(VoidOutcome.VOIDED, f"pickup {pickup} cancelled; DHL voids no waybill by API")
        return VoidResult(
            VoidOutcome.VOIDED, "no pickup booked; DHL voids no waybill by API: voided in the hub"
        )

    def track(self, labels: Sequence[BoughtLabel]) -> dict[str, list[CarrierEvent]]:
        found: dict[str, list[CarrierEvent]] = {}
        numbers = [label.tracking_number for label in labels]
        for start in range(0, len(numbers), TRACKING_BATCH):
            params = [("shipmentTrackingNumber", n) for n in numbers[start : start + TRACKING_BATCH]]
            try:
                answer = self.api.send("track", "GET", "tracking", params=params)
            except Rejected as exc:
                if exc.status == 404:  # none of them is known yet
                    continue
                raise
            found.update(read_answer("DHL Express", mapper.tracking_events, body(answer)))
        return found
