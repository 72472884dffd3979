"""Error shapes shared by every endpoint, and the OpenAPI document."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from orderly import __version__


@pytest.mark.parametrize(
    ("body", "where", "reason"),
    [
        (b'{"sku": "SKU-1",', "line 1, column 17", "unexpected end of data"),
        (b'{\n  "sku": "SKU-1"\n  "warehouse": "WH-1"\n}', "line 3, column 3", ""),
        (b'{"sku": "SKU-1", "quantity": NaN}', "line 1, column 30", ""),
        (b'{"quantity": 1e999}', "line 1, column 14", "infinity"),
        (b'{"sku": "\\ud800"}', "", "surrogate"),
        (b'{"sku": "SKU-1",}', "", "trailing comma"),
        (b"\xff\xfe", "", "UTF-8"),
        (b"[" * 2000 + b"]" * 2000, "", "depth"),
    ],
)
def test_malformed_json_is_400_saying_where(client: TestClient, body: bytes, where: str, reason: str) -> None:
    response = client.post(
        "/api/v1/stock/receive", content=body, headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["field"] == "body"
    assert error["message"].startswith("the request body is not valid JSON: ")
    assert where in error["message"]
    assert reason in error["message"]


def test_malformed_json_is_400_for_ingest_too(client: TestClient) -> None:
    response = client.post(
        "/api/v1/orders/ingest", content=b'{"orders": [}', headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 400
    assert "not valid JSON" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("content", "content_type"),
    [(b"", "application/json"), (b"sku=SKU-1", "application/x-www-form-urlencoded")],
)
def test_a_missing_or_non_json_body_is_422_on_body(
    client: TestClient, content: bytes, content_type: str
) -> None:
    response = client.post("/api/v1/stock/receive", content=content, headers={"Content-Type": content_type})

    assert response.status_code == 422
    assert response.json()["error"]["field"] == "body"


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/v1/products/A%00B", "sku"),
        ("/api/v1/stock/A%00B", "sku"),
        ("/api/v1/sku-mappings?shop=a%00", "shop"),
        ("/api/v1/orders?shop=a%00", "shop"),
        ("/api/v1/orders?sku=a%00", "sku"),
    ],
)
def test_nul_in_a_path_or_query_is_422(client: TestClient, path: str, field: str) -> None:
    # PostgreSQL refuses NUL even in a comparison, so it must not reach a query.
    response = client.get(path)

    assert response.status_code == 422
    assert response.json()["error"] == {
        "message": f"{field}: must not contain NUL (U+0000) characters",
        "field": field,
        "fields": [{"field": field, "message": "must not contain NUL (U+0000) characters"}],
    }


def test_unknown_route_and_wrong_method_use_the_error_shape(client: TestClient) -> None:
    missing = client.get("/api/v1/nothing-here")
    wrong_method = client.put("/api/v1/shops", json={})

    assert missing.status_code == 404
    assert missing.json() == {"error": {"message": "Not Found", "field": None}}
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["message"] == "Method Not Allowed"
    assert "GET" in wrong_method.headers["Allow"]


def test_openapi_documents_every_shape(client: TestClient) -> None:
    response = client.get("/openapi.json")

    assert response.status_code == 200
    spec = response.json()
    assert (spec["info"]["title"], spec["info"]["version"]) == ("Orderly", __version__)
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    error = {"$ref": "#/components/schemas/ErrorOut"}
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            success = next(code for code in responses if code.startswith("2"))
            # A PDF or a CSV file has no model to refer to.
            files = {"application/pdf", "text/csv"}
            if success != "204" and not files & set(responses[success]["content"]):
                assert "$ref" in str(responses[success]["content"]), (method, path)
            failures = [code for code in responses if code[0] in "45"]
            assert failures, (method, path)
            for code in failures:
                assert responses[code]["content"]["application/json"]["schema"] == error, (method, path, code)
            if path != "/api/v1/health":
                assert {"401", "422"} <= set(responses), (method, path)
    order = spec["components"]["schemas"]["OrderDetailOut"]["properties"]
    assert {"lines", "events", "holds", "total", "currency"} <= set(order)
    assert "HTTPValidationError" not in spec["components"]["schemas"]  # our error shape replaces it


def test_docs_page_is_served(client: TestClient) -> None:
    response = client.get("/docs")

    assert response.status_code == 200
    assert "/openapi.json" in response.text


def test_created_routes_answer_201(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()

    created = sorted(
        path for path, ops in spec["paths"].items() if "201" in ops.get("post", {}).get("responses", {})
    )

    assert created == [
        "/api/v1/bundles",
        "/api/v1/carrier-accounts",
        "/api/v1/orders/{order_id}/shipments",
        "/api/v1/products",
        "/api/v1/shops",
        "/api/v1/sku-mappings",
        "/api/v1/tokens",
        "/api/v1/transfers",
        "/api/v1/users",
        "/api/v1/warehouses",
    ]


def test_the_spec_describes_the_normalized_order_that_ingest_takes(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]

    assert schemas["IngestRequest"]["properties"]["orders"]["items"] == {
        "$ref": "#/components/schemas/NormalizedOrder"
    }
    order = schemas["NormalizedOrder"]
    # An order without an address is still taken in (held for it): the address is not required.
    assert {"shop", "external_id", "placed_at", "updated_at", "currency", "lines"} <= set(order["required"])
    assert "shipping_address" not in order["required"]
    line_ref = order["properties"]["lines"]["items"]["$ref"]
    assert line_ref.rsplit("/", 1)[1] in schemas
