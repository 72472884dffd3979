"""Every person's role in a real browser (Debian's Chromium driven by Playwright): signed in through the
form, each lands on its start page, its navigation offers exactly its pages and the order list exactly
its actions; each page it may not open and each change it may not make (posted with its own session and
CSRF token, so the refusal is its role's) is refused with a page saying so, in its language; and the
same refusals come from the API with a token of the person's own. Nothing refused changed anything.
Screenshots into ``artifacts/console/``."""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from orderly.auth import service as users
from orderly.auth.domain import Role
from orderly.auth.models import User
from orderly.channels.models import Shop
from orderly.core.db import transaction
from orderly.inventory.models import StockLevel
from orderly.jobs.models import Job
from orderly.orders.models import Order
from tests.console.test_browser import _context, _shot, _signed_in, browser, hub, pytestmark

__all__ = ["browser", "hub", "pytestmark"]

NAV = ["Home", "Board", "Orders", "Stock", "Imports", "Shops", "Warehouse", "Exceptions", "Rules", "Users"]


def _without(*pages: str) -> list[str]:
    return [page for page in NAV if page not in pages]


#: What each role is shown: where signing in takes it, its navigation in order, the order list's
#: bulk actions, and whether the list offers its export.
SHOWN: dict[Role, dict[str, Any]] = {
    Role.ADMIN: {
        "start": "/",
        "nav": [*NAV, "Audit log"],
        "actions": ["Approve", "Hold", "Release", "Cancel", "Print labels"],
        "exports": True,
    },
    Role.OPERATIONS: {
        "start": "/",
        "nav": _without("Warehouse", "Users"),
        "actions": ["Approve", "Hold", "Release", "Cancel"],
        "exports": True,
    },
    Role.WAREHOUSE: {
        "start": "/warehouse",
        "nav": _without("Shops", "Rules", "Users"),
        "actions": ["Print labels"],
        "exports": False,
    },
    Role.FINANCE: {
        "start": "/",
        "nav": _without("Warehouse", "Rules", "Users"),
        "actions": [],
        "exports": True,
    },
    Role.CUSTOMER_SERVICE: {
        "start": "/",
        "nav": _without("Imports", "Shops", "Warehouse", "Rules", "Users"),
        "actions": ["Approve", "Hold", "Release", "Cancel"],
        "exports": False,
    },
}

#: The pages each role may not open, with the permission each needs.
PAGES: dict[Role, list[tuple[str, str]]] = {
    Role.ADMIN: [],
    Role.OPERATIONS: [
        ("/users", "users:admin"),
        ("/audit", "audit:read"),
        ("/warehouse", "fulfilment:write"),
        ("/shops/new", "shops:admin"),
    ],
    Role.WAREHOUSE: [
        ("/users", "users:admin"),
        ("/audit", "audit:read"),
        ("/shops", "shops:read"),
        ("/rules", "rules:read"),
        ("/orders/export.csv", "exports:read"),
    ],
    Role.FINANCE: [
        ("/users", "users:admin"),
        ("/audit", "audit:read"),
        ("/warehouse/pack", "fulfilment:write"),
        ("/rules", "rules:read"),
        ("/shops/new", "shops:admin"),
    ],
    Role.CUSTOMER_SERVICE: [
        ("/users", "users:admin"),
        ("/audit", "audit:read"),
        ("/warehouse", "fulfilment:write"),
        ("/shops", "shops:read"),
        ("/imports", "imports:read"),
        ("/rules", "rules:read"),
        ("/stock/export.xlsx", "exports:read"),
    ],
}

ADJUST = {"kind": "adjust", "warehouse": "WH-1", "quantity": "-5", "reason": "not mine to move"}
NEW_USER = {"username": "sneaky", "role": "admin", "password": "long enough password"}

