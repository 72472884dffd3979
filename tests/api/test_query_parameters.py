"""Every route refuses query parameters it does not take: a misspelt filter must not list everything."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from orderly.api import create_app
from orderly.core.db import make_engine, make_session_factory


def _routes() -> list[tuple[str, str]]:
    """Every API route and method, from the published OpenAPI, with each path parameter filled in."""
    # Only read for its routes: the engine never connects.
    spec = create_app(factory=make_session_factory(make_engine("sqlite://")), workers=0).openapi()
    return [
        (method.upper(), re.sub(r"\{[^}]*\}", "1", path))
        for path, operations in spec["paths"].items()
        for method in operations
    ]


@pytest.mark.parametrize(("method", "path"), _routes())
def test_an_unknown_query_parameter_is_422_naming_it(client: TestClient, method: str, path: str) -> None:
    response = client.request(method, path, params={"stauts": "open"}, json={})

    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["field"] == "stauts"
    assert error["message"].startswith("stauts: unknown query parameter; this route takes")


def test_the_message_lists_what_the_route_takes(client: TestClient) -> None:
    response = client.get("/api/v1/orders", params={"stauts": "open"})

    assert "status" in response.json()["error"]["message"]
    assert "limit" in response.json()["error"]["message"]


def test_known_parameters_still_filter(client: TestClient) -> None:
    response = client.get("/api/v1/orders", params={"status": "approved", "limit": 5})

    assert response.status_code == 200
    assert response.json()["items"] == []
