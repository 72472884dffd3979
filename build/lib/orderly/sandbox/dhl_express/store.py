"""One sandbox MyDHL API account in memory, per ``docs/carriers/dhl-express.md``: products rated with
number prices in BILLC and QDDC delivery (§3), shipments created with a 10-digit waybill, JD piece ids
and a base64 PDF label (§4), schema checks answered with DHL's problem bodies (§8), its own shipments
trackable through scripted checkpoints (§7, §12), pickups cancelled (§9), a rate limit (429) and
injectable faults. Safe to call from any thread."""

from __future__ import annotations

import base64
import copy
import itertools
import re
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from reportlab.lib.units import inch

from orderly.sandbox.bucket import Bucket
from orderly.sandbox.labels import label_pdf

Json = dict[str, Any]

#: (productCode, productName, networkTypeCode, base price, per kg, transit days) in the billing currency.
PRODUCTS = (
    ("P", "EXPRESS WORLDWIDE", "TD", "48.90", "11.20", 3),
    ("U", "EXPRESS WORLDWIDE", "TD", "46.10", "10.50", 4),  # the EU variant
    ("K", "EXPRESS 9:00", "TD", "92.40", "14.80", 2),
    ("T", "EXPRESS 12:00", "TD", "71.30", "13.10", 2),
    ("W", "ECONOMY SELECT", "DD", "31.70", "7.90", 6),
)
DOMESTIC = (("N", "DOMESTIC EXPRESS", "TD", "14.20", "3.10", 1),)
#: §7: DHL's own example's checkpoints, in the order a parcel meets them.
CHECKPOINTS = {
    "PU": "Shipment picked up",
    "AF": "Arrived at DHL Sort Facility",
    "PL": "Processed at",
    "DF": "Shipment has departed from a DHL facility",
    "RR": "Customs clearance status updated",
    "CR": "Clearance processing complete at",
    "AR": "Arrived at DHL Delivery Facility",
    "WC": "Shipment is out with courier for delivery",
    "OK": "Delivered",
}
PLANNED = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2} ?GMT[+-]\d{2}:\d{2}$")


class ProblemError(Exception):
    """An answer in DHL's problem shape (§8); a 500 carries ``code`` instead of ``status``."""

    def __init__(
        self, status: int, title: str, detail: str, instance: str, more: list[str] | None = None
    ) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail, self.instance, self.more = status, title, detail, instance, more

    def body(self) -> Json:
        found: Json = {
            "instance": self.instance,
            "detail": self.detail,
            "title": self.title,
            "message": self.title,
        }
        found["code" if self.status >= 500 else "status"] = str(self.status)
        if self.more:
            found["additionalDetails"] = self.more
        return found


@dataclass
class Faults:
    """Injected by scripts: the next ``fail_next`` calls answer ``fail_status`` (a 500 ``999: Process
    failure``); the next ``slow_next`` answer after ``slow_s``; the next ``lose_next_shipment``
    shipments are made but their answer is cut off."""

    fail_next: int = 0
    fail_status: int = 500
    slow_next: int = 0
    slow_s: float = 2.0
    lose_next_shipment: int = 0