#: The changes each role may not make through the console's pages: (path, form, permission needed).
#: ``{held}``, ``{open}`` and ``{job}`` are a held order, an open one and a dead job.
CHANGES: dict[Role, list[tuple[str, dict[str, str], str]]] = {
    Role.ADMIN: [],
    Role.OPERATIONS: [
        ("/stock/SKU-1", ADJUST, "stock:write"),
        ("/users", NEW_USER, "users:admin"),
        ("/orders/bulk", {"action": "labels", "order": "{open}"}, "fulfilment:write"),
    ],
    Role.WAREHOUSE: [
        ("/orders/bulk", {"action": "release", "order": "{held}", "note": "x"}, "holds:write"),
        ("/exceptions/{held}/cancel", {"reason": "not mine to cancel"}, "cancels:write"),
        ("/shops/jobs/{job}/replay", {}, "jobs:write"),
    ],
    Role.FINANCE: [
        ("/orders/bulk", {"action": "hold", "order": "{open}", "note": "x"}, "holds:write"),
        ("/stock/SKU-1", ADJUST, "stock:write"),
        ("/shops/jobs/{job}/replay", {}, "jobs:write"),
        ("/rules/review/dry-run", {"yaml": "rules: []"}, "rules:write"),
    ],
    Role.CUSTOMER_SERVICE: [
        ("/orders/bulk", {"action": "labels", "order": "{open}"}, "fulfilment:write"),
        ("/stock/SKU-1", ADJUST, "stock:write"),
        ("/exceptions/{held}/warehouse", {"warehouse": "WH-1"}, "orders:write"),
        ("/users", NEW_USER, "users:admin"),
    ],
}

#: What each role's own API token is refused (403) and let through (200): (method, path, body).
API_REFUSED: dict[Role, list[tuple[str, str, Any]]] = {
    Role.ADMIN: [],
    Role.OPERATIONS: [
        ("GET", "/api/v1/users", None),
        ("GET", "/api/v1/audit", None),
        ("POST", "/api/v1/stock/adjust", {"sku": "SKU-1", "warehouse": "WH-1", "delta": -5, "reason": "x"}),
        ("POST", "/api/v1/shops", {"code": "x", "name": "x", "channel": "web"}),
    ],
    Role.WAREHOUSE: [
        ("POST", "/api/v1/orders/{held}/release", {"note": "x"}),
        ("POST", "/api/v1/orders/{held}/cancel", {"reason": "x"}),
        ("GET", "/api/v1/shops", None),
        ("POST", "/api/v1/jobs/{job}/replay", None),
        ("GET", "/api/v1/users", None),
    ],
    Role.FINANCE: [
        ("POST", "/api/v1/orders/{open}/hold", {"note": "x"}),
        ("POST", "/api/v1/stock/adjust", {"sku": "SKU-1", "warehouse": "WH-1", "delta": -5, "reason": "x"}),
        ("POST", "/api/v1/jobs/{job}/replay", None),
        ("GET", "/api/v1/review/rules", None),
        ("GET", "/api/v1/audit", None),
    ],
    Role.CUSTOMER_SERVICE: [
        ("POST", "/api/v1/stock/adjust", {"sku": "SKU-1", "warehouse": "WH-1", "delta": -5, "reason": "x"}),
        ("POST", "/api/v1/orders/{held}/route", {"warehouse": "WH-1"}),
        ("GET", "/api/v1/shops", None),
        ("GET", "/api/v1/imports/runs", None),
        ("GET", "/api/v1/users", None),
    ],
}
API_LET_THROUGH = {
    Role.ADMIN: ["/api/v1/orders", "/api/v1/stock", "/api/v1/users", "/api/v1/audit", "/api/v1/jobs"],
    Role.OPERATIONS: ["/api/v1/orders", "/api/v1/stock", "/api/v1/shops", "/api/v1/review/rules"],
    Role.WAREHOUSE: ["/api/v1/orders", "/api/v1/stock", "/api/v1/products"],
    Role.FINANCE: ["/api/v1/orders", "/api/v1/stock", "/api/v1/shops"],
    Role.CUSTOMER_SERVICE: ["/api/v1/orders", "/api/v1/stock", "/api/v1/products"],
}


def _dead_job(factory: sessionmaker[Session]) -> int:
    with transaction(factory) as s:
        shop = s.scalars(select(Shop).where(Shop.code == "shop-a")).one()
        job = Job(kind="stock.push", shop_id=shop.id, status="dead", attempts=12, last_error="timed out")
        s.add(job)
        s.flush()
        return job.id


def _filled(text: str, ids: dict[str, int]) -> str:
    return text.format(**{name: str(value) for name, value in ids.items()})


def _csrf(page: Page) -> str:
    headers = page.locator("body").get_attribute("hx-headers")
    assert headers, "a signed-in page carries the session's CSRF token for htmx"
    return str(json.loads(headers)["X-CSRF-Token"])


