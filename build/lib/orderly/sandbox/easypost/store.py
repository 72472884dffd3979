"""One sandbox EasyPost account in memory, per ``docs/carriers/easypost.md``: shipments rated by three
or more services (§4), bought once (§5) with a PDF label served by the sandbox, refunds (§9), trackers
with the seven test codes and scriptable progress (§6), webhooks signed as §8 says, a rate limit
answering 429 (§12) and injectable faults. Safe to call from any thread."""

from __future__ import annotations

import copy
import hashlib
import hmac
import itertools
import json
import secrets
import threading
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx

from orderly.sandbox.bucket import Bucket
from orderly.sandbox.labels import label_pdf

Json = dict[str, Any]

#: §6: the test tracking codes and the status each shows.
TEST_CODES = {
    "EZ1000000001": "pre_transit",
    "EZ2000000002": "in_transit",
    "EZ3000000003": "out_for_delivery",
    "EZ4000000004": "delivered",
    "EZ5000000005": "return_to_sender",
    "EZ6000000006": "failure",
    "EZ7000000007": "unknown",
}
STATUSES = frozenset(
    {
        "unknown",
        "pre_transit",
        "in_transit",
        "out_for_delivery",
        "delivered",
        "available_for_pickup",
        "return_to_sender",
        "failure",
        "cancelled",
        "error",
    }
)
#: (carrier, service, base price USD, price per ounce, delivery days) for domestic and international.
DOMESTIC = (
    ("USPS", "GroundAdvantage", "5.40", "0.12", 5),
    ("USPS", "Priority", "8.20", "0.20", 2),
    ("USPS", "Express", "26.35", "0.35", 1),
    ("UPS", "Ground", "9.10", "0.15", 4),
)
INTERNATIONAL = (
    ("USPS", "FirstClassPackageInternationalService", "14.35", "0.40", 12),
    ("USPS", "PriorityMailInternational", "42.50", "0.55", 7),
    ("UPS", "Expedited", "61.20", "0.70", 4),
    ("DHLExpress", "ExpressWorldwideNonDoc", "58.90", "0.65", 3),
)


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, errors: list[Any] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.errors = status, code, message, errors or []

    def body(self) -> Json:
        return {"error": {"code": self.code, "message": self.message, "errors": self.errors}}


@dataclass
class Faults:
    """Injected by scripts: the next ``fail_next`` API calls answer ``fail_status``; the next
    ``slow_next`` calls answer after ``slow_s`` seconds (longer than a client waits: a timeout); the
    next ``lose_next_buy`` purchases happen but their answer is cut off; a refund answers
    ``refund_status`` when set."""

    fail_next: int = 0
    fail_status: int = 500
    slow_next: int = 0
    slow_s: float = 2.0
    lose_next_buy: int = 0
    refund_status: str | None = None


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _event_stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01"), ROUND_HALF_UP))