def _money(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.01"), ROUND_HALF_UP))


class DhlStore:
    def __init__(
        self,
        *,
        username: str = "sandbox-key",
        password: str = "sandbox-secret",  # noqa: S107 - the sandbox's own
        accounts: tuple[str, ...] = ("123456789",),
        currency: str = "EUR",
        rate_per_second: float = 50.0,
        burst: int = 50,
    ) -> None:
        self.username, self.password = username, password
        self.accounts = set(accounts)
        self.currency = currency
        self.faults = Faults()
        self.bucket = Bucket(burst, rate_per_second, tokens=float(burst))
        self.shipments: dict[str, Json] = {}  # by waybill: the request, the answer, the checkpoints
        self.pickups: dict[str, str] = {}  # dispatch confirmation number -> status
        self.calls: list[tuple[str, str]] = []
        self._lock = threading.RLock()
        self._serial = itertools.count(1)

    def check_auth(self, username: str | None, password: str | None, instance: str) -> None:
        if (username, password) != (self.username, self.password):
            raise ProblemError(401, "Unauthorized", "Invalid credentials", instance)

    def admit(self, method: str, path: str, instance: str) -> float:
        with self._lock:
            self.calls.append((method, path))
            if self.faults.fail_next > 0:
                self.faults.fail_next -= 1
                raise ProblemError(
                    self.faults.fail_status,
                    "Internal Server Error",
                    "999: Process failure occurred. Process ID associated for that transaction (sandbox)",
                    instance,
                )
            if not self.bucket.take():
                raise ProblemError(429, "Too Many Requests", "Rate limit exceeded", instance)
            if self.faults.slow_next > 0:
                self.faults.slow_next -= 1
                return self.faults.slow_s
        return 0.0

    def lose_this_shipment(self) -> bool:
        with self._lock:
            if self.faults.lose_next_shipment > 0:
                self.faults.lose_next_shipment -= 1
                return True
        return False

    # --- validation (§8: JSON pointers for schema problems, numbered details for business ones) ------

    def _required(self, body: Any, paths: list[str], instance: str) -> None:
        problems = []
        for path in paths:
            *parents, key = path.split("/")
            node: Any = body
            for part in parents:
                node = node.get(part) if isinstance(node, dict) else None
            if not isinstance(node, dict):
                continue  # the parent's own absence is reported
            if key not in node:
                where = "/".join(parents)
                problems.append(
                    f"#/{where}: required key [{key}] not found"
                    if where
                    else f"#: required key [{key}] not found"
                )
        if len(problems) == 1:
            raise ProblemError(422, "Unprocessable Entity", problems[0], instance)
        if problems:
            raise ProblemError(
                422,
                "Unprocessable Entity",
                "Multiple problems found, see Additional Details",
                instance,
                problems,
            )

    def _planned(self, body: Json, instance: str) -> date:
        value = body.get("plannedShippingDateAndTime")
        if not isinstance(value, str) or not PLANNED.match(value):
            raise ProblemError(
                400,
                "Bad request",
                "998: ShipTimeStamp is not well formatted."
                "(Expected Sample Format : '2010-02-11T17:10:09 GMT+01:00')",
                instance,
            )
        return date.fromisoformat(value[:10])

    def _account(self, body: Json, instance: str) -> str:
        numbers = [a.get("number") for a in body.get("accounts") or [] if isinstance(a, dict)]
        if not numbers or any(n not in self.accounts for n in numbers):
            raise ProblemError(
                400,
                "Bad request",
                "The account number is not found or invalid. Please check the account number and retry.",
                instance,
            )
        return str(numbers[0])

    # --- rates (§3) ---------------------------------------------------------------------------------

    def rates(self, body: Any) -> Json:
        instance = "/expressapi/rates"
        if not isinstance(body, dict):
            raise ProblemError(400, "Bad request", "The request body is not JSON", instance)
        self._required(
            body,
            [
                "customerDetails",
                "plannedShippingDateAndTime",
                "unitOfMeasurement",
                "isCustomsDeclarable",
                "packages",
                "customerDetails/shipperDetails",
                "customerDetails/receiverDetails",
                "customerDetails/shipperDetails/countryCode",
                "customerDetails/receiverDetails/countryCode",
                "customerDetails/shipperDetails/postalCode",
                "customerDetails/receiverDetails/postalCode",
            ],
            instance,
        )
        day = self._planned(body, instance)
        self._account(body, instance)
        weight = self._weight(body.get("packages"), "#/packages", instance)
        shipper = body["customerDetails"]["shipperDetails"]["countryCode"]
        receiver = body["customerDetails"]["receiverDetails"]["countryCode"]
        rows = DOMESTIC if shipper == receiver else PRODUCTS
        products = []
        for code, name, network, base, per_kg, days in rows:
            price = _money(Decimal(base) + Decimal(per_kg) * weight)
            arrives = day + timedelta(days=days)
            products.append(
                {
                    "productName": name,
                    "productCode": code,
                    "localProductCode": code,
                    "localProductCountryCode": shipper,
                    "networkTypeCode": network,
                    "isCustomerAgreement": False,
                    "weight": {
                        "volumetric": float(weight),
                        "provided": float(weight),
                        "unitOfMeasurement": "metric",
                    },
                    "totalPrice": [
                        {"currencyType": "BILLC", "priceCurrency": self.currency, "price": price},
                        {"currencyType": "PULCL", "priceCurrency": self.currency, "price": price},
                        {"currencyType": "BASEC", "priceCurrency": "EUR", "price": price},
                    ],
                    "totalPriceBreakdown": [
                        {
                            "currencyType": "BILLC",
                            "priceCurrency": self.currency,
                            "priceBreakdown": [{"typeCode": "SPRQT", "price": price}],
                        }
                    ],
                    "pickupCapabilities": {
                        "nextBusinessDay": False,
                        "localCutoffDateAndTime": f"{day}T17:00:00",
                    },
                    "deliveryCapabilities": {
                        "deliveryTypeCode": "QDDC",
                        "estimatedDeliveryDateAndTime": f"{arrives}T23:59:00",
                        "totalTransitDays": days,
                    },
                    "pricingDate": day.isoformat(),
                }
            )
        return {"products": products, "exchangeRates": [], "warnings": []}

    def _weight(self, packages: Any, where: str, instance: str) -> Decimal:
        if not isinstance(packages, list) or not packages:
            raise ProblemError(
                422, "Unprocessable Entity", f"{where}: expected minimum item count: 1", instance
            )
        total = Decimal(0)
        for n, package in enumerate(packages):
            weight = package.get("weight") if isinstance(package, dict) else None
            if isinstance(weight, bool) or not isinstance(weight, int | float) or weight < 0.001:
                raise ProblemError(
                    422,
                    "Unprocessable Entity",
                    f"{where}/{n}/weight: 0.0 is not higher or equal to 0.001",
                    instance,
                )
            total += Decimal(str(weight))
        return total

    # --- shipments (§4, §6) -------------------------------------------------------------------------

    def create_shipment(self, body: Any) -> Json:
        instance = "/expressapi/shipments"
        if not isinstance(body, dict):
            raise ProblemError(400, "Bad request", "The request body is not JSON", instance)
        parties = [
            f"customerDetails/{p}Details/{part}"
            for p in ("shipper", "receiver")
            for part in ("postalAddress", "contactInformation")
        ]
        address = [
            f"customerDetails/{p}Details/postalAddress/{k}"
            for p in ("shipper", "receiver")
            for k in ("postalCode", "cityName", "countryCode", "addressLine1")
        ]
        contact = [
            f"customerDetails/{p}Details/contactInformation/{k}"
            for p in ("shipper", "receiver")
            for k in ("phone", "companyName", "fullName")
        ]
        self._required(
            body,
            [
                "plannedShippingDateAndTime",
                "pickup",
                "productCode",
                "accounts",
                "customerDetails",
                "content",
                "customerDetails/shipperDetails",
                "customerDetails/receiverDetails",
                *parties,
                *address,
                *contact,
                "content/packages",
                "content/isCustomsDeclarable",
                "content/description",
                "content/incoterm",
                "content/unitOfMeasurement",
            ],
            instance,
        )
        day = self._planned(body, instance)
        account = self._account(body, instance)
        content = body["content"]
        self._weight(content.get("packages"), "#/content/packages", instance)
        if content.get("isCustomsDeclarable") and not isinstance(content.get("exportDeclaration"), dict):
            raise ProblemError(
                422,
                "Unprocessable Entity",
                "#/content: exportDeclaration is required when isCustomsDeclarable is true",
                instance,
            )
        for side in ("shipper", "receiver"):
            for key in ("addressLine1", "cityName"):
                if len(str(body["customerDetails"][f"{side}Details"]["postalAddress"][key])) > 45:
                    raise ProblemError(
                        422,
                        "Unprocessable Entity",
                        f"#/customerDetails/{side}Details/postalAddress/{key}: expected maxLength: 45",
                        instance,
                    )
        code = body["productCode"]
        shipper = body["customerDetails"]["shipperDetails"]["postalAddress"]["countryCode"]
        receiver = body["customerDetails"]["receiverDetails"]["postalAddress"]["countryCode"]
        if code not in {p[0] for p in (DOMESTIC if shipper == receiver else PRODUCTS)}:
            raise ProblemError(
                400,
                "Bad request",
                f"420505: The requested product(s) {code} not available based on your search criteria.",
                instance,
            )
        with self._lock:
            number = f"{(next(self._serial) + 4_800_000_000) % 10**10:010d}"
            pdf = label_pdf("DHL Express", code, number, size=(4 * inch, 8 * inch))  # ECOM26_84: 8x4 in
            answer: Json = {
                "url": f"https://express.api.dhl.com/mydhlapi/test/shipments/{number}",
                "shipmentTrackingNumber": number,
                "trackingUrl": f"https://express.api.dhl.com/mydhlapi/test/shipments/{number}/tracking",
                "packages": [
                    {
                        "referenceNumber": n + 1,
                        "trackingNumber": f"JD01460000{number}{n:02d}",
                        "trackingUrl": f"https://express.api.dhl.com/mydhlapi/test/shipments/{number}/tracking",
                    }
                    for n, _ in enumerate(content["packages"])
                ],
                "documents": [
                    {"imageFormat": "PDF", "content": base64.b64encode(pdf).decode(), "typeCode": "label"}
                ],
                "warnings": [],
            }
            pickup: Json = body["pickup"] if isinstance(body.get("pickup"), dict) else {}
            if pickup.get("isRequested"):
                confirmation = f"PRG{day:%y%m%d}{number[-6:]}"
                self.pickups[confirmation] = "booked"
                answer["dispatchConfirmationNumber"] = confirmation
                answer["cancelPickupUrl"] = (
                    f"https://express.api.dhl.com/mydhlapi/test/pickups/{confirmation}"
                )
            references = [r.get("value") for r in body.get("customerReferences") or [] if isinstance(r, dict)]
            self.shipments[number] = {
                "request": copy.deepcopy(body),
                "answer": answer,
                "events": [],
                "account": account,
                "references": references,
                "day": day,
            }
            return copy.deepcopy(answer)

    # --- tracking (§7) ------------------------------------------------------------------------------

    def scan(self, number: str, code: str, place: str = "MADRID-ES") -> None:
        """Script a checkpoint for one of this sandbox's waybills."""
        with self._lock:
            found = self.shipments.get(number)
            if found is None:
                raise ProblemError(
                    404, "Not data found", "No data found", f"/expressapi/shipments/{number}/tracking"
                )
            when = datetime.now(UTC).replace(tzinfo=None, microsecond=0) + timedelta(
                minutes=len(found["events"])
            )
            found["events"].append(
                {
                    "date": when.date().isoformat(),
                    "time": when.time().isoformat(),
                    "typeCode": code,
                    "description": CHECKPOINTS.get(code, "Shipment on hold"),
                    "serviceArea": [{"code": place[:3], "description": place}],
                    **({"signedBy": "A RUIZ"} if code == "OK" else {}),
                }
            )

    def tracking(self, numbers: list[str], reference: str | None, account: str | None, instance: str) -> Json:
        if len(numbers) > 200:
            raise ProblemError(400, "Bad request", "Maximum 200 tracking numbers allowed", instance)
        with self._lock:
            if reference is not None:
                numbers = [
                    n
                    for n, s in self.shipments.items()
                    if reference in s["references"] and (account is None or s["account"] == account)
                ]
            found = [self._tracked(n) for n in numbers if n in self.shipments]
        if not found:
            raise ProblemError(404, "Not data found", "No data found", instance)
        return {"shipments": found}

    def _tracked(self, number: str) -> Json:
        shipment = self.shipments[number]
        request = shipment["request"]
        return {
            "shipmentTrackingNumber": number,
            "status": "Success",
            "shipmentTimestamp": f"{shipment['day']}T12:00:00",
            "productCode": request["productCode"],
            "description": request["content"]["description"],
            "shipperDetails": {
                "name": request["customerDetails"]["shipperDetails"]["contactInformation"]["fullName"]
            },
            "receiverDetails": {
                "name": request["customerDetails"]["receiverDetails"]["contactInformation"]["fullName"]
            },
            "totalWeight": sum(p["weight"] for p in request["content"]["packages"]),
            "unitOfMeasurements": "metric",
            "shipperReferences": [{"value": r, "typeCode": "CU"} for r in shipment["references"]],
            "events": copy.deepcopy(shipment["events"]),
            "numberOfPieces": len(request["content"]["packages"]),
            "pieces": [],
            "estimatedDeliveryDate": None,
        }

    # --- pickups (§9) -------------------------------------------------------------------------------

    def cancel_pickup(self, number: str, requestor: str | None, reason: str | None) -> Json:
        instance = f"/expressapi/pickups/{number}"
        missing = [name for name, value in (("requestorName", requestor), ("reason", reason)) if not value]
        if missing:
            raise ProblemError(
                400, "Bad request", f"Missing mandatory parameters: {', '.join(missing)}", instance
            )
        with self._lock:
            status = self.pickups.get(number)
            if status is None:
                raise ProblemError(404, "Not Found", "Requested Pickup was not found", instance)
            if status != "booked":
                raise ProblemError(400, "Bad request", "Pickup already cancelled or completed", instance)
            self.pickups[number] = "cancelled"
        return {"message": "Pickup cancelled"}
