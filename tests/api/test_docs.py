"""The API docs work without internet: every asset they load is served by the hub itself (to those
signed in: tests/auth/test_route_walk.py)."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

_REFERENCES = re.compile(r"""(?:src|href|spec-url)=["']([^"']+)["']|url:\s*'([^']+)'""")


@pytest.fixture
def docs(client: TestClient) -> TestClient:
    return client


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_load_nothing_from_outside(docs: TestClient, page: str) -> None:
    response = docs.get(page)

    assert response.status_code == 200
    html = response.text
    assert "http://" not in html
    assert "https://" not in html
    references = [a or b for a, b in _REFERENCES.findall(html)]
    assert references, "the page references no script or stylesheet"
    for reference in references:
        assert reference.startswith("/") and not reference.startswith("//"), f"{page} loads {reference}"
        asset = docs.get(reference)
        assert asset.status_code == 200, reference
        assert asset.content, reference


def test_swagger_ui_asks_no_outside_validator(docs: TestClient) -> None:
    assert '"validatorUrl": null' in docs.get("/docs").text
