"""Which column holds which field: the built-in layouts of files the hub knows (Amazon's order report,
Shopify's order export), saved profiles for any other layout, and the generic layout found from the
fields' English and Chinese headers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy.orm import Session

from orderly.core.errors import DomainError, NotFound
from orderly.imports import repository
from orderly.imports.domain import FieldSpec, Kind, Layout, generic_layout, score
from orderly.imports.models import ImportProfile

_AMAZON_COMMON = {
    "sku": "sku",
    "title": "product-name",
    "currency": "currency",
    "line_total": "item-price",
    "line_tax": "item-tax",
    "line_shipping": "shipping-price",
    "ship_city": "ship-city",
    "ship_region": "ship-state",
    "ship_postal_code": "ship-postal-code",
    "ship_country": "ship-country",
}

#: Built-in layouts by kind, the better match first. Column names as the platforms publish them:
#: Amazon's flat-file order reports (tab-separated; item-price is the line's total) and Shopify's
#: order export (one row per line item, the order's own columns filled on its first row only).
BUILT_IN: Mapping[Kind, tuple[Layout, ...]] = {
    Kind.ORDERS: (
        # Seller Central's order report (GET_FLAT_FILE_ORDERS_DATA and the actionable/unshipped ones).
        Layout(
            "amazon-order-report",
            Kind.ORDERS,
            {
                **_AMAZON_COMMON,
                "order_number": "order-id",
                "placed_at": "purchase-date",
                "buyer_email": "buyer-email",
                "buyer_name": "buyer-name",
                "buyer_phone": "buyer-phone-number",
                "quantity": "quantity-purchased",
                "shipped": "quantity-shipped",
                "ship_name": "recipient-name",
                "ship_line1": "ship-address-1",
                "ship_line2": "ship-address-2",
                "ship_line3": "ship-address-3",
                "ship_phone": "ship-phone-number",
                "line_discount": "item-promotion-discount",
            },
        ),
        # The all-orders report (GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL and _BY_LAST_UPDATE_).
        Layout(
            "amazon-all-orders",
            Kind.ORDERS,
            {
                **_AMAZON_COMMON,
                "order_number": "amazon-order-id",
                "placed_at": "purchase-date",
                "updated_at": "last-updated-date",
                "status": "order-status",
                "fulfillment": "fulfillment-channel",
                "quantity": "quantity",
                "line_discount": "item-promotion-discount",
            },
        ),
        Layout(
            "shopify-orders",
            Kind.ORDERS,
            {
                "order_number": "Name",
                "buyer_email": "Email",
                "payment_status": "Financial Status",
                "currency": "Currency",
                "shipping": "Shipping",
                "order_tax": "Taxes",
                "total": "Total",
                "order_discount": "Discount Amount",
                "placed_at": "Created at",
                "quantity": "Lineitem quantity",
                "title": "Lineitem name",
                "unit_price": "Lineitem price",
                "sku": "Lineitem sku",
                "line_discount": "Lineitem discount",
                "buyer_name": "Billing Name",
                "billing_country": "Billing Country",
                "ship_name": "Shipping Name",
                "ship_line1": "Shipping Address1",
                "ship_line2": "Shipping Address2",
                "ship_city": "Shipping City",
                "ship_postal_code": "Shipping Zip",
                "ship_region": "Shipping Province",
                "ship_country": "Shipping Country",
                "ship_phone": "Shipping Phone",
                "remark": "Notes",
                "cancelled_at": "Cancelled at",
                "payment_method": "Payment Method",
                "tags": "Tags",
                "buyer_phone": "Phone",
            },
        ),
    ),
}

#: A built-in layout is chosen when the file has at least this share of its columns.
MATCH = 0.8


def detect(kind: Kind, specs: Sequence[FieldSpec], headers: Sequence[str]) -> Layout:
    """The built-in layout that matches the file's headers best, else the generic one."""
    best = max(BUILT_IN.get(kind, ()), key=lambda layout: score(layout, headers), default=None)
    if best is not None and score(best, headers) >= MATCH:
        return best
    return generic_layout(kind, specs, headers)


def layout_of(profile: ImportProfile) -> Layout:
    return Layout(profile.name, Kind(profile.kind), dict(profile.columns), dict(profile.fixed or {}))


def load_profile(session: Session, name: str, kind: Kind) -> Layout:
    """A saved profile by name, which must be for this kind of file."""
    profile = repository.profile(session, name)
    if profile is None:
        raise NotFound(f"no import profile named {name!r}", field="profile")
    if profile.kind != kind:
        raise DomainError(f"profile {name!r} maps {profile.kind} files, not {kind}", field="profile")
    return layout_of(profile)


def save_profile(
    session: Session,
    name: str,
    kind: Kind,
    specs: Sequence[FieldSpec],
    columns: Mapping[str, str],
    fixed: Mapping[str, str] | None = None,
) -> ImportProfile:
    """Save (or replace) a profile: each field must be one of the kind's, each header non-blank."""
    known = {spec.name for spec in specs}
    fixed = dict(fixed or {})
    odd = sorted((set(columns) | set(fixed)) - known)
    if odd:
        raise DomainError(
            f"{', '.join(odd)}: not a field of {kind} files; they have: {', '.join(sorted(known))}",
            field="columns",
        )
    blank = sorted(name for name, header in columns.items() if not header.strip())
    if blank:
        raise DomainError(f"{', '.join(blank)}: give the file's header for each field", field="columns")
    missing = [s.name for s in specs if s.required and s.name not in columns and s.name not in fixed]
    if missing:
        raise DomainError(f"a {kind} profile needs a column for {', '.join(missing)}", field="columns")
    cleaned = {field: header.strip() for field, header in columns.items()}
    return repository.save_profile(session, name.strip(), kind, cleaned, fixed)


def profiles(session: Session, kind: Kind | None = None) -> list[ImportProfile]:
    return repository.profiles(session, kind)


def delete_profile(session: Session, name: str) -> None:
    if not repository.delete_profile(session, name):
        raise NotFound(f"no import profile named {name!r}", field="name")
