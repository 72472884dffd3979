"""Ids and other integers past what a BIGINT holds (2**63 and beyond, past 64 bits too) in paths, query
parameters and bodies are refused with 422 naming them: once some answered 500, and a body's integer
past 64 bits was read as a float."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import setup_catalog

BIG = [2**63, 2**64, 2**70]


def _is_integer(parameter: dict[str, Any]) -> bool:
    schema = parameter.get("schema", {})
    return "integer" in {schema.get("type"), *(s.get("type") for s in schema.get("anyOf", []))}


def _integer_parameters(spec: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(method, where, name, url) of every integer path or query parameter in the published OpenAPI;
    the url has the big-number place left as ``{name}`` and every other path parameter filled validly."""
    found = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            parameters = operation.get("parameters", [])
            others = {p["name"]: "1" if _is_integer(p) else "shop-a" for p in parameters if p["in"] == "path"}
            for parameter in filter(_is_integer, parameters):
                name = parameter["name"]
                url = path
                for other, value in others.items():
                    if other != name:
                        url = url.replace(f"{{{other}}}", value)
                found.append((method.upper(), parameter["in"], name, url))
    return found


def test_an_integer_parameter_past_a_bigint_is_422_naming_it(app: FastAPI, client: TestClient) -> None:
    wrong = []
    for method, where, name, template in _integer_parameters(app.openapi()):
        for number in BIG:
            params = {name: number} if where == "query" else {}
            url = template.replace(f"{{{name}}}", str(number))

            response = client.request(method, url, params=params, json={})

            if response.status_code != 422 or response.json()["error"]["field"] != name:
                wrong.append(f"{method} {url} {params}: {response.status_code} {response.text[:200]}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/inbox/replay", {"entry_ids": [1, "{n}"]}, "entry_ids[1]"),
        ("/api/v1/stock/receive", {"sku": "SKU-1", "warehouse": "WH-1", "quantity": "{n}"}, "quantity"),
        ("/api/v1/products", {"sku": "BIG", "name": "Big", "weight_g": "{n}"}, "weight_g"),
    ],
)
def test_an_integer_in_a_body_past_a_bigint_is_422_naming_it(
    client: TestClient, factory: sessionmaker[Session], path: str, body: dict[str, Any], field: str
) -> None:
    setup_catalog(factory)
    for number in BIG:
        # Sent as written, so the number reaches the hub as digits, not as what a client makes of it.
        content = str(body).replace("'", '"').replace('"{n}"', str(number))

        response = client.post(path, content=content, headers={"Content-Type": "application/json"})

        assert response.status_code == 422, response.text
        assert response.json()["error"]["field"] == field
        assert "less than or equal to" in response.json()["error"]["message"]
