"""Token auth: every /api/v1 route but the health check and the platforms' webhooks (signed by the
platform instead) needs a live token; tokens over HTTP."""

from __future__ import annotations

import re
import time

import pytest
from fastapi.testclient import TestClient

from orderly.api import create_app
from orderly.auth.gate import Throttle
from orderly.core.db import make_engine, make_session_factory

PROTECTED = [
    ("GET", "/api/v1/orders"),
    ("GET", "/api/v1/orders/1"),
    ("POST", "/api/v1/orders/ingest"),
    ("POST", "/api/v1/orders/1/cancel"),
    ("POST", "/api/v1/orders/1/release"),
    ("POST", "/api/v1/orders/1/approve"),
    ("POST", "/api/v1/orders/1/hold"),
    ("GET", "/api/v1/rejections"),
    ("POST", "/api/v1/rejections/1/replay"),
    ("POST", "/api/v1/rejections/1/discard"),
    ("GET", "/api/v1/stock/SKU-1"),
    ("POST", "/api/v1/stock/receive"),
    ("POST", "/api/v1/stock/adjust"),
    ("POST", "/api/v1/stock/count"),
    ("POST", "/api/v1/stock/safety"),
    ("POST", "/api/v1/stock/verify"),
    ("GET", "/api/v1/warehouses"),
    ("POST", "/api/v1/warehouses"),
    ("GET", "/api/v1/products"),
    ("POST", "/api/v1/products"),
    ("GET", "/api/v1/products/SKU-1"),
    ("POST", "/api/v1/bundles"),
    ("GET", "/api/v1/sku-mappings"),
    ("POST", "/api/v1/sku-mappings"),
    ("GET", "/api/v1/sku-mappings/1"),
    ("PATCH", "/api/v1/sku-mappings/1"),
    ("DELETE", "/api/v1/sku-mappings/1"),
    ("GET", "/api/v1/shops"),
    ("POST", "/api/v1/shops"),
    ("PATCH", "/api/v1/shops/web"),
    ("POST", "/api/v1/shops/web/sync"),
    ("GET", "/api/v1/jobs"),
    ("POST", "/api/v1/jobs/1/replay"),
    ("GET", "/api/v1/alerts"),
    ("GET", "/api/v1/inbox"),
    ("GET", "/api/v1/stock"),
    ("PATCH", "/api/v1/products/SKU-1"),
    ("DELETE", "/api/v1/products/SKU-1"),
    ("PATCH", "/api/v1/warehouses/web"),
    ("DELETE", "/api/v1/warehouses/web"),
    ("PATCH", "/api/v1/orders/1/address"),
    ("GET", "/api/v1/shops/web/backfills"),
    ("POST", "/api/v1/shops/web/backfills"),
    ("GET", "/api/v1/shops/web/backfills/1"),
    ("POST", "/api/v1/inbox/replay"),
    ("GET", "/api/v1/tokens"),
    ("POST", "/api/v1/tokens"),
    ("DELETE", "/api/v1/tokens/1"),
    ("GET", "/api/v1/review/rules"),
    ("GET", "/api/v1/review/rules/big"),
    ("PUT", "/api/v1/review/rules/big"),
    ("DELETE", "/api/v1/review/rules/big"),
    ("POST", "/api/v1/review/rules/big/enable"),
    ("POST", "/api/v1/review/rules/big/disable"),
    ("GET", "/api/v1/review/rules/big/versions"),
    ("GET", "/api/v1/review/settings"),
    ("PUT", "/api/v1/review/settings"),
    ("GET", "/api/v1/review/export"),
    ("POST", "/api/v1/review/import"),
    ("POST", "/api/v1/review/dry-run"),
    ("GET", "/api/v1/review/facts"),
    ("GET", "/api/v1/review/checks"),
    ("POST", "/api/v1/orders/1/shipments"),
    ("GET", "/api/v1/orders/1/shipments"),
    ("GET", "/api/v1/shipments/1"),
    ("POST", "/api/v1/shipments/1/ship"),
    ("POST", "/api/v1/shipments/1/void"),
    ("POST", "/api/v1/shipments/1/writeback"),
    ("GET", "/api/v1/shipments/1/label"),
    ("GET", "/api/v1/shipments/1/packing-slip"),
    ("POST", "/api/v1/labels/batch"),
]


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_no_token_is_401_with_a_bearer_challenge(anonymous: TestClient, method: str, path: str) -> None:
    # Auth is checked before the body, so an empty request is enough to prove it.
    response = anonymous.request(method, path)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert "Authorization: Bearer" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    "header",
    [
        "Bearer oly_not-a-real-token",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "oly_missing-scheme",
        "Bearer \u00e9\u00e8",
    ],
)
def test_a_bad_token_is_401(anonymous: TestClient, header: str) -> None:
    response = anonymous.get("/api/v1/orders", headers={"Authorization": header.encode("latin-1")})

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.json()["error"]["message"]


