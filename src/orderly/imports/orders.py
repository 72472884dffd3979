"""The orders kind: rows of order lines become normalized orders of one shop, fed to the hub's own ingest
(``orders/ingest.py``: validation, de-duplication by shop and external id with versions, review,
reservation), exactly as the API and the channels feed it.

**Lines of one order.** The rows of one order are grouped within a batch, wherever they are in it, and
the service never ends a batch between two adjacent rows of one order (``group_by``), so adjacent rows
(every platform's export) always make one order. Rows of an order further apart than a batch go through
ingest's update path: each imported version keeps, as its ``raw`` payload, what the file said (header,
lines and their shipping), and a later group of the same order is merged into that version (its lines
replace those of the same SKU, the others stay, blank header cells keep what was said) with the same
stamp, so ingest stores it as an update; importing the same file again builds the same versions, which
ingest finds unchanged. A file therefore adds and changes an order's lines, never removes one. Files
imported at the same time that give lines of one order each lock it before reading its version
(``repository.file_versions``), so each merges into what the other stored and no line is lost. In a dry
run each batch is rolled back, so such a late group shows as a new order there.

A row with a bad cell keeps its whole order out (an order missing a line would ship wrong), and the
order's other rows say so; an order ingest rejects is stored among the rejections to replay and its
errors are put on the rows they concern.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any

from sqlalchemy.orm import Session

from orderly.channels.models import Shop
from orderly.core.clock import zone
from orderly.core.errors import DomainError
from orderly.core.money import is_currency
from orderly.imports import cleaning, repository
from orderly.imports.domain import FieldSpec, Kind, Outcome, Row, RowError
from orderly.imports.service import ImportOptions, register
from orderly.orders.domain import PaymentStatus
from orderly.orders.ingest import ingest

#: Where a value in a raw payload says the version came from a file (and can be merged with).
SOURCE = "file"

FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("order_number", True, ("Order ID", "Order Number", "Order No", "订单号", "订单编号", "单号")),
    FieldSpec(
        "placed_at", True, ("Order Date", "Date", "Created at", "下单时间", "订单时间", "创建时间", "日期")
    ),
    FieldSpec("updated_at", False, ("Updated at", "Last Updated", "更新时间", "修改时间")),
    FieldSpec("sku", True, ("SKU", "Item SKU", "Product Code", "商品编码", "商家编码", "货号", "商品SKU")),
    FieldSpec("title", False, ("Product Name", "Item Name", "Title", "商品名称", "品名", "商品标题")),
    FieldSpec("quantity", True, ("Quantity", "Qty", "数量", "购买数量")),
    FieldSpec("shipped", False, ("Quantity Shipped", "Shipped", "已发货数量")),
    FieldSpec("unit_price", False, ("Unit Price", "Price", "单价", "商品单价")),
    FieldSpec("line_total", False, ("Line Total", "Item Price", "Amount", "商品金额", "小计")),
    FieldSpec("line_discount", False, ("Line Discount", "Item Discount", "商品优惠", "商品折扣")),
    FieldSpec("line_tax", False, ("Item Tax", "商品税费")),
    FieldSpec("line_shipping", False, ("Item Shipping",)),
    FieldSpec("shipping", False, ("Shipping", "Shipping Fee", "Shipping Price", "运费")),
    FieldSpec("order_tax", False, ("Tax", "Taxes", "税费", "税额")),
    FieldSpec("order_discount", False, ("Discount", "Order Discount", "优惠金额", "订单优惠", "折扣")),
    FieldSpec("total", False, ("Total", "Order Total", "订单金额", "实付金额", "总金额")),
    FieldSpec("currency", False, ("Currency", "币种", "货币")),
    FieldSpec("status", False, ("Status", "Order Status", "订单状态", "状态")),
    FieldSpec("cancelled_at", False, ("Cancelled at", "取消时间")),
    FieldSpec("payment_status", False, ("Payment Status", "Financial Status", "付款状态", "支付状态")),
    FieldSpec("payment_method", False, ("Payment Method", "付款方式", "支付方式")),
    FieldSpec("fulfillment", False, ("Fulfillment", "Fulfillment Channel", "发货方式", "配送方式")),
    FieldSpec("buyer_name", False, ("Buyer Name", "Customer", "Customer Name", "买家姓名", "买家", "客户")),
    FieldSpec("buyer_email", False, ("Email", "Buyer Email", "邮箱", "买家邮箱", "电子邮件")),
    FieldSpec("buyer_phone", False, ("Buyer Phone", "买家电话", "买家手机")),
    FieldSpec(
        "ship_name", False, ("Recipient", "Recipient Name", "Ship To", "收件人姓名", "收件人", "收货人")
    ),
    FieldSpec(
        "ship_line1", False, ("Address", "Address 1", "Address1", "Street", "收货地址", "详细地址", "地址")
    ),
    FieldSpec("ship_line2", False, ("Address 2", "Address2", "地址2")),
    FieldSpec("ship_line3", False, ("Address 3", "Address3", "地址3")),
    FieldSpec("ship_city", False, ("City", "城市", "市")),
    FieldSpec("ship_region", False, ("State", "Province", "Region", "省份", "省", "州")),
    FieldSpec("ship_postal_code", False, ("Postal Code", "Zip", "Zip Code", "Postcode", "邮编", "邮政编码")),
    FieldSpec("ship_country", False, ("Country", "国家", "国家/地区")),
    FieldSpec(
        "ship_phone", False, ("Phone", "Recipient Phone", "Mobile", "手机", "电话", "联系电话", "收件人电话")
    ),
    FieldSpec("billing_country", False, ("Billing Country", "账单国家")),
    FieldSpec("remark", False, ("Note", "Notes", "Remark", "买家留言", "备注", "留言")),
    FieldSpec("tags", False, ("Tags", "标签")),
)

_CANCELLED = {"cancelled", "canceled", "已取消", "取消", "已关闭", "交易关闭"}
_PAYMENT = {
    "paid": PaymentStatus.PAID, "pending": PaymentStatus.PENDING, "authorized": PaymentStatus.AUTHORIZED,
    "partially_paid": PaymentStatus.PENDING, "refunded": PaymentStatus.REFUNDED,
    "partially_refunded": PaymentStatus.PARTIALLY_REFUNDED, "voided": PaymentStatus.FAILED,
    "failed": PaymentStatus.FAILED, "unpaid": PaymentStatus.PENDING,
    "已付款": PaymentStatus.PAID, "已支付": PaymentStatus.PAID, "待付款": PaymentStatus.PENDING,
    "未付款": PaymentStatus.PENDING, "已退款": PaymentStatus.REFUNDED,
    "部分退款": PaymentStatus.PARTIALLY_REFUNDED,
}  # fmt: skip
_PLATFORM_FULFILLED = {"amazon", "afn", "platform", "平台发货", "平台仓"}
_BUYER = ("name", "email", "phone")
_ADDRESS = ("name", "line1", "line2", "city", "region", "postal_code", "country", "phone")
#: A field of ingest's errors (``lines[2].quantity``, ``shipping_address.country``) -> the file's field.
_ERROR_FIELDS = {
    "platform_sku": "sku", "listing_id": "sku", "title": "title", "quantity": "quantity",
    "shipped": "shipped",
    "unit_price": "unit_price", "discount": "line_discount", "tax": "line_tax", "placed_at": "placed_at",
    "updated_at": "updated_at", "currency": "currency", "total": "total", "shipping_total": "shipping",
    "discount_total": "order_discount", "tax_total": "order_tax", "billing_country": "billing_country",
}  # fmt: skip
_LINE_ERROR = re.compile(r"^lines\[(\d+)\]\.?(\w*)")


@dataclass
class _Line:
    line: dict[str, Any]  # a NormalizedLine
    shipping: int  # its own shipping charge (Amazon's reports give one per item)
    row: Row | None  # where it came from in this file; None for one kept from the stored version


@dataclass
class _Draft:
    """What a group of rows says of one order, before it is merged with the version stored."""

    key: str
    rows: list[Row]
    header: dict[str, Any] = field(default_factory=dict)  # NormalizedOrder fields but lines and amounts
    amounts: dict[str, int] = field(default_factory=dict)  # order-level: shipping, tax, discount, total
    lines: list[_Line] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


class OrdersKind:
    kind = Kind.ORDERS
    fields: Sequence[FieldSpec] = FIELDS
    batch_size = 4000  # rows: about 2,000 orders, the size ingest takes by default
    group_by: str | None = "order_number"
    shard_by: str | None = "order_number"  # all rows of an order go to one process, in file order

    def apply(
        self, session: Session, rows: Sequence[Row], options: ImportOptions, *, dry_run: bool
    ) -> Outcome:
        shop = _shop(session, options.shop)
        where = zone(options.time_zone)
        outcome = Outcome()
        drafts: dict[str, _Draft] = {}
        for row in rows:
            key = row.values.get("order_number")
            if key is None:
                outcome.errors.append(row.error("order_number", "the order number is empty"))
                continue
            drafts.setdefault(key, _Draft(key, [])).rows.append(row)
        good: list[_Draft] = []
        for draft in drafts.values():
            _read(draft, options, where)
            if draft.errors:
                outcome.errors.extend(draft.errors)
                outcome.errors.extend(_left_out(draft))
            else:
                good.append(draft)
        stored = repository.file_versions(session, shop.id, [d.key for d in good], SOURCE)
        orders = [_order(shop.code, draft, stored.get(draft.key)) for draft in good]
        report = ingest(session, [order for order, _ in orders], actor=options.actor)
        for item, (_, lines) in zip(report.items, orders, strict=True):
            if item.outcome in ("created", "updated"):
                outcome.imported += 1
            elif item.outcome == "rejected":
                outcome.errors.extend(_rejected(good[item.index], lines, item.errors))
            else:  # unchanged, or stale: the hub holds a newer version than the file's
                outcome.unchanged += 1
        return outcome


register(OrdersKind())


def shop_zone(session: Session, code: str) -> str | None:
    """The shop's own time zone setting, if it has one (else the hub's applies)."""
    found = session.query(Shop.settings).filter(Shop.code == code).one_or_none()
    return (found[0] or {}).get("timezone") if found else None


def _shop(session: Session, code: str | None) -> Shop:
    if not code:
        raise DomainError("orders are imported into a shop: name one (--shop)", field="shop")
    shop = session.query(Shop).filter(Shop.code == code).one_or_none()
    if shop is None:
        raise DomainError(f"unknown shop {code!r}", field="shop")
    return shop


def _left_out(draft: _Draft) -> list[RowError]:
    bad = {e.row for e in draft.errors}
    first = min(bad)
    return [
        row.error(None, f"not imported: row {first} of the same order {draft.key} has an error")
        for row in draft.rows
        if row.number not in bad
    ]


def _read(draft: _Draft, options: ImportOptions, where: tzinfo) -> None:
    """Fill a draft from its rows, collecting every bad cell. A field of the order's header is read
    from the first of its rows that has it."""
    header: dict[str, Any] = draft.header
    first: dict[str, tuple[str, Row]] = {}
    for row in draft.rows:
        for name, value in row.values.items():
            if name not in first:
                first[name] = (value, row)

    def cell(name: str, read: Any, *args: Any) -> Any:
        found = first.get(name)
        if found is None:
            return None
        try:
            return read(found[0], *args)
        except (cleaning.Invalid, ValueError) as exc:
            draft.errors.append(found[1].error(name, str(exc)))
            return None

    def said(name: str) -> str | None:
        found = first.get(name)
        return None if found is None else found[0]

    currency = cell("currency", _currency) or options.currency
    if currency is None:
        draft.errors.append(
            draft.rows[0].error(None, "no currency: add a currency column or choose the file's currency")
        )
        return
    placed = cell("placed_at", cleaning.moment, where)
    if placed is None and "placed_at" not in first:
        draft.errors.append(draft.rows[0].error("placed_at", "the order's date is empty"))
    updated = cell("updated_at", cleaning.moment, where)
    header["currency"] = currency
    if placed is not None:
        header["placed_at"] = placed.isoformat()
        header["updated_at"] = (updated or placed).isoformat()
    status = said("status")
    if status:
        header["platform_status"] = status[:64]
    if "cancelled_at" in first or (status or "").casefold() in _CANCELLED:
        header["cancelled"] = True
    header["payment_status"] = cell("payment_status", _payment)
    header["payment_method"] = (said("payment_method") or "")[:64] or None
    fulfillment = said("fulfillment")
    if fulfillment:
        header["fulfillment"] = "platform" if fulfillment.casefold() in _PLATFORM_FULFILLED else "merchant"
    country = cell("ship_country", cleaning.country)
    header["billing_country"] = cell("billing_country", cleaning.country)
    header["buyer"] = {
        "name": said("buyer_name"),
        "email": said("buyer_email"),
        "phone": cell("buyer_phone", cleaning.phone, country),
    }
    postal = cell("ship_postal_code", cleaning.postal_code, country) if country else said("ship_postal_code")
    header["shipping_address"] = {
        "name": said("ship_name"),
        "line1": said("ship_line1"),
        "line2": " ".join(filter(None, (said("ship_line2"), said("ship_line3")))) or None,
        "city": said("ship_city"),
        "region": said("ship_region"),
        "postal_code": postal,
        "country": country,
        "phone": cell("ship_phone", cleaning.phone, country),
    }
    header["buyer_remark"] = said("remark")
    tags = said("tags")
    if tags:
        header["tags"] = [t.strip()[:64] for t in tags.split(",") if t.strip()]
    # Only what the file says: a blank keeps what an earlier version said (``_merged``).
    for name in list(header):
        if isinstance(header[name], dict):
            header[name] = {k: v for k, v in header[name].items() if v is not None}
        if header[name] is None or header[name] == {}:
            del header[name]
    for name in ("shipping", "order_tax", "order_discount", "total"):
        amount = cell(name, cleaning.money, currency)
        if amount is not None:
            draft.amounts[name] = amount
    for row in draft.rows:
        line = _line(row, currency, draft.errors)
        if line is not None:
            draft.lines.append(line)


def _currency(value: str) -> str:
    code = value.strip().upper()
    if not is_currency(code):
        raise cleaning.Invalid(f"'{value}' is not a currency: use its ISO 4217 code, such as USD or CNY")
    return code


def _payment(value: str) -> PaymentStatus:
    found = _PAYMENT.get(value.strip().casefold().replace(" ", "_"))
    if found is None:
        raise cleaning.Invalid(f"'{value}' is not a payment status: paid, pending, authorized or refunded")
    return found


#: A line's cells that are read, in the order their errors are reported: counts, then amounts.
_LINE_COUNTS = ("quantity", "shipped")
_LINE_AMOUNTS = ("unit_price", "line_total", "line_discount", "line_tax", "line_shipping")


def _line(row: Row, currency: str, errors: list[RowError]) -> _Line | None:
    values = row.values
    found: dict[str, Any] = {}
    failed = False
    if "sku" not in values:
        errors.append(row.error("sku", "the SKU is empty"))
        failed = True
    if "quantity" not in values:
        errors.append(row.error("quantity", "the quantity is empty"))
        failed = True
    for name in _LINE_COUNTS:
        if name in values:
            try:
                found[name] = cleaning.quantity(values[name], zero=True)
            except cleaning.Invalid as exc:
                errors.append(row.error(name, str(exc)))
                failed = True
    for name in _LINE_AMOUNTS:
        if name in values:
            try:
                found[name] = cleaning.money(values[name], currency)
            except cleaning.Invalid as exc:
                errors.append(row.error(name, str(exc)))
                failed = True
    if failed:
        return None
    quantity = found["quantity"]
    discount = found.get("line_discount", 0)
    if "unit_price" in found:
        unit = found["unit_price"]
    elif "line_total" in found and quantity:
        # Amazon gives the line's total: the unit price rounds up, the rest is the line's discount.
        unit = -(-found["line_total"] // quantity)
        discount += unit * quantity - found["line_total"]
    else:
        unit = 0
    shipped = found.get("shipped", 0)
    if shipped > quantity:
        errors.append(row.error("shipped", f"{shipped} shipped of a line of {quantity}"))
        return None
    line = {
        "platform_sku": values["sku"][:200],
        "listing_id": None,
        "title": values.get("title", "")[:500] or None,
        "quantity": quantity,
        "shipped": shipped,
        "unit_price": unit,
        "discount": discount,
        "tax": found.get("line_tax", 0),
    }
    return _Line(line, found.get("line_shipping", 0), row)


def _order(shop: str, draft: _Draft, stored: Mapping[str, Any] | None) -> tuple[dict[str, Any], list[_Line]]:
    """The normalized order of a draft, merged into the version the file gave before (``stored``)."""
    header, amounts, lines = draft.header, draft.amounts, draft.lines
    if stored is not None:
        header = _merged(stored["header"], header)
        amounts = {**stored["amounts"], **amounts}
        mine = {line.line["platform_sku"] for line in lines}
        kept = [
            _Line(line, shipping, None)
            for line, shipping in stored["lines"]
            if line["platform_sku"] not in mine
        ]
        lines = lines + kept
        # ISO texts in UTC compare as the times they name.
        header["updated_at"] = max(header["updated_at"], stored["header"]["updated_at"])
    # One order for the lines whatever order their rows came in: every version compares equal.
    lines = sorted(
        lines, key=lambda item: (item.line["platform_sku"], item.line["unit_price"], item.line["quantity"])
    )
    raw = {
        "source": SOURCE,
        "header": header,
        "amounts": amounts,
        "lines": [[item.line, item.shipping] for item in lines],
    }
    order = {
        "cancelled": False,
        "fulfillment": "merchant",
        "payment_status": str(PaymentStatus.PAID),
        "tags": [],
        **header,
        "buyer": {name: header.get("buyer", {}).get(name) for name in _BUYER} | {"platform_id": None},
        "shipping_address": {name: header.get("shipping_address", {}).get(name) for name in _ADDRESS},
        "shop": shop,
        "external_id": draft.key[:200],
        "lines": [dict(item.line) for item in lines],
        "shipping_total": amounts.get("shipping", 0) + sum(item.shipping for item in lines),
        "tax_total": amounts.get("order_tax", 0) + sum(item.line["tax"] for item in lines),
        "discount_total": amounts.get("order_discount", 0),
        "total": amounts.get("total"),
        "raw": raw,
    }
    return order, lines


def _merged(stored: Mapping[str, Any], mine: Mapping[str, Any]) -> dict[str, Any]:
    """The file's header over the stored one: what a group of rows leaves blank keeps what was said."""
    merged = {**stored, **mine}
    for part in ("buyer", "shipping_address"):
        merged[part] = {**stored.get(part, {}), **mine.get(part, {})}
    return merged


def _rejected(draft: _Draft, lines: list[_Line], errors: list[dict[str, str]]) -> list[RowError]:
    """Ingest's reasons on the rows and columns they concern."""
    found = []
    for error in errors:
        path, message = error.get("field", ""), error.get("message", "")
        row, name = draft.rows[0], None
        match = _LINE_ERROR.match(path)
        if match and int(match.group(1)) < len(lines):
            source = lines[int(match.group(1))].row
            row = source or row
            name = _ERROR_FIELDS.get(match.group(2))
        else:
            last = path.rsplit(".", 1)[-1]
            if path.startswith("shipping_address."):
                name = f"ship_{last}"
            elif path.startswith("buyer."):
                name = f"buyer_{last}"
            else:
                name = _ERROR_FIELDS.get(path)
        if name is not None and name in row.columns:
            found.append(row.error(name, message))
        else:
            found.append(row.error(None, f"{path}: {message}" if path else message))
    return found
