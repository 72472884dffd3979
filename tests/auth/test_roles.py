"""Each role through the API with its own token: a representative call of every area is let through
(whatever the answer then: 404, 422...) or refused with 403, as the permission table says."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.routing import Match

from orderly.auth.domain import ROLE_PERMISSIONS, Role
from orderly.core.web import declared_permission
from tests.auth.test_route_walk import api_routes

CALLS: list[tuple[str, str, Any, str]] = [
    ("GET", "/api/v1/orders", None, "orders:read"),
    ("POST", "/api/v1/orders/ingest", {"orders": []}, "orders:write"),
    ("POST", "/api/v1/orders/1/route", None, "orders:write"),
    ("POST", "/api/v1/orders/1/hold", {"note": "check"}, "holds:write"),
    ("POST", "/api/v1/orders/1/release", {"note": "ok"}, "holds:write"),
    ("POST", "/api/v1/orders/1/approve", {"note": "ok"}, "holds:write"),
    ("PATCH", "/api/v1/orders/1/address", {"city": "Berlin"}, "addresses:write"),
    ("POST", "/api/v1/orders/1/cancel", {"reason": "asked"}, "cancels:write"),
    ("GET", "/api/v1/review/rules", None, "rules:read"),
    ("PUT", "/api/v1/review/settings", {}, "rules:write"),
    ("GET", "/api/v1/routing/rules", None, "rules:read"),
    ("GET", "/api/v1/stock", None, "stock:read"),
    ("POST", "/api/v1/stock/receive", {"sku": "X", "warehouse": "W", "quantity": 1}, "stock:write"),
    ("POST", "/api/v1/transfers", {}, "stock:write"),
    ("GET", "/api/v1/shipments/1", None, "fulfilment:read"),
    ("POST", "/api/v1/shipments/1/pick", {}, "fulfilment:write"),
    ("POST", "/api/v1/pack/scans", {}, "fulfilment:write"),
    ("POST", "/api/v1/shipments/1/label", {}, "fulfilment:write"),
    ("POST", "/api/v1/shipments/1/label/outcome", {}, "fulfilment:write"),
    ("GET", "/api/v1/products", None, "catalog:read"),
    ("POST", "/api/v1/products", {}, "catalog:write"),
    ("POST", "/api/v1/warehouses", {}, "catalog:write"),
    ("GET", "/api/v1/shops", None, "shops:read"),
    ("POST", "/api/v1/shops/web/sync", None, "shops:write"),
    ("POST", "/api/v1/shops", {}, "shops:admin"),
    ("GET", "/api/v1/carrier-accounts", None, "carriers:read"),
    ("POST", "/api/v1/carrier-accounts", {}, "carriers:admin"),
    ("GET", "/api/v1/jobs", None, "jobs:read"),
    ("POST", "/api/v1/jobs/1/replay", None, "jobs:write"),
    ("GET", "/api/v1/alerts", None, "alerts:read"),
    ("GET", "/api/v1/imports/runs", None, "imports:read"),
    ("PUT", "/api/v1/imports/profiles/amazon", {}, "imports:write"),
    ("GET", "/api/v1/tokens", None, "tokens:admin"),
    ("GET", "/api/v1/users", None, "users:admin"),
    ("GET", "/api/v1/audit", None, "audit:read"),
    ("GET", "/api/v1/auth/me", None, "account:read"),
]


def test_each_call_is_the_permission_its_route_declares(app: FastAPI) -> None:
    routes = list(api_routes(app.routes))
    for method, path, _, permission in CALLS:
        scope = {"type": "http", "method": method, "path": path.removeprefix("/api/v1"), "root_path": ""}
        (route,) = [
            r for full, r in routes if full.startswith("/api/v1") and r.matches(scope)[0] == Match.FULL
        ]
        assert declared_permission(route) == permission, (method, path)


@pytest.mark.parametrize("role", list(Role))
def test_each_role_is_let_through_or_refused_as_the_table_says(
    anonymous: TestClient, token_of: Callable[[Role], dict[str, str]], role: Role
) -> None:
    headers = token_of(role)
    held = ROLE_PERMISSIONS[role]
    wrong = []
    for method, path, body, permission in CALLS:
        response = anonymous.request(method, path, json=body, headers=headers)
        refused = response.status_code == 403
        if refused == (permission in held) or response.status_code == 401:
            wrong.append((method, path, response.status_code, response.text[:200]))
        if refused:
            assert permission in response.json()["error"]["message"]
    assert wrong == []
