"""The pure mapping of Lazada orders, checked on Lazada's published samples and on what they do not
show (per-item statuses, other currencies, both time formats, Fulfilment by Lazada)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter

from orderly.channels.lazada import mapper
from orderly.orders.domain import OrderStatus, left_the_hubs_shelves
from orderly.orders.schemas import NormalizedOrder

SAMPLES = Path(__file__).parent / "samples"
ORDER = TypeAdapter(NormalizedOrder)


def sample(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text())


ORDERS = sample("orders_get_response.json")["data"]["orders"]
ITEMS = sample("order_items_get_response.json")["data"]


def normalized(
    order: dict[str, Any], items: list[dict[str, Any]], currency: str | None = None
) -> NormalizedOrder:
    return ORDER.validate_python(mapper.map_order("lazada-sg", order, items, currency))


def item(status: str, **values: Any) -> dict[str, Any]:
    return {**copy.deepcopy(ITEMS[0]), "status": status, **values}


def test_the_published_order_with_its_published_items_maps_every_field() -> None:
    order = normalized(ORDERS[0], ITEMS)
    assert (order["shop"], order["external_id"], order["currency"]) == ("lazada-sg", "1895464", "SGD")
    assert order["placed_at"] == datetime(2018, 2, 9, 14, 44, 30, tzinfo=UTC)  # 22:44:30+08:00
    # The items' own "2014-10-15 19:12:15 +0800" is older than the order's stamp: the latest wins.
    assert order["updated_at"] == datetime(2018, 2, 9, 14, 44, 30, tzinfo=UTC)
    assert order["cancelled"] is True  # both published items are canceled
    assert order["platform_status"] == "canceled"
    assert order["payment_method"] == "COD"
    assert order["fulfillment"] == "merchant"  # is_fbl "0"
    assert order["buyer"] == {
        "name": "Ha Hung last_name",
        "email": None,
        "phone": "6****67",
        "platform_id": "1001",
    }
    assert order["shipping_address"] == {
        "name": "Ha Hung last_name",
        "line1": "1 CHANGI VILLAGE ROAD, 11",
        "line2": "address2, address3, address4, address5",
        "city": "Singapore-Singapore-500001",
        "region": None,
        "postal_code": "500001",
        "country": "SG",
        "phone": "6****67",
    }
    assert order["billing_country"] == "SG"
    assert order["buyer_remark"] == "remarks"
    [line] = order["lines"]  # two units of one SKU at one price
    assert line == {
        "platform_sku": "BRSD#02",
        "listing_id": "666",
        "title": "Bean Rester Dooby Red",
        "quantity": 0,  # cancelled: kept for the record, nothing to ship
        "shipped": 0,
        "returned": 0,
        "unit_price": 9900,
        "discount": 0,
        "tax": 0,
    }
    assert order["shipping_total"] == 54  # "0.54"
    assert order["total"] == 54  # nothing left to pay for but the fee
    assert order["raw"] == {"order": ORDERS[0], "items": ITEMS}


def test_every_published_order_maps() -> None:
    for published in ORDERS:
        assert normalized(published, ITEMS)["external_id"] == "1895464"


def test_statuses_live_on_items_and_only_what_is_left_to_ship_is_not_shipped() -> None:
    items = [
        item("delivered", order_item_id="1"),
        item("shipped", order_item_id="2", tracking_code="LX1"),
        item("ready_to_ship", order_item_id="3"),
        item("canceled", order_item_id="4"),
    ]
    order = normalized(ORDERS[0], items)
    [line] = order["lines"]
    assert (line["quantity"], line["shipped"]) == (3, 2)
    assert order["cancelled"] is False
    assert order["tags"] == [mapper.PARTLY_CANCELLED]
    at = datetime(2014, 10, 15, 11, 12, 15, tzinfo=UTC)
    assert order["shipments"] == [
        {"carrier": "LEL", "tracking_number": "456", "tracking_url": None, "shipped_at": at},
        {"carrier": "LEL", "tracking_number": "LX1", "tracking_url": None, "shipped_at": at},
    ]
    assert order["platform_status"] == "canceled,delivered,ready_to_ship,shipped"


@pytest.mark.parametrize(
    ("status", "shipped", "tags"),
    [
        ("unpaid", 0, []),
        ("pending", 0, []),
        ("packed", 0, []),
        ("repacked", 0, []),
        ("ready_to_ship_pending", 0, []),
        ("shipped", 1, []),
        ("delivered", 1, []),
        ("failed", 1, []),
        ("lost_by_3pl", 1, []),
        ("damaged_by_3pl", 1, []),
        ("returned", 1, [mapper.RETURN]),
        ("something_new", 0, [mapper.UNKNOWN_STATUS]),  # kept to ship: no stock freed on a guess
    ],
)
def test_each_item_status_onto_the_hub(status: str, shipped: int, tags: list[str]) -> None:
    order = normalized(ORDERS[0], [item(status)])
    assert (order["lines"][0]["quantity"], order["lines"][0]["shipped"], order["tags"]) == (1, shipped, tags)
    assert order["payment_status"] == ("pending" if status == "unpaid" else "paid")
    assert order["cancelled"] is False


@pytest.mark.parametrize("status", ["returned", "shipped_back", "shipped_back_success"])
def test_items_back_are_returned_units_and_every_live_item_back_is_the_whole_order(status: str) -> None:
    items = [item("delivered", order_item_id="1"), item(status, order_item_id="2")]
    [line] = normalized(ORDERS[0], items)["lines"]
    assert (line["quantity"], line["shipped"], line["returned"]) == (2, 2, 1)  # a part: still shipped
    items = [item(status, order_item_id="1"), item("returned", order_item_id="2"), item("canceled")]
    order = normalized(ORDERS[0], items)
    [line] = order["lines"]
    assert (line["quantity"], line["shipped"], line["returned"]) == (2, 2, 2)  # every live item back
    assert mapper.RETURN in order["tags"]


def test_the_published_reverse_order_push_names_a_status_read_as_returned() -> None:
    push = sample("webhook_reverse_order_status.json")
    assert push["data"]["order_status"] in mapper.RETURNED


def test_an_order_first_seen_shipped_left_the_hubs_shelves_when_its_parcel_left_after_the_shop_joined() -> (
    None
):
    # Lazada gives no ship time: a parcel's is the latest updated_at of its items.
    items = [
        item("shipped", order_item_id="1", tracking_code="LX1", updated_at="2024-03-01 10:00:00 +0800"),
        item("delivered", order_item_id="2", tracking_code="LX1", updated_at="2024-03-02T09:30:00+08:00"),
    ]
    order = normalized(ORDERS[0], items)
    assert order["shipped_from_stock"] is True
    left = datetime(2024, 3, 2, 1, 30, tzinfo=UTC)
    assert [parcel["shipped_at"] for parcel in order["shipments"] or []] == [left]
    settled = OrderStatus.SHIPPED
    assert left_the_hubs_shelves(order, settled, left)
    assert not left_the_hubs_shelves(order, settled, left + timedelta(seconds=1))
    # Lazada's warehouse ships FBL orders: their units never were on the hub's shelves.
    fbl = normalized(ORDERS[0], [{**i, "is_fbl": "1"} for i in items])
    assert fbl["shipped_from_stock"] is False


def test_fulfilment_by_lazada_is_the_platforms_to_ship() -> None:
    order = normalized(ORDERS[0], [item("pending", is_fbl="1")])
    assert (order["fulfillment"], order["tags"]) == ("platform", [mapper.FBL])


@pytest.mark.parametrize(
    ("currency", "price", "paid", "fee", "unit", "discount", "total"),
    [
        ("SGD", "99.00", "89.50", "0.54", 9900, 950, 8950 + 54),
        ("MYR", "12.9", "12.9", "0", 1290, 0, 1290),
        ("THB", "1099.00", "900.00", "40.00", 109900, 19900, 94000),
        ("VND", "150000", "120000", "15000", 150000, 30000, 135000),  # no minor unit
        # IDR has two decimals in ISO 4217 (core/money.py), though Lazada's prices use none in practice.
        ("IDR", "25000.00", "25000", "0.00", 2500000, 0, 2500000),
    ],
)
def test_money_in_each_currencys_minor_units(
    currency: str, price: str, paid: str, fee: str, unit: int, discount: int, total: int
) -> None:
    order = normalized(
        {**ORDERS[0], "shipping_fee": fee},
        [item("pending", currency=currency, item_price=price, paid_price=paid, tax_amount="0")],
    )
    assert order["currency"] == currency
    assert (order["lines"][0]["unit_price"], order["lines"][0]["discount"], order["total"]) == (
        unit,
        discount,
        total,
    )


def test_an_amount_finer_than_the_currency_is_refused_not_rounded() -> None:
    with pytest.raises(ValueError, match="finer than VND"):
        mapper.map_order("s", ORDERS[0], [item("pending", currency="VND", item_price="10.5")])


def test_the_sites_currency_when_items_name_none() -> None:
    items = [item("pending", currency="")]
    assert mapper.missing(ORDERS[0], items) is not None
    assert normalized(ORDERS[0], items, "PHP")["currency"] == "PHP"
    assert mapper.missing(ORDERS[0], []) == "order 1895464 came without its items"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2018-02-09T22:44:30+08:00", datetime(2018, 2, 9, 14, 44, 30, tzinfo=UTC)),
        ("2014-10-15 19:12:15 +0800", datetime(2014, 10, 15, 11, 12, 15, tzinfo=UTC)),
        ("2014-10-15 19:12:15 +0700", datetime(2014, 10, 15, 12, 12, 15, tzinfo=UTC)),
        (1603766859530, datetime(2020, 10, 27, 2, 47, 39, 530000, tzinfo=UTC)),  # a push's milliseconds
        (1603698638, datetime(2020, 10, 26, 7, 50, 38, tzinfo=UTC)),  # status_update_time, seconds
    ],
)
def test_both_time_formats_and_pushes_numbers_to_aware_utc(value: Any, expected: datetime) -> None:
    assert mapper.instant(value) == expected


@pytest.mark.parametrize("value", ["2018-02-09T22:44:30", "yesterday", None, "null"])
def test_a_time_without_offset_or_unreadable_is_refused(value: Any) -> None:
    with pytest.raises(ValueError, match="Lazada time"):
        mapper.instant(value)


def test_versions_compare_as_text_in_time_order_whatever_the_format() -> None:
    early = mapper.version({"updated_at": "2018-02-09T22:44:30+08:00"}, [])
    late = mapper.version(
        {"updated_at": "2018-02-09T22:44:30+08:00"}, [{"updated_at": "2018-02-09 16:44:31 +0100"}]
    )
    assert early == "2018-02-09T14:44:30Z" < late == "2018-02-09T15:44:31Z"


def test_the_stock_payload_is_the_published_xml_shape() -> None:
    published = (SAMPLES / "price_quantity_update_request_payload.xml").read_text()
    ours = mapper.quantity_payload(
        [
            {
                "item_id": "234234234",
                "sku_id": "234",
                "seller_sku": "Apple-SG-Glod-64G",
                "quantity": 20,
                "warehouse": "warehouseTest1",
            },
            {"seller_sku": "A&B<1>", "quantity": -3},
        ]
    )
    assert ours.startswith("<Request><Product><Skus><Sku><ItemId>234234234</ItemId><SkuId>234</SkuId>")
    for tag in (
        "SellerSku",
        "MultiWarehouseInventories",
        "MultiWarehouseInventory",
        "WarehouseCode",
        "Quantity",
    ):
        assert f"<{tag}>" in published and f"<{tag}>" in ours
    assert "<SellerSku>A&amp;B&lt;1&gt;</SellerSku><Quantity>0</Quantity>" in ours  # escaped; none below 0


def test_partial_failures_of_a_batch_come_from_detail() -> None:
    published = sample("error_batch_detail_example.json")
    # The sample's second failure names no SKU: which one failed cannot be told, so none counts as shown.
    failed = mapper.batch_failures({"code": "0", **published}, ["api-create-test-1", "OTHER"])
    assert failed["api-create-test-1"] == "Product: SELLER_SKU_INVALID"
    assert "without naming the SKU" in failed["OTHER"]
    named_only = {"code": "0", "detail": [published["detail"][0]]}
    assert mapper.batch_failures(named_only, ["api-create-test-1", "OTHER"]) == {
        "api-create-test-1": "Product: SELLER_SKU_INVALID"
    }
    assert mapper.batch_failures(sample("price_quantity_update_response.json"), ["X"]) == {}
