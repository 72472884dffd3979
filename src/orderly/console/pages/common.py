"""What every console page shares: how statuses read, the navigation, rendering, reading a form."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from fastapi import HTTPException, Request, status
from fastapi.responses import HTMLResponse

from orderly.auth.domain import Role
from orderly.console.formatting import LOCALES
from orderly.console.i18n import N_, environment, gettext
from orderly.console.viewer import NotForRole, Viewer, locale_of, zone_of
from orderly.console.viewer import viewer as identify
from orderly.fulfilment.carriers.models import LabelState
from orderly.fulfilment.domain import ShipmentStatus, TrackingKind
from orderly.orders.domain import HoldReason, OrderStatus, PaymentStatus

#: How each order status and hold reason reads (translated where shown).
STATUS_NAMES = {
    OrderStatus.PENDING_REVIEW: N_("Pending review"),
    OrderStatus.ON_HOLD: N_("On hold"),
    OrderStatus.APPROVED: N_("Approved"),
    OrderStatus.ALLOCATED: N_("Allocated"),
    OrderStatus.LABEL_PRINTED: N_("Label printed"),
    OrderStatus.PARTLY_SHIPPED: N_("Partly shipped"),
    OrderStatus.SHIPPED: N_("Shipped"),
    OrderStatus.DELIVERED: N_("Delivered"),
    OrderStatus.CANCELLED: N_("Cancelled"),
    OrderStatus.RETURNED: N_("Returned"),
    OrderStatus.PLATFORM_FULFILLED: N_("Fulfilled by the platform"),
}
HOLD_NAMES = {
    HoldReason.OUT_OF_STOCK: N_("Out of stock"),
    HoldReason.ADDRESS: N_("Address incomplete"),
    HoldReason.RISK: N_("Risk"),
    HoldReason.REMARK: N_("Buyer's remark"),
    HoldReason.PAYMENT: N_("Payment"),
    HoldReason.MANUAL: N_("Held by a person"),
    HoldReason.CANCEL_REQUEST: N_("Cancellation requested"),
}
#: How an order's payment status reads (its English the status as stored, as the API gives it).
PAYMENT_NAMES = {
    PaymentStatus.PENDING: N_("pending"),
    PaymentStatus.AUTHORIZED: N_("authorized"),
    PaymentStatus.PAID: N_("paid"),
    PaymentStatus.PARTIALLY_REFUNDED: N_("partially_refunded"),
    PaymentStatus.REFUNDED: N_("refunded"),
    PaymentStatus.FAILED: N_("failed"),
}
#: How a parcel's status reads.
PARCEL_STATUSES = {
    ShipmentStatus.CREATED: N_("Created"),
    ShipmentStatus.LABEL_BOUGHT: N_("Label bought"),
    ShipmentStatus.PICKED: N_("Picked"),
    ShipmentStatus.PACKED: N_("Packed"),
    ShipmentStatus.SHIPPED: N_("Shipped"),
    ShipmentStatus.IN_TRANSIT: N_("In transit"),
    ShipmentStatus.DELIVERED: N_("Delivered"),
    ShipmentStatus.EXCEPTION: N_("Carrier exception"),
    ShipmentStatus.VOIDED: N_("Voided"),
}
#: How each state of a carrier label's purchase reads.
LABEL_STATES = {
    LabelState.BUYING: N_("Being bought"),
    LabelState.BOUGHT: N_("Bought"),
    LabelState.VOIDING: N_("Being voided"),
    LabelState.VOIDED: N_("Voided"),
    LabelState.FAILED: N_("Refused"),
    LabelState.UNKNOWN: N_("Outcome unknown"),
}
#: How a carrier's event reads, as the hub names it (the carrier's own words beside it).
TRACKING_KINDS = {
    TrackingKind.LABEL_CREATED: N_("Label created"),
    TrackingKind.PICKED_UP: N_("Picked up"),
    TrackingKind.IN_TRANSIT: N_("In transit"),
    TrackingKind.OUT_FOR_DELIVERY: N_("Out for delivery"),
    TrackingKind.DELIVERED: N_("Delivered"),
    TrackingKind.EXCEPTION: N_("Carrier exception"),
}
#: How each kind of event in an order's history reads (orders/repository.py: add_event's kinds).
EVENT_NAMES = {
    "imported": N_("Imported"),
    "updated": N_("Updated by the platform"),
    "reviewed": N_("Reviewed again"),
    "held": N_("Held"),
    "released": N_("Released"),
    "approved": N_("Approved"),
    "cancelled": N_("Cancelled"),
    "address_corrected": N_("Address corrected"),
    "rerouted": N_("Re-routed"),
    "shipped": N_("Shipped"),
    "fulfilment": N_("Fulfilment"),
    "tracking": N_("Tracking sent to the shop"),
}
#: How a review's outcome reads.
OUTCOME_NAMES = {"approved": N_("approved"), "held": N_("held")}
LANGUAGE_NAMES = {"en": "English", "zh_Hans": "简体中文"}
#: How each role reads.
ROLE_NAMES = {
    Role.ADMIN: N_("Admin"),
    Role.OPERATIONS: N_("Operations"),
    Role.WAREHOUSE: N_("Warehouse"),
    Role.FINANCE: N_("Finance"),
    Role.CUSTOMER_SERVICE: N_("Customer service"),
    Role.WRITER: N_("Writer (API)"),
    Role.READER: N_("Reader (API)"),
}


#: The navigation: each page for those holding its permission.
NAV = [
    ("/", N_("Home"), "orders:read"),
    ("/board", N_("Board"), "orders:read"),
    ("/orders", N_("Orders"), "orders:read"),
    ("/stock", N_("Stock"), "stock:read"),
    ("/imports", N_("Imports"), "imports:read"),
    ("/shops", N_("Shops"), "shops:read"),
    ("/warehouse", N_("Warehouse"), "fulfilment:write"),
    ("/exceptions", N_("Exceptions"), "orders:read"),
    ("/rules", N_("Rules"), "rules:read"),
    ("/users", N_("Users"), "users:admin"),
    ("/audit", N_("Audit log"), "audit:read"),
]


def render(request: Request, template: str, viewer: Viewer | None, **context: Any) -> HTMLResponse:
    locale = viewer.locale if viewer else locale_of(request)
    page = environment(locale).get_template(template)
    return HTMLResponse(
        page.render(
            viewer=viewer,
            zone=viewer.timezone if viewer else zone_of(request),
            path=request.url.path,
            languages=[(code, LANGUAGE_NAMES[code]) for code in LOCALES],
            nav=[(href, label) for href, label, needs in NAV if viewer and viewer.may(needs)],
            status_names=STATUS_NAMES,
            hold_names=HOLD_NAMES,
            payment_names=PAYMENT_NAMES,
            outcome_names=OUTCOME_NAMES,
            parcel_statuses=PARCEL_STATUSES,
            label_states=LABEL_STATES,
            tracking_kinds=TRACKING_KINDS,
            event_names=EVENT_NAMES,
            **context,
        )
    )


async def read_form(request: Request, *, limit: int = 4096) -> dict[str, str]:
    # A form of a few short fields (or up to ``limit`` bytes), read without a multipart parser (the
    # console posts none).
    body = await request.body()
    if len(body) > limit:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, "the form is larger than this page sends")
    return dict(parse_qsl(body.decode("utf-8", "replace")))


def missing(request: Request, viewer: Viewer, message: str) -> HTMLResponse:
    """The page for something that is not there, as a 404."""
    page = render(request, "missing.html", viewer, message=message)
    page.status_code = status.HTTP_404_NOT_FOUND
    return page


async def not_for_role(request: Request, refused: Exception) -> HTMLResponse:
    """The answer to a page the viewer's role may not open or a change it may not make: a page saying
    so in their language, with the navigation to what they may open, as a 403 (the app's handler of
    :class:`~orderly.console.viewer.NotForRole`; the API's refusals stay JSON)."""
    assert isinstance(refused, NotForRole)
    viewer = refused.viewer
    page = render(
        request,
        "refused.html",
        viewer,
        role=ROLE_NAMES.get(viewer.role, viewer.role),  # type: ignore[call-overload]
        permission=refused.permission,
    )
    page.status_code = status.HTTP_403_FORBIDDEN
    return page


#: Where the console's pages are not: the API, its docs, the assets.
NOT_PAGES = ("/api/", "/static/", "/docs", "/redoc", "/openapi.json", "/static-offline-docs")


async def nowhere(request: Request, code: int) -> HTMLResponse | None:
    """The answer to a console address that leads nowhere (no such page, a 404, or an id in it that
    cannot be read, a 422: ``code``) for a person signed in: the "not found" page in their language.
    ``None`` (the API's JSON answer stands) for the API, its docs and assets, a change, or anyone not
    signed in."""
    if request.method not in {"GET", "HEAD"} or request.url.path.startswith(NOT_PAGES):
        return None
    try:
        who = await identify(request)
    except HTTPException:
        return None
    page = missing(request, who, gettext(who.locale)(N_("There is no page at this address.")))
    page.status_code = code
    return page