def test_a_token_revoked_over_the_api_is_401_at_once(client: TestClient, anonymous: TestClient) -> None:
    other = client.post("/api/v1/tokens", json={"name": "gone"}).json()
    headers = {"Authorization": f"Bearer {other['token']}"}
    assert anonymous.get("/api/v1/shops", headers=headers).status_code == 200
    assert client.delete(f"/api/v1/tokens/{other['id']}").status_code == 204

    response = anonymous.get("/api/v1/shops", headers=headers)

    assert response.status_code == 401
    assert response.json()["error"]["message"] == "the API token is not valid or has been revoked"


def test_health_needs_no_token_and_checks_the_database(anonymous: TestClient) -> None:
    response = anonymous.get("/api/v1/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_health_reports_a_database_that_does_not_answer() -> None:
    engine = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")  # nothing listens on port 1
    try:
        with TestClient(create_app(factory=make_session_factory(engine))) as client:
            response = client.get("/api/v1/health")
    finally:
        engine.dispose()

    assert response.status_code == 503
    assert response.json()["error"]["message"] == "the database does not answer"


def test_create_token_shows_the_secret_once_and_it_works(client: TestClient, anonymous: TestClient) -> None:
    created = client.post("/api/v1/tokens", json={"name": "  shop sync  "})

    assert created.status_code == 201
    body = created.json()
    assert body["name"] == "shop sync"
    assert body["token"].startswith("oly_")
    assert (
        anonymous.get("/api/v1/shops", headers={"Authorization": f"Bearer {body['token']}"}).status_code
        == 200
    )
    assert (body["role"], body["expires_at"]) == ("writer", None)  # no admin unless asked for
    listed = client.get("/api/v1/tokens").json()
    assert [(t["name"], t["role"]) for t in listed] == [("tester", "admin"), ("shop sync", "writer")]
    assert all("token" not in t and "token_hash" not in t for t in listed)
    assert body["token"] not in client.get("/api/v1/tokens").text
    assert listed[1]["prefix"] == body["token"][:10]


def test_token_usage_is_recorded(client: TestClient) -> None:
    client.get("/api/v1/shops")

    deadline = time.monotonic() + 10
    while (me := client.get("/api/v1/tokens").json()[0])["last_used_at"] is None:  # written in the background
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert me["last_used_at"].endswith("Z")


def test_revoke_token(client: TestClient, anonymous: TestClient) -> None:
    other = client.post("/api/v1/tokens", json={"name": "temp"}).json()

    response = client.delete(f"/api/v1/tokens/{other['id']}")

    assert response.status_code == 204
    assert response.content == b""
    revoked = [t for t in client.get("/api/v1/tokens").json() if t["id"] == other["id"]]
    assert revoked[0]["revoked_at"] is not None
    assert (
        anonymous.get("/api/v1/shops", headers={"Authorization": f"Bearer {other['token']}"}).status_code
        == 401
    )
    assert client.delete(f"/api/v1/tokens/{other['id']}").status_code == 204  # again: no change


def test_revoking_an_unknown_token_is_404(client: TestClient) -> None:
    response = client.delete("/api/v1/tokens/999")

    assert response.status_code == 404
    assert response.json() == {"error": {"message": "no token 999", "field": None}}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": 7}, "name"),
        ({"name": "x\x00"}, "name"),
        ({"name": "x", "admin": True}, "admin"),
        ({"name": "x", "scope": "root"}, "scope"),
        ({"name": "x", "expires_at": "2030-01-01T00:00:00"}, "expires_at"),  # no offset
        ({"name": "x", "expires_at": "2020-01-01T00:00:00Z"}, "expires_at"),  # past
    ],
)
def test_create_token_validates_its_body(client: TestClient, body: dict[str, object], field: str) -> None:
    response = client.post("/api/v1/tokens", json=body)

    assert response.status_code in {400, 422}
    assert response.json()["error"]["field"] == field


def test_every_route_but_health_and_the_signed_webhooks_refuses_a_caller_without_a_token(
    anonymous: TestClient,
) -> None:
    """Walks the whole API as the OpenAPI lists it, path parameters filled with any value: auth is
    checked before anything else, so each answers 401."""
    anonymous.app.state.tokens.throttle = Throttle(failures=10**6)  # it would stop the walk at 20
    spec = anonymous.app.openapi()  # type: ignore[attr-defined]  # /openapi.json is for those signed in
    open_to_all = {("GET", "/api/v1/health"), ("POST", "/api/v1/auth/sign-in")}
    walked = 0
    for path, operations in spec["paths"].items():
        concrete = re.sub(r"\{[^}]+\}", "1", path)
        for method in operations:
            if (method.upper(), path) in open_to_all or path.startswith("/api/v1/webhooks/"):
                continue
            response = anonymous.request(method.upper(), concrete)
            assert response.status_code == 401, (method, path, response.status_code)
            walked += 1
    assert walked > len(PROTECTED)
