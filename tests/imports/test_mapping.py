"""Layouts: the built-in ones are found from a file's headers, any other through the fields' English
and Chinese headers or a saved profile."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from orderly.core.db import transaction
from orderly.core.errors import DomainError, NotFound
from orderly.imports import mapping
from orderly.imports.domain import FieldSpec, Kind, Layout, header_key

SPECS = (
    FieldSpec("order_number", True, ("Order ID", "订单号")),
    FieldSpec("sku", True, ("SKU", "商品编码")),
    FieldSpec("quantity", True, ("Quantity", "数量")),
    FieldSpec("ship_phone", False, ("Phone", "手机")),
)
AMAZON = "order-id\torder-item-id\tpurchase-date\tpayments-date\tbuyer-email\tbuyer-name\tbuyer-phone-number\tsku\tproduct-name\tquantity-purchased\tcurrency\titem-price\titem-tax\tshipping-price\tshipping-tax\tship-service-level\trecipient-name\tship-address-1\tship-address-2\tship-address-3\tship-city\tship-state\tship-postal-code\tship-country\tship-phone-number"  # noqa: E501


def test_headers_match_whatever_their_case_spaces_or_dashes() -> None:
    assert header_key("Lineitem SKU") == header_key("lineitem_sku") == header_key("LineItem-Sku")
    assert header_key(" 订单号\u3000") == "订单号"


def test_amazons_order_report_is_known_by_its_columns() -> None:
    layout = mapping.detect(Kind.ORDERS, SPECS, AMAZON.split("\t"))
    assert layout.name == "amazon-order-report"
    assert layout.columns["quantity"] == "quantity-purchased"


def test_a_file_of_another_layout_is_read_through_the_fields_known_headers() -> None:
    headers = ["序号", "订单号", "商品编码", "数量", "手机"]
    layout = mapping.detect(Kind.ORDERS, SPECS, headers)
    assert layout.name == "generic"
    row = layout.reader(headers).row(2, ["1", " A-1 ", "SKU-1", "2", ""])
    assert row.values == {"order_number": "A-1", "sku": "SKU-1", "quantity": "2"}
    assert row.columns["order_number"] == "订单号"
    assert row.error("quantity", "bad").column == "数量"


def test_missing_required_fields_are_named_and_fixed_values_fill_a_field() -> None:
    layout = Layout("p", Kind.ORDERS, {"order_number": "No.", "sku": "Item"}, {"quantity": "1"})
    assert layout.missing(SPECS, ["No.", "Other"]) == [SPECS[1]]
    assert layout.reader(["No.", "Item"]).row(2, ["A-1", "S"]).values == {
        "quantity": "1",
        "order_number": "A-1",
        "sku": "S",
    }


def test_profiles_are_saved_replaced_listed_and_deleted(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as s:
        mapping.save_profile(
            s, "wholesale", Kind.ORDERS, SPECS, {"order_number": "单号", "sku": "编码", "quantity": "件数"}
        )
        mapping.save_profile(
            s, "wholesale", Kind.ORDERS, SPECS, {"order_number": "No", "sku": "编码", "quantity": "件数"}
        )
    with transaction(factory) as s:
        assert [p.name for p in mapping.profiles(s, Kind.ORDERS)] == ["wholesale"]
        assert mapping.load_profile(s, "wholesale", Kind.ORDERS).columns["order_number"] == "No"
        with pytest.raises(DomainError, match="maps orders files, not stock"):
            mapping.load_profile(s, "wholesale", Kind.STOCK)
        mapping.delete_profile(s, "wholesale")
        with pytest.raises(NotFound):
            mapping.load_profile(s, "wholesale", Kind.ORDERS)


def test_a_profile_with_unknown_fields_or_without_a_required_column_is_refused(
    factory: sessionmaker[Session],
) -> None:
    with transaction(factory) as s:
        with pytest.raises(DomainError, match="colour: not a field of orders files"):
            mapping.save_profile(s, "x", Kind.ORDERS, SPECS, {"colour": "Farbe"})
        with pytest.raises(DomainError, match="needs a column for sku, quantity"):
            mapping.save_profile(s, "x", Kind.ORDERS, SPECS, {"order_number": "No"})
