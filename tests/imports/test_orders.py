"""Orders from files: Amazon's order report, Shopify's export, Chinese spreadsheets in XLSX and GB18030,
fed to the hub's ingest; bad rows reported while the rest import; the same file twice changes nothing."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from orderly.channels import service as channels
from orderly.channels.schemas import ShopUpdate
from orderly.core.db import transaction
from orderly.imports import orders, repository, service
from orderly.imports.domain import Kind
from orderly.imports.service import ImportOptions
from orderly.orders.models import IngestRejection, Order, OrderEvent, OrderLine
from tests.factories import setup_catalog

SAMPLES = Path(__file__).parent / "samples"


@pytest.fixture(autouse=True)
def catalog(factory: sessionmaker[Session]) -> None:
    setup_catalog(factory, {"SKU-1": 50, "SKU-2": 50, "SKU-3": 50})


def _import(
    factory: sessionmaker[Session],
    name: str,
    *,
    zone: str = "UTC",
    dry_run: bool = False,
    currency: str | None = None,
) -> tuple[int, dict[str, object], list[tuple[int, str | None, str | None, str]]]:
    options = ImportOptions(shop="shop-a", time_zone=zone, currency=currency, actor="import:test")
    with (SAMPLES / name).open("rb") as source:
        run_id = service.run_import(factory, source, name, Kind.ORDERS, options, dry_run=dry_run)
    with transaction(factory) as s:
        run = repository.run(s, run_id)
        assert run is not None
        figures: dict[str, object] = {
            "status": run.status,
            "layout": run.layout,
            "rows": run.rows_read,
            "imported": run.imported,
            "unchanged": run.unchanged,
            "failed": run.failed,
        }
        errors = [(e.row, e.column, e.value, e.reason) for e in repository.errors(s, run_id)]
    return run_id, figures, errors


def _lines(factory: sessionmaker[Session], external_id: str) -> list[tuple[str | None, int, int, int]]:
    with transaction(factory) as s:
        order_id = s.scalar(select(Order.id).where(Order.external_id == external_id))
        return [
            tuple(r)  # type: ignore[misc]
            for r in s.execute(
                select(OrderLine.platform_sku, OrderLine.quantity, OrderLine.unit_price, OrderLine.discount)
                .where(OrderLine.order_id == order_id)
                .order_by(OrderLine.platform_sku)
            )
        ]


def _order(factory: sessionmaker[Session], external_id: str) -> Order:
    with transaction(factory) as s:
        found = s.scalar(select(Order).where(Order.external_id == external_id))
        assert found is not None
        s.expunge(found)
        return found


def _count(factory: sessionmaker[Session], model: object) -> int:
    with transaction(factory) as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)  # type: ignore[arg-type]


def test_amazons_order_report_becomes_orders_with_their_lines(factory: sessionmaker[Session]) -> None:
    _, figures, errors = _import(factory, "amazon_order_report.txt")
    assert errors == []
    assert figures == {
        "status": "done", "layout": "amazon-order-report",
        "rows": 3, "imported": 2, "unchanged": 0, "failed": 0,
    }  # fmt: skip
    # item-price is the line's total: 39.98 for two is 19.99 each.
    assert _lines(factory, "114-3941689-8772232") == [("SKU-1", 2, 1999, 0), ("SKU-2", 1, 749, 0)]
    order = _order(factory, "114-3941689-8772232")
    assert (order.currency, order.shipping_total, order.tax_total) == ("USD", 599, 427)
    assert order.placed_at == datetime(2026, 12, 1, 8, 15, 2, tzinfo=UTC)
    assert (order.ship_name, order.ship_line2, order.ship_postal_code) == ("Jane Doe", "Apt 5", "98109-5210")
    assert order.ship_phone == "+12065550134"
    assert _order(factory, "112-0081245-1349013").ship_line2 == "Suite 300"


def test_shopifys_export_fills_an_order_from_its_first_row_and_its_lines_from_every_row(
    factory: sessionmaker[Session],
) -> None:
    _, figures, errors = _import(factory, "shopify_orders_export.csv")
    assert errors == []
    assert (figures["layout"], figures["imported"]) == ("shopify-orders", 2)
    assert _lines(factory, "#1001") == [("SKU-1", 2, 599, 0), ("SKU-3", 1, 5400, 0)]
    order = _order(factory, "#1001")
    assert (order.total, order.shipping_total, order.discount_total, order.tax_total) == (7159, 650, 500, 412)
    assert order.placed_at == datetime(2026, 12, 3, 15, 1, 47, tzinfo=UTC)
    assert (order.ship_postal_code, order.ship_phone, order.tags) == (
        "02134",
        "+16175550188",
        ["vip", "gift"],
    )
    assert order.buyer_remark == "Leave at the door"
    assert _order(factory, "#1002").ship_postal_code == "M5H 2N2"


def test_a_chinese_spreadsheet_is_read_in_the_shops_zone_and_rows_of_one_order_merge_wherever_they_are(
    factory: sessionmaker[Session],
) -> None:
    with transaction(factory) as s:
        channels.update_shop(s, "shop-a", ShopUpdate(settings={"timezone": "Asia/Shanghai"}))
        zone = orders.shop_zone(s, "shop-a")
    assert zone == "Asia/Shanghai"
    _, figures, errors = _import(factory, "orders_zh.xlsx", zone=zone)
    assert errors == []
    assert (figures["layout"], figures["rows"], figures["imported"]) == ("generic", 3, 2)
    assert _lines(factory, "XL-1") == [("SKU-1", 1, 5900, 0), ("SKU-3", 1, 19900, 0)]
    order = _order(factory, "XL-1")
    assert order.placed_at == datetime(2026, 12, 4, 1, 30, tzinfo=UTC)  # 09:30 in Shanghai
    assert (order.ship_country, order.ship_phone, order.ship_postal_code) == (
        "CN",
        "+8613911112222",
        "310012",
    )
    assert _lines(factory, "XL-2") == [("SKU-2", 3, 1250, 0)]


def test_bad_rows_are_reported_with_row_column_value_and_reason_while_the_rest_import(
    factory: sessionmaker[Session],
) -> None:
    _, figures, errors = _import(factory, "orders_zh_gb18030.csv")
    assert (figures["status"], figures["rows"], figures["imported"]) == ("done", 5, 2)
    assert errors == [
        (4, "数量", "两个", "'两个' is not a whole number of units"),
        (6, "商品编码", "SKU-404", errors[1][3]),
    ]
    assert "SKU-404" in errors[1][3]
    assert _lines(factory, "CN20261204001") == [("SKU-1", 1, 5900, 0), ("SKU-2", 2, 1250, 0)]
    order = _order(factory, "CN20261204001")
    assert (order.ship_country, order.ship_phone, order.buyer_remark) == (
        "CN",
        "+8613800138000",
        "请尽快发货",
    )
    assert _order(factory, "CN20261204003").ship_phone == "+8613700001111"
    # The order ingest refused waits among the rejections, to be replayed once its SKU exists.
    assert _count(factory, IngestRejection) == 1


def test_importing_the_same_file_again_changes_nothing(factory: sessionmaker[Session]) -> None:
    for name in ("amazon_order_report.txt", "shopify_orders_export.csv", "orders_zh.xlsx"):
        _import(factory, name)
    orders, events = _count(factory, Order), _count(factory, OrderEvent)
    for name, count in (
        ("amazon_order_report.txt", 2),
        ("shopify_orders_export.csv", 2),
        ("orders_zh.xlsx", 2),
    ):
        _, figures, errors = _import(factory, name)
        assert (figures["imported"], figures["unchanged"], errors) == (0, count, [])
    assert (_count(factory, Order), _count(factory, OrderEvent)) == (orders, events)


def test_a_dry_run_reports_what_would_happen_and_writes_nothing(factory: sessionmaker[Session]) -> None:
    _, figures, errors = _import(factory, "orders_zh_gb18030.csv", dry_run=True)
    assert (figures["imported"], len(errors)) == (2, 2)
    assert (_count(factory, Order), _count(factory, IngestRejection)) == (0, 0)


def test_rows_of_one_order_in_different_batches_merge_through_an_update(
    factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service.kind_of(Kind.ORDERS), "batch_size", 1)
    _, figures, _ = _import(factory, "orders_zh.xlsx")
    assert (figures["imported"], figures["unchanged"]) == (3, 0)  # XL-1 created, XL-2, XL-1 updated
    assert _lines(factory, "XL-1") == [("SKU-1", 1, 5900, 0), ("SKU-3", 1, 19900, 0)]
    _, figures, _ = _import(factory, "orders_zh.xlsx")
    assert (figures["imported"], figures["unchanged"]) == (0, 3)
    assert _lines(factory, "XL-1") == [("SKU-1", 1, 5900, 0), ("SKU-3", 1, 19900, 0)]


def test_an_order_file_needs_a_known_shop_and_a_currency(factory: sessionmaker[Session]) -> None:
    data = "订单号,下单时间,商品编码,数量\nA-1,2026-12-04 10:00,SKU-1,1\n".encode()
    for shop, message in ((None, "name one"), ("nope", "unknown shop 'nope'")):
        run_id = service.run_import(
            factory, io.BytesIO(data), "x.csv", Kind.ORDERS, ImportOptions(shop=shop, currency="CNY")
        )
        with transaction(factory) as s:
            run = repository.run(s, run_id)
            assert run is not None and run.status == "failed" and message in (run.message or "")
    run_id = service.run_import(factory, io.BytesIO(data), "x.csv", Kind.ORDERS, ImportOptions(shop="shop-a"))
    with transaction(factory) as s:
        [error] = repository.errors(s, run_id)
        assert (error.row, error.column, error.reason[:11]) == (2, None, "no currency")


ALL_ORDERS = (
    "amazon-order-id\tmerchant-order-id\tpurchase-date\tlast-updated-date\torder-status\tfulfillment-channel\t"
    "sales-channel\torder-channel\tship-service-level\tproduct-name\tsku\tasin\titem-status\tquantity\tcurrency\t"
    "item-price\titem-tax\tshipping-price\tshipping-tax\tgift-wrap-price\tgift-wrap-tax\titem-promotion-discount\t"
    "ship-promotion-discount\tship-city\tship-state\tship-postal-code\tship-country\tpromotion-ids\n"
    "113-1\t\t2026-12-01T10:00:00+00:00\t2026-12-02T10:00:00+00:00\tCancelled\tMerchant\tAmazon.com\t\tStandard\t"
    "Kettle\tSKU-3\tB0001\tCancelled\t0\tUSD\t\t\t\t\t\t\t\t\tAustin\tTX\t78701\tUS\t\n"
    "113-2\t\t2026-12-01T11:00:00+00:00\t2026-12-03T09:00:00+00:00\tShipped\tAmazon\tAmazon.com\t\tExpedited\t"
    "Filters\tSKU-2\tB0002\tShipped\t2\tUSD\t14.98\t1.20\t0.00\t0.00\t\t\t0.00\t\tDenver\tCO\t80202\tUS\t\n"
)


def test_amazons_all_orders_report_keeps_cancelled_and_platform_fulfilled_orders_off_the_stock(
    factory: sessionmaker[Session],
) -> None:
    options = ImportOptions(shop="shop-a", actor="import:test")
    run_id = service.run_import(factory, io.BytesIO(ALL_ORDERS.encode()), "all.txt", Kind.ORDERS, options)
    with transaction(factory) as s:
        run = repository.run(s, run_id)
        assert run is not None and (run.layout, run.imported, run.failed) == ("amazon-all-orders", 2, 0)
    cancelled, fba = _order(factory, "113-1"), _order(factory, "113-2")
    assert (cancelled.status, cancelled.platform_status) == ("cancelled", "Cancelled")
    assert (fba.status, fba.platform_updated_at) == (
        "platform_fulfilled",
        datetime(2026, 12, 3, 9, tzinfo=UTC),
    )
    assert _lines(factory, "113-2") == [("SKU-2", 2, 749, 0)]