class EasyPostStore:
    def __init__(
        self, *, api_key: str = "EZTKsandbox", rate_per_second: float = 50.0, burst: int = 50
    ) -> None:
        self.api_key = api_key
        self.base_url = ""  # set by the app once served: label URLs point back at it
        self.faults = Faults()
        self.bucket = Bucket(burst, rate_per_second, tokens=float(burst))
        self.shipments: dict[str, Json] = {}
        self.trackers: dict[str, Json] = {}
        self.webhooks: dict[str, Json] = {}
        self.files: dict[str, bytes] = {}
        self.purchases: list[str] = []  # shipment ids, one per label bought: a double buy shows here
        self.deliveries: list[tuple[int, Json]] = []  # (status answered, event) per webhook POST
        self.calls: list[tuple[str, str]] = []
        self._lock = threading.RLock()
        self._serial = itertools.count(1)

    # --- the gate every API call passes -------------------------------------------------------------

    def check_key(self, key: str | None) -> None:
        if key is None:
            raise ApiError(401, "APIKEY.REQUIRED", "No API key was provided. Please provide an API key.")
        if not hmac.compare_digest(key.encode(), self.api_key.encode()):
            raise ApiError(401, "APIKEY.INACTIVE", "The API key provided is not valid.")

    def admit(self, method: str, path: str) -> float:
        """Count the call; raise its fault or throttle; return seconds to stall (a timeout fault)."""
        with self._lock:
            self.calls.append((method, path))
            if self.faults.fail_next > 0:
                self.faults.fail_next -= 1
                status = self.faults.fail_status
                raise ApiError(status, "INTERNAL_SERVER_ERROR", "Something went wrong on our end.")
            if not self.bucket.take():
                raise ApiError(429, "RATE_LIMITED", "You have exceeded the rate limit. Please slow down.")
            if self.faults.slow_next > 0:
                self.faults.slow_next -= 1
                return self.faults.slow_s
        return 0.0

    def lose_this_buy(self) -> bool:
        with self._lock:
            if self.faults.lose_next_buy > 0:
                self.faults.lose_next_buy -= 1
                return True
        return False

    def _id(self, prefix: str) -> str:
        return f"{prefix}_{secrets.token_hex(16)}"

    # --- shipments (§4, §5, §9) ---------------------------------------------------------------------

    def create_shipment(self, body: Any) -> Json:
        shipment = body.get("shipment") if isinstance(body, dict) else None
        if not isinstance(shipment, dict) or not shipment:
            raise ApiError(
                422,
                "PARAMETER.REQUIRED",
                "Missing required parameter.",
                [{"field": "shipment", "message": "cannot be blank"}],
            )
        errors = []
        for part in ("to_address", "from_address", "parcel"):
            if not isinstance(shipment.get(part), dict) or not shipment[part]:
                errors.append({"field": part, "message": "cannot be blank"})
        parcel: Json = shipment["parcel"] if isinstance(shipment.get("parcel"), dict) else {}
        weight = _number(parcel.get("weight")) if parcel else None
        if parcel and (weight is None or weight <= 0):
            errors.append({"field": "parcel.weight", "message": "must be greater than 0"})
        for part in ("to_address", "from_address"):
            address = shipment.get(part)
            if isinstance(address, dict) and address and not address.get("country"):
                errors.append({"field": f"{part}.country", "message": "cannot be blank"})
        if errors:
            raise ApiError(422, "PARAMETER.REQUIRED", "Missing required parameter.", errors)
        to, sender = shipment["to_address"], shipment["from_address"]
        international = to.get("country") != sender.get("country")
        if international and not isinstance(shipment.get("customs_info"), dict):
            raise ApiError(
                422,
                "SHIPMENT.CUSTOMS_INFO.REQUIRED",
                "Customs info is required for an international shipment.",
                [{"field": "customs_info", "message": "cannot be blank"}],
            )
        now = _now()
        shipment_id = self._id("shp")
        assert weight is not None
        rates = [
            self._rate(shipment_id, row, Decimal(str(weight)), now)
            for row in (INTERNATIONAL if international else DOMESTIC)
        ]
        created = {
            "id": shipment_id,
            "object": "Shipment",
            "mode": "test",
            "status": "unknown",
            "reference": shipment.get("reference"),
            "tracking_code": None,
            "postage_label": None,
            "selected_rate": None,
            "tracker": None,
            "refund_status": None,
            "messages": [],
            "options": {
                "currency": "USD",
                "payment": {"type": "SENDER"},
                "date_advance": 0,
                **(shipment.get("options") or {}),
            },
            "from_address": self._address(sender, now),
            "to_address": self._address(to, now),
            "return_address": self._address(sender, now),
            "buyer_address": self._address(to, now),
            "parcel": {
                "id": self._id("prcl"),
                "object": "Parcel",
                "mode": "test",
                **{k: _number(v) for k, v in parcel.items()},
                "created_at": _stamp(now),
                "updated_at": _stamp(now),
            },
            "customs_info": shipment.get("customs_info"),
            "rates": rates,
            "fees": [],
            "forms": [],
            "batch_id": None,
            "batch_status": None,
            "batch_message": None,
            "scan_form": None,
            "order_id": None,
            "insurance": None,
            "is_return": False,
            "usps_zone": 4,
            "created_at": _stamp(now),
            "updated_at": _stamp(now),
        }
        with self._lock:
            self.shipments[shipment_id] = created
        return copy.deepcopy(created)

    def _rate(
        self, shipment_id: str, row: tuple[str, str, str, str, int], ounces: Decimal, now: datetime
    ) -> Json:
        carrier, service, base, per_ounce, days = row
        price = Decimal(base) + Decimal(per_ounce) * ounces
        return {
            "id": self._id("rate"),
            "object": "Rate",
            "mode": "test",
            "carrier": carrier,
            "service": service,
            "rate": _money(price),
            "currency": "USD",
            "list_rate": _money(price),
            "list_currency": "USD",
            "retail_rate": _money(price * Decimal("1.12")),
            "retail_currency": "USD",
            "delivery_days": days,
            "est_delivery_days": days,
            "delivery_date": None,
            "delivery_date_guaranteed": False,
            "billing_type": "easypost",
            "shipment_id": shipment_id,
            "carrier_account_id": f"ca_{hashlib.md5(carrier.encode()).hexdigest()}",  # noqa: S324 - an id
            "created_at": _stamp(now),
            "updated_at": _stamp(now),
        }

    def _address(self, address: Json, now: datetime) -> Json:
        return {
            "id": self._id("adr"),
            "object": "Address",
            "mode": "test",
            **address,
            "created_at": now.isoformat(),
            "updated_at": now.isoformat(),
        }

    def get_shipment(self, shipment_id: str) -> Json:
        with self._lock:
            found = self.shipments.get(shipment_id)
            if found is None:
                raise ApiError(404, "NOT_FOUND", "The requested resource could not be found.")
            return copy.deepcopy(found)

    def buy(self, shipment_id: str, body: Any) -> Json:
        rate = body.get("rate") if isinstance(body, dict) else None
        rate_id = rate.get("id") if isinstance(rate, dict) else None
        if not isinstance(rate_id, str):
            raise ApiError(
                422,
                "PARAMETER.REQUIRED",
                "Missing required parameter.",
                [{"field": "rate", "message": "cannot be blank"}],
            )
        with self._lock:
            shipment = self.shipments.get(shipment_id)
            if shipment is None:
                raise ApiError(404, "NOT_FOUND", "The requested resource could not be found.")
            if shipment["postage_label"] is not None:
                raise ApiError(
                    422,
                    "SHIPMENT.POSTAGE.EXISTS",
                    "A postage label has already been purchased for this shipment.",
                )
            chosen = next((r for r in shipment["rates"] if r["id"] == rate_id), None)
            if chosen is None:
                raise ApiError(
                    422,
                    "SHIPMENT.RATE.INVALID",
                    "The rate does not belong to this shipment.",
                    [{"field": "rate.id", "message": "is invalid"}],
                )
            now = _now()
            tracking = f"94001{next(self._serial):017d}"
            label_id = self._id("pl")
            self.files[label_id] = label_pdf(chosen["carrier"], chosen["service"], tracking)
            url = f"{self.base_url}/_files/{label_id}.pdf"
            tracker = self._tracker(tracking, chosen["carrier"], shipment_id, now)
            shipment.update(
                tracking_code=tracking,
                selected_rate=chosen,
                tracker=tracker,
                updated_at=_stamp(now),
                postage_label={
                    "id": label_id,
                    "object": "PostageLabel",
                    "label_date": _stamp(now),
                    "label_resolution": 300,
                    "label_size": "4x6",
                    "label_type": "default",
                    "label_file_type": "application/pdf",
                    "label_url": url,
                    "label_pdf_url": url,
                    "label_zpl_url": None,
                    "label_epl2_url": None,
                    "label_file": None,
                    "integrated_form": "none",
                    "date_advance": 0,
                    "created_at": _stamp(now),
                    "updated_at": _stamp(now),
                },
                fees=[
                    {
                        "object": "Fee",
                        "type": "PostageFee",
                        "amount": f"{Decimal(chosen['rate']):.5f}",
                        "charged": True,
                        "refunded": False,
                    }
                ],
            )
            self.purchases.append(shipment_id)
            return copy.deepcopy(shipment)

    def refund(self, shipment_id: str) -> Json:
        with self._lock:
            shipment = self.shipments.get(shipment_id)
            if shipment is None:
                raise ApiError(404, "NOT_FOUND", "The requested resource could not be found.")
            if shipment["postage_label"] is None:
                raise ApiError(422, "SHIPMENT.REFUND.INVALID", "This shipment has no postage to refund.")
            shipment["refund_status"] = self.faults.refund_status or "submitted"
            return copy.deepcopy(shipment)

    def settle_refund(self, shipment_id: str) -> None:
        """The carrier decided: a submitted refund is refunded."""
        with self._lock:
            if self.shipments[shipment_id]["refund_status"] == "submitted":
                self.shipments[shipment_id]["refund_status"] = "refunded"

    # --- trackers (§6) and webhooks (§8) ------------------------------------------------------------

    def _tracker(self, code: str, carrier: str, shipment_id: str | None, now: datetime) -> Json:
        tracker_id = self._id("trk")
        tracker: Json = {
            "id": tracker_id,
            "object": "Tracker",
            "mode": "test",
            "tracking_code": code,
            "status": "unknown",
            "status_detail": "unknown",
            "signed_by": None,
            "weight": None,
            "est_delivery_date": None,
            "shipment_id": shipment_id,
            "carrier": carrier,
            "tracking_details": [],
            "carrier_detail": None,
            "fees": [],
            "public_url": f"https://track.easypost.com/djE6{tracker_id}",
            "finalized": False,
            "is_return": False,
            "created_at": _stamp(now),
            "updated_at": _stamp(now),
        }
        self.trackers[tracker_id] = tracker
        return tracker

    def create_tracker(self, body: Any) -> Json:
        tracker: Any = body.get("tracker") if isinstance(body, dict) else None
        code = tracker.get("tracking_code") if isinstance(tracker, dict) else None
        if not isinstance(code, str) or not code:
            raise ApiError(
                422,
                "PARAMETER.REQUIRED",
                "Missing required parameter.",
                [{"field": "tracker.tracking_code", "message": "cannot be blank"}],
            )
        with self._lock:
            created = self._tracker(code, str(tracker.get("carrier") or "USPS"), None, _now())
            if code in TEST_CODES:
                self._advance(created, TEST_CODES[code], None)
            return copy.deepcopy(created)

    def list_trackers(self, tracking_code: str | None) -> Json:
        with self._lock:
            found = [t for t in self.trackers.values() if tracking_code in (None, t["tracking_code"])]
            return {"trackers": copy.deepcopy(found[::-1]), "has_more": False}

    def get_tracker(self, tracker_id: str) -> Json:
        with self._lock:
            found = self.trackers.get(tracker_id)
            if found is None:
                raise ApiError(404, "NOT_FOUND", "The requested resource could not be found.")
            return copy.deepcopy(found)

    def advance(self, tracking_code: str, status: str, message: str | None = None) -> Json:
        """Script a scan: the parcel with this code takes ``status``; webhooks hear of it."""
        if status not in STATUSES:
            raise ApiError(422, "PARAMETER.INVALID", f"unknown status {status!r}")
        with self._lock:
            tracker = next((t for t in self.trackers.values() if t["tracking_code"] == tracking_code), None)
            if tracker is None:
                raise ApiError(404, "NOT_FOUND", "The requested resource could not be found.")
            previous = tracker["status"]
            self._advance(tracker, status, message)
            event = self._event(tracker, previous)
            targets = list(self.webhooks.values())
        for hook in targets:
            self._deliver(hook, event)
        return event

    def _advance(self, tracker: Json, status: str, message: str | None) -> None:
        now = _now() + timedelta(seconds=len(tracker["tracking_details"]))
        tracker["tracking_details"].append(
            {
                "object": "TrackingDetail",
                "message": message or status.replace("_", " ").capitalize(),
                "description": None,
                "status": status,
                "status_detail": "status_update",
                "datetime": _stamp(now),
                "source": tracker["carrier"],
                "carrier_code": status[:2].upper(),
                "tracking_location": {
                    "object": "TrackingLocation",
                    "city": "OAKLAND",
                    "state": "CA",
                    "country": "US",
                    "zip": "94607",
                },
                "est_delivery_date": None,
            }
        )
        tracker.update(status=status, updated_at=_stamp(now))

    def _event(self, tracker: Json, previous: str) -> Json:
        now = _now()
        return {
            "id": self._id("evt"),
            "object": "Event",
            "mode": "test",
            "description": "tracker.updated",
            "previous_attributes": {"status": previous},
            "pending_urls": [h["url"] for h in self.webhooks.values()],
            "completed_urls": [],
            "status": "pending",
            "user_id": "user_sandbox",
            "created_at": _event_stamp(now),
            "updated_at": _event_stamp(now),
            "result": copy.deepcopy(tracker),
        }

    def create_webhook(self, body: Any) -> Json:
        hook: Any = body.get("webhook") if isinstance(body, dict) else None
        url = hook.get("url") if isinstance(hook, dict) else None
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ApiError(
                422,
                "PARAMETER.REQUIRED",
                "Missing required parameter.",
                [{"field": "webhook.url", "message": "cannot be blank"}],
            )
        now = _now()
        hook_id = self._id("hook")
        created: Json = {
            "id": hook_id,
            "object": "Webhook",
            "mode": "test",
            "url": url,
            "created_at": _stamp(now),
            "disabled_at": None,
            "custom_headers": hook.get("custom_headers") or [],
        }
        with self._lock:
            self.webhooks[hook_id] = {**created, "secret": hook.get("webhook_secret")}
        return created  # the secret is not echoed (§8)

    def _deliver(self, hook: Json, event: Json) -> None:
        body = json.dumps(event, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json"}
        if hook.get("secret"):
            key = unicodedata.normalize("NFKD", hook["secret"]).encode()
            headers["X-Hmac-Signature"] = "hmac-sha256-hex=" + hmac.new(key, body, hashlib.sha256).hexdigest()
        try:
            status = httpx.post(hook["url"], content=body, headers=headers, timeout=5).status_code
        except httpx.HTTPError:
            status = 0
        with self._lock:
            self.deliveries.append((status, event))


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
