"""DHL Express: the mapper against the shapes of ``docs/carriers/dhl-express.md``, the sandbox keeping
the sheet (plain HTTP), and the connector over real HTTP against it."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import httpx
import pytest

from orderly.fulfilment.carriers.connector import (
    AuthFailed,
    BoughtLabel,
    CarrierAccountRef,
    CarrierError,
    Offer,
    RateLimited,
    Rejected,
    TrackingKind,
    UnknownOutcome,
    VoidOutcome,
)
from orderly.fulfilment.carriers.dhl_express import DhlExpressConnector, mapper
from tests.fulfilment.carriers.conftest import DHL_ACCOUNT, DHL_SECRET, DHL_USER, Sandbox, parcel

# §3's product, as the sheet shows it.
PRODUCT: dict[str, Any] = {
    "productName": "EXPRESS WORLDWIDE",
    "productCode": "P",
    "localProductCode": "P",
    "localProductCountryCode": "CN",
    "networkTypeCode": "TD",
    "isCustomerAgreement": False,
    "weight": {"volumetric": 0.54, "provided": 0.5, "unitOfMeasurement": "metric"},
    "totalPrice": [
        {"currencyType": "PULCL", "priceCurrency": "USD", "price": 60.1},
        {"currencyType": "BILLC", "priceCurrency": "CNY", "price": 412.6},
    ],
    "deliveryCapabilities": {
        "deliveryTypeCode": "QDDC",
        "estimatedDeliveryDateAndTime": "2026-12-08T23:59:00",
        "totalTransitDays": 3,
    },
    "pricingDate": "2026-12-04",
}
OFFER = Offer("DHL Express", "P", "EXPRESS WORLDWIDE", 41260, "CNY", 3, date(2026, 12, 8), offer_id="P")


def test_a_rate_request_is_metric_with_a_gmt_time_and_asks_for_the_committed_date() -> None:
    body = mapper.rate_request(parcel(), DHL_ACCOUNT)
    assert body["plannedShippingDateAndTime"] == "2026-12-04T12:00:00GMT+00:00"
    assert body["unitOfMeasurement"] == "metric" and body["isCustomsDeclarable"] is True
    assert body["packages"] == [{"weight": 0.5, "dimensions": {"length": 25, "width": 18, "height": 6}}]
    assert body["estimatedDeliveryDate"] == {"isRequested": True, "typeCode": "QDDC"}
    assert body["accounts"] == [{"typeCode": "shipper", "number": DHL_ACCOUNT}]
    assert body["monetaryAmount"] == [{"typeCode": "declaredValue", "value": 30.0, "currency": "USD"}]
    assert body["customerDetails"]["receiverDetails"] == {
        "postalCode": "28013",
        "cityName": "Madrid",
        "countryCode": "ES",
    }


def test_products_become_offers_priced_in_the_billing_currency() -> None:
    (offer,) = mapper.offers({"products": [PRODUCT]})
    assert offer == OFFER
    with pytest.raises(mapper.BadAnswer, match="no BILLC price"):
        mapper.offers({"products": [{**PRODUCT, "totalPrice": PRODUCT["totalPrice"][:1]}]})


def test_a_shipment_request_carries_the_product_the_reference_and_the_export_declaration() -> None:
    body = mapper.shipment_request(parcel(), OFFER, DHL_ACCOUNT)
    assert body["productCode"] == "P" and body["pickup"] == {"isRequested": False}
    assert body["customerReferences"] == [{"value": "SHP-1", "typeCode": "CU"}]
    assert body["outputImageProperties"]["encodingFormat"] == "pdf"
    receiver = body["customerDetails"]["receiverDetails"]
    assert receiver["contactInformation"]["companyName"] == "Ana Ruiz"  # a private buyer's name twice
    content = body["content"]
    assert (content["declaredValue"], content["declaredValueCurrency"], content["incoterm"]) == (
        30.0,
        "USD",
        "DAP",
    )
    (line,) = content["exportDeclaration"]["lineItems"]
    assert line["price"] == 15.0 and line["quantity"] == {"value": 2, "unitOfMeasurement": "PCS"}
    assert line["weight"] == {"netValue": 0.4, "grossValue": 0.4}
    domestic = mapper.shipment_request(parcel(cross_border=False), OFFER, DHL_ACCOUNT)["content"]
    assert domestic["isCustomsDeclarable"] is False and "exportDeclaration" not in domestic


def test_the_created_shipment_gives_its_waybill_and_decoded_label() -> None:
    answer = {
        "shipmentTrackingNumber": "1234567890",
        "packages": [{"referenceNumber": 1, "trackingNumber": "JD012345678901234567"}],
        "documents": [
            {
                "imageFormat": "PDF",
                "content": base64.b64encode(b"%PDF-1.4 inv").decode(),
                "typeCode": "invoice",
            },
            {
                "imageFormat": "PDF",
                "content": base64.b64encode(b"%PDF-1.4 label").decode(),
                "typeCode": "label",
            },
        ],
    }
    label = mapper.created(answer, OFFER)
    assert (label.tracking_number, label.content, label.file_format) == (
        "1234567890",
        b"%PDF-1.4 label",
        "pdf",
    )
    assert (label.cost, label.currency, label.delivery_date) == (41260, "CNY", date(2026, 12, 8))
    with pytest.raises(mapper.BadAnswer, match="without a label"):
        mapper.created({**answer, "documents": answer["documents"][:1]}, OFFER)


def test_checkpoints_map_to_hub_kinds_and_unknown_codes_keep_moving() -> None:
    codes = ["PU", "AF", "PL", "DF", "RR", "CR", "AR", "WC", "OH", "OK"]
    tracking = {
        "shipments": [
            {
                "shipmentTrackingNumber": "1234567890",
                "events": [
                    {
                        "date": "2026-12-07",
                        "time": f"10:{n:02d}:14",
                        "typeCode": code,
                        "description": code,
                        "serviceArea": [{"code": "MAD", "description": "MADRID-ES"}],
                    }
                    for n, code in enumerate(codes)
                ],
            }
        ]
    }
    events = mapper.tracking_events(tracking)["1234567890"]
    assert [e.kind for e in events] == [
        TrackingKind.PICKED_UP,
        *[TrackingKind.IN_TRANSIT] * 6,
        TrackingKind.OUT_FOR_DELIVERY,
        TrackingKind.IN_TRANSIT,
        TrackingKind.DELIVERED,
    ]
    assert events[0].occurred_at == datetime(2026, 12, 7, 10, 0, 14)  # no offset: as given
    assert events[0].place == "MADRID-ES"


@pytest.fixture
def api(dhl: Sandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{dhl.url}/mydhlapi/test", auth=(DHL_USER, DHL_SECRET), timeout=5) as client:
        yield client


def _connector(dhl: Sandbox, secret: str = DHL_SECRET, timeout: float = 5) -> DhlExpressConnector:
    account = CarrierAccountRef(
        1,
        "dhl",
        f"{dhl.url}/mydhlapi/test",
        {"username": DHL_USER, "password": secret},
        {"account_number": DHL_ACCOUNT},
    )
    return DhlExpressConnector(account, httpx.Client(base_url=account.base_url, timeout=timeout))


def test_the_sandbox_refuses_bad_credentials_and_echoes_the_message_reference(
    dhl: Sandbox, api: httpx.Client
) -> None:
    refused = httpx.post(f"{dhl.url}/mydhlapi/test/rates", json={}, auth=(DHL_USER, "wrong"))
    assert refused.status_code == 401
    assert refused.headers["content-type"] == "application/problem+json"
    answer = api.post(
        "rates", json=mapper.rate_request(parcel(), DHL_ACCOUNT), headers={"Message-Reference": "r" * 30}
    )
    assert answer.status_code == 200 and answer.headers["Message-Reference"] == "r" * 30
    assert answer.headers["Invocation-Id"]


def test_the_sandbox_answers_schema_and_business_problems_in_dhls_shape(api: httpx.Client) -> None:
    iso = {**mapper.rate_request(parcel(), DHL_ACCOUNT), "plannedShippingDateAndTime": "2026-12-04T12:00:00Z"}
    bad_time = api.post("rates", json=iso)
    assert bad_time.status_code == 400
    assert bad_time.json()["detail"].startswith("998: ShipTimeStamp is not well formatted")
    assert bad_time.json()["status"] == "400"
    unknown = api.post(
        "rates",
        json={
            **mapper.rate_request(parcel(), DHL_ACCOUNT),
            "accounts": [{"typeCode": "shipper", "number": "1"}],
        },
    )
    assert unknown.status_code == 400 and "account number is not found" in unknown.json()["detail"]
    request = mapper.shipment_request(parcel(), OFFER, DHL_ACCOUNT)
    del request["customerDetails"]["shipperDetails"]["postalAddress"]["countryCode"]
    del request["content"]["incoterm"]
    missing = api.post("shipments", json=request)
    assert missing.status_code == 422
    assert missing.json()["detail"] == "Multiple problems found, see Additional Details"
    assert (
        "#/customerDetails/shipperDetails/postalAddress: required key [countryCode] not found"
        in missing.json()["additionalDetails"]
    )
    dutiable = mapper.shipment_request(parcel(), OFFER, DHL_ACCOUNT)
    del dutiable["content"]["exportDeclaration"]
    assert api.post("shipments", json=dutiable).status_code == 422


def test_the_sandbox_makes_waybills_with_a_base64_label_and_tracks_them(
    dhl: Sandbox, api: httpx.Client
) -> None:
    made = api.post("shipments", json=mapper.shipment_request(parcel(), OFFER, DHL_ACCOUNT))
    assert made.status_code == 201, made.text
    number = made.json()["shipmentTrackingNumber"]
    assert len(number) == 10 and number.isdigit() and made.headers["Location"] == f"/shipments/{number}"
    assert made.json()["packages"][0]["trackingNumber"].startswith("JD")
    assert base64.b64decode(made.json()["documents"][0]["content"]).startswith(b"%PDF")
    assert api.get(f"shipments/{number}/tracking").json()["shipments"][0]["events"] == []
    for code in ("PU", "AF", "WC", "OK"):
        dhl.store.scan(number, code)
    events = api.get("tracking", params={"shipmentTrackingNumber": [number]}).json()["shipments"][0]["events"]
    assert [e["typeCode"] for e in events] == ["PU", "AF", "WC", "OK"]
    unknown = api.get("shipments/0000000000/tracking")
    assert unknown.status_code == 404 and unknown.json()["title"] == "Not data found"


def test_a_500_carries_code_not_status_and_bursts_are_throttled(dhl: Sandbox, api: httpx.Client) -> None:
    dhl.store.faults.fail_next = 1
    failed = api.post("rates", json=mapper.rate_request(parcel(), DHL_ACCOUNT))
    assert failed.status_code == 500 and failed.json()["code"] == "500" and "status" not in failed.json()
    dhl.store.bucket.size = dhl.store.bucket.tokens = 1
    dhl.store.bucket.per_second = 0.001
    assert [api.get("tracking").status_code for _ in range(2)] == [404, 429]


def test_the_connector_quotes_buys_tracks_and_voids_locally(dhl: Sandbox) -> None:
    connector = _connector(dhl)
    offers = connector.quote(parcel())
    assert {o.service for o in offers} >= {"P", "W"} and {o.currency for o in offers} == {"EUR"}
    assert all(o.transit_days and o.delivery_date for o in offers)
    label = connector.buy(parcel(), offers[0])
    assert label.content.startswith(b"%PDF") and label.tracking_number in dhl.store.shipments
    bought = BoughtLabel(label.carrier_shipment_id, label.tracking_number)
    assert connector.track([bought]) == {label.tracking_number: []}
    dhl.store.scan(label.tracking_number, "PU")
    dhl.store.scan(label.tracking_number, "OK")
    kinds = [e.kind for e in connector.track([bought])[label.tracking_number]]
    assert kinds == [TrackingKind.PICKED_UP, TrackingKind.DELIVERED]
    assert connector.void(bought).outcome == VoidOutcome.VOIDED


def test_a_lost_answer_is_never_bought_again_the_connector_cannot_tell(dhl: Sandbox) -> None:
    connector = _connector(dhl)
    offer = connector.quote(parcel())[0]
    dhl.store.faults.lose_next_shipment = 1
    with pytest.raises(CarrierError, match="no answer"):
        connector.buy(parcel(), offer)
    with pytest.raises(UnknownOutcome, match=r"made waybill .* for SHP-1"):
        connector.find_bought(parcel(), offer)
    assert len(dhl.store.shipments) == 1
    other = parcel(reference="SHP-2")
    with pytest.raises(UnknownOutcome, match="cannot say whether"):
        connector.find_bought(other, offer)


def test_dhl_failures_become_the_error_kinds(dhl: Sandbox) -> None:
    with pytest.raises(AuthFailed):
        _connector(dhl, secret="wrong").quote(parcel())
    with pytest.raises(Rejected, match="998: ShipTimeStamp"):
        _connector(dhl).api.send(
            "rates",
            "POST",
            "rates",
            json={**mapper.rate_request(parcel(), DHL_ACCOUNT), "plannedShippingDateAndTime": "x"},
        )
    dhl.store.bucket.size = dhl.store.bucket.tokens = 0
    with pytest.raises(RateLimited):
        _connector(dhl).quote(parcel())
