"""Whatever JSON arrives, the API answers with a status below 500."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import order, setup_catalog

# NUL and integers past 64 bits are in: both once reached the database (test_hostile_input.py).
_text = st.text(st.characters(codec="utf-8"), max_size=12)
_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _text
)
json_values = st.recursive(
    _scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_text, children, max_size=4),
    max_leaves=12,
)


def _near(valid: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """A valid object with some of its fields (or new ones) replaced by arbitrary JSON values."""
    keys = st.sampled_from(sorted(valid)) | _text
    return st.dictionaries(keys, json_values, max_size=3).map(lambda changes: {**valid, **changes})


# Versions of a few orders, so the fuzz also reaches updates, stale versions and bundle lines.
_orders = [order(("SKU-1", 1), ("KIT-1", 1), external_id=f"FUZZ-{n % 3}", updated=n) for n in range(6)]
_near_order = st.sampled_from(_orders).flatmap(_near)
_near_line = st.sampled_from(_orders).flatmap(
    lambda o: _near(o["lines"][0]).map(lambda ln: {**o, "lines": [ln]})
)
_junk = json_values | st.binary(max_size=40)
# Half the bodies are batches of near-valid orders, the rest anything at all.
ingest_bodies = (
    st.fixed_dictionaries(
        {"orders": st.lists(_near_order | _near_line | json_values, min_size=1, max_size=3)}
    )
    | _junk
)
receive_bodies = _near({"sku": "SKU-1", "warehouse": "WH-1", "quantity": 1}) | _junk

_fuzz = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _post(client: TestClient, path: str, body: Any) -> int:
    if isinstance(body, bytes):
        response = client.post(path, content=body, headers={"Content-Type": "application/json"})
    else:
        response = client.post(path, json=body)
    return response.status_code


@_fuzz
@given(body=ingest_bodies)
def test_ingest_never_answers_5xx(client: TestClient, factory: sessionmaker[Session], body: Any) -> None:
    if not client.get("/api/v1/shops").json():
        setup_catalog(factory, {"SKU-1": 100, "SKU-2": 100})

    status = _post(client, "/api/v1/orders/ingest", body)

    assert status < 500
    assert status in {200, 400, 422}


@_fuzz
@given(body=receive_bodies)
def test_stock_receive_never_answers_5xx(
    client: TestClient, factory: sessionmaker[Session], body: Any
) -> None:
    if not client.get("/api/v1/shops").json():
        setup_catalog(factory)

    status = _post(client, "/api/v1/stock/receive", body)

    assert status < 500
    assert status in {200, 400, 404, 422}