def _hub_state(factory: sessionmaker[Session]) -> Any:
    """What the refused changes would have changed: orders' statuses, stock, jobs, users."""
    with transaction(factory) as s:
        return (
            s.execute(select(Order.external_id, Order.status, Order.holds).order_by(Order.id)).all(),
            s.execute(
                select(StockLevel.id, StockLevel.on_hand, StockLevel.reserved).order_by(StockLevel.id)
            ).all(),
            s.execute(select(Job.id, Job.status).order_by(Job.id)).all(),
            s.scalars(select(User.username).order_by(User.id)).all(),
        )


@pytest.mark.parametrize("role", list(SHOWN), ids=str)
def test_each_role_sees_its_part_and_is_refused_the_rest_in_the_browser_and_the_api(
    browser: Browser,
    hub: str,
    orders: dict[str, int],
    factory: sessionmaker[Session],
    role: Role,
) -> None:
    ids = {"held": orders["1003"], "open": orders["#1001"], "job": _dead_job(factory)}
    shown = SHOWN[role]
    with _context(browser, hub, "en-US") as context:
        page = _signed_in(context, factory, f"{role.value.replace('_', '-')}-person", role)
        expect(page).to_have_url(f"{hub}{shown['start']}")
        nav = page.get_by_role("navigation", name="Main").get_by_role("link")
        expect(nav).to_have_text(shown["nav"])
        _shot(page, f"role-{role.value}")

        page.goto("/orders")
        expect(page.locator("tr.order")).to_have_count(4)
        bulk = page.locator("#bulk .bulk button")
        expect(bulk).to_have_text(shown["actions"])
        exports = page.locator("#bulk .exports a")
        expect(exports).to_have_text(["CSV", "XLSX"] if shown["exports"] else [])

        before = _hub_state(factory)
        for path, needs in PAGES[role]:
            answer = page.goto(path)
            assert answer is not None and answer.status == 403, path
            expect(page.get_by_role("heading", level=1)).to_have_text("Not for your role")
            expect(page.get_by_role("alert")).to_have_attribute("data-permission", needs)
            expect(page.get_by_role("navigation", name="Main").get_by_role("link")).to_have_text(shown["nav"])
        if PAGES[role]:
            _shot(page, f"role-{role.value}-refused")

        page.goto("/orders")
        csrf = _csrf(page)
        for path, form, needs in CHANGES[role]:
            filled = {name: _filled(value, ids) for name, value in form.items()}
            answer = page.request.post(
                f"{hub}{_filled(path, ids)}", form=filled, headers={"X-CSRF-Token": csrf}
            )
            assert answer.status == 403, (path, answer.status, answer.text()[:300])
            assert f'data-permission="{needs}"' in answer.text(), path  # its role's refusal, not CSRF's
        # The same session with the CSRF token may do what its role may: the refusals were the role's.
        assert page.request.post(
            f"{hub}/preferences", form={"timezone": "Asia/Tokyo"}, headers={"X-CSRF-Token": csrf}
        ).ok

        with transaction(factory) as s:
            person = users.user_id_of(s, f"{role.value.replace('_', '-')}-person")
            own = {"Authorization": f"Bearer {users.create_token(s, 'own', user_id=person).token}"}
        for method, path, body in API_REFUSED[role]:
            answer = page.request.fetch(f"{hub}{_filled(path, ids)}", method=method, headers=own, data=body)
            assert answer.status == 403, (method, path, answer.status, answer.text()[:300])
        for path in API_LET_THROUGH[role]:
            assert page.request.get(f"{hub}{path}", headers=own).status == 200, path
        assert _hub_state(factory) == before  # nothing refused changed anything

        if role is Role.CUSTOMER_SERVICE:  # the refusal in the person's language
            page.goto("/orders")
            page.get_by_role("button", name="简体中文").click()
            expect(page.get_by_role("heading", level=1)).to_have_text("订单")
            answer = page.goto("/warehouse")
            assert answer is not None and answer.status == 403
            expect(page.get_by_role("heading", level=1)).to_have_text("您的角色无权访问")
            expect(page.get_by_role("alert")).to_contain_text("客服")
            _shot(page, "role-customer_service-refused-zh")
