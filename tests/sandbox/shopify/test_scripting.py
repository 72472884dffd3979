"""Driving the sandbox from another process over ``/_sandbox``, and its Python scripting rules."""

from __future__ import annotations

import httpx
import pytest
from pydantic import ValidationError

from orderly.sandbox.shopify import ApiError, ShopifyStore
from tests.sandbox.shopify.helpers import SECRET, Receiver, place


def test_a_script_builds_a_shop_and_plays_buyer_and_merchant_over_http(
    store: ShopifyStore, api: httpx.Client
) -> None:
    shop = api.get("/_sandbox/shop").json()
    assert shop["location_id"] == store.location_id and shop["api_version"] == "2024-01"
    assert shop["client_secret"] == store.client_secret  # what verifies webhooks.json deliveries

    product = api.post(
        "/_sandbox/products",
        json={"title": "Mug", "variants": [{"sku": "MUG", "price": "12.00", "available": 3}]},
    )
    assert product.status_code == 201
    mug = product.json()["variants"][0]
    assert mug["sku"] == "MUG" and mug["inventory_item_id"] > 2**53

    placed = api.post(
        "/_sandbox/orders",
        json={
            "lines": [{"variant_id": mug["id"], "quantity": 2}],
            "financial_status": "pending",
            "shipping_address": {
                "address1": "1 Rue de Rivoli",
                "city": "Paris",
                "zip": "75001",
                "country_code": "FR",
            },
        },
    )
    assert placed.status_code == 201
    order = placed.json()
    assert (order["total_price"], order["financial_status"]) == ("24.00", "pending")
    assert order["shipping_address"]["country"] == "France"

    paid = api.post(f"/_sandbox/orders/{order['id']}/pay").json()
    assert paid["financial_status"] == "paid"
    changed = api.patch(
        f"/_sandbox/orders/{order['id']}", json={"note": "gift", "tags": ["b2b", "rush"]}
    ).json()
    assert (changed["note"], changed["tags"]) == ("gift", "b2b, rush")
    cancelled = api.post(f"/_sandbox/orders/{order['id']}/cancel", json={"reason": "inventory"}).json()
    assert (cancelled["cancel_reason"], cancelled["financial_status"]) == ("inventory", "refunded")
    assert api.get(f"/_sandbox/orders/{order['id']}").json() == cancelled
    assert [o["id"] for o in api.get("/_sandbox/orders").json()] == [order["id"]]

    levels = {lv["sku"]: lv["available"] for lv in api.get("/_sandbox/inventory_levels").json()}
    assert levels["MUG"] == 3  # sold 2, put back by the cancel
    assert api.get("/_sandbox/fulfillments").json() == []

    refused = api.post("/_sandbox/orders", json={"lines": [{"sku": "NOPE"}]})
    assert refused.status_code == 422 and "line_items" in refused.json()["errors"]
    invalid = api.post("/_sandbox/orders", json={"lines": []})
    assert invalid.status_code == 400 and "lines" in invalid.json()["errors"]


def test_faults_webhooks_and_stats_over_http(store: ShopifyStore, api: httpx.Client) -> None:
    assert api.get("/_sandbox/faults").json()["rate_limited"] == 0
    set_faults = api.put("/_sandbox/faults", json={"seed": 5, "server_error": 1.0})
    assert set_faults.json()["server_error"] == 1.0 and store.faults.seed == 5
    assert api.get("/admin/api/2024-01/locations.json").status_code == 500
    assert api.put("/_sandbox/faults", json={"rate_limited": 0.7, "slow": 0.7}).status_code == 400
    api.put("/_sandbox/faults", json={})
    assert store.stats()["injected_500"] == 1 and api.get("/_sandbox/stats").json() == store.stats()

    receiver = Receiver()
    with receiver.running() as url:
        assert api.put("/_sandbox/webhook", json={"url": url, "secret": SECRET}).status_code == 204
        place(store)
        assert api.post("/_sandbox/webhooks/wait", params={"timeout": 5}).json() == {"done": True}
        assert [d["topic"] for d in api.get("/_sandbox/webhooks").json()] == ["orders/create"]
        assert api.delete("/_sandbox/webhook").status_code == 204
        place(store)
        assert store.wait_for_webhooks(5)
    assert len(receiver.deliveries) == 1


def test_scripted_changes_follow_shopifys_rules(store: ShopifyStore) -> None:
    order = place(store)
    with pytest.raises(ApiError) as paid_twice:
        store.pay(order["id"])
    assert paid_twice.value.status == 422
    with pytest.raises(ValidationError):
        store.place_order({"lines": [{"quantity": 1}]})  # names no variant
    with pytest.raises(ApiError):
        store.place_order({"lines": [{"sku": "SHIRT-S"}], "discount": "100.00"})
    store.cancel(order["id"])
    with pytest.raises(ApiError):
        store.cancel(order["id"])
    with pytest.raises(ApiError) as missing:
        store.order(1)
    assert missing.value.status == 404
    moved = store.update_order(
        place(store)["id"],
        {
            "shipping_address": {
                "first_name": "Ann",
                "address1": "2 Elm St",
                "city": "Boston",
                "country_code": "US",
            }
        },
    )
    assert moved["shipping_address"]["name"] == "Ann" and moved["shipping_address"]["city"] == "Boston"


def test_it_runs_on_its_own(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from orderly.sandbox import serve
    from orderly.sandbox.shopify import __main__ as entry

    served: list[tuple[object, int]] = []
    monkeypatch.setattr(serve.uvicorn, "run", lambda app, host, port, log_level: served.append((app, port)))
    entry.main(["--port", "8299", "--access-token", "tok", "--fast"])

    assert [port for _, port in served] == [8299]
    printed = capsys.readouterr().out
    assert printed.startswith("access_token=tok location_id=")
