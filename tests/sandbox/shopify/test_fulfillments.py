"""The sandbox's fulfillment orders and fulfillments against the contract: an order split across
locations has a fulfillment order per location in the published shape; a fulfillment covers one
location's, never a fulfillment service's; refusals come in Shopify's error shape; a lost answer
leaves the fulfillment made, readable from the scripting API."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from orderly.sandbox.faults import Drops
from orderly.sandbox.serve import serving
from orderly.sandbox.shopify import ShopifyStore, create_app
from tests.sandbox.shopify.helpers import TOKEN, sample

ADMIN = "/admin/api/2024-01"


@pytest.fixture
def split(store: ShopifyStore) -> dict[str, Any]:
    """An order whose lines ship from three locations: the shop's, an overseas warehouse, a 3PL's."""
    overseas = store.add_location("Overseas", "DE")["id"]
    third = store.add_location("Shipwire", "US", fulfillment_service="shipwire")["id"]
    store.add_product({"title": "Mug", "variants": [{"sku": "MUG", "available": 5, "location_id": overseas}]})
    store.add_product({"title": "Cap", "variants": [{"sku": "CAP", "available": 5, "location_id": third}]})
    order = store.place_order({"lines": [{"sku": "SHIRT-S", "quantity": 2}, {"sku": "MUG"}, {"sku": "CAP"}]})
    return {"order": order, "overseas": overseas, "third": third}


def _listed(api: httpx.Client, order_id: int) -> dict[int, dict[str, Any]]:
    answer = api.get(f"{ADMIN}/orders/{order_id}/fulfillment_orders.json")
    assert answer.status_code == 200
    return {fo["assigned_location_id"]: fo for fo in answer.json()["fulfillment_orders"]}


def _fulfil(api: httpx.Client, *groups: dict[str, Any], number: str = "1Z1") -> httpx.Response:
    body = {
        "fulfillment": {
            "notify_customer": False,
            "tracking_info": {"number": number, "company": "UPS"},
            "line_items_by_fulfillment_order": list(groups),
        }
    }
    return api.post(f"{ADMIN}/fulfillments.json", json=body)


def test_an_order_split_across_locations_has_a_fulfillment_order_for_each(
    store: ShopifyStore, api: httpx.Client, split: dict[str, Any]
) -> None:
    listed = _listed(api, split["order"]["id"])
    assert set(listed) == {store.location_id, split["overseas"], split["third"]}
    published = sample("fulfillment_orders_list_response.json")["fulfillment_orders"][0]
    for fo in listed.values():
        assert set(fo) == set(published) and set(fo["line_items"][0]) == set(published["line_items"][0])
    assert [line["quantity"] for line in listed[store.location_id]["line_items"]] == [2]
    ours, theirs = listed[store.location_id], listed[split["third"]]
    assert (ours["request_status"], "create_fulfillment" in ours["supported_actions"]) == (
        "unsubmitted",
        True,
    )
    # As in the published sample (assigned to Shipwire): submitted to it; the merchant may only cancel.
    assert (theirs["request_status"], theirs["supported_actions"]) == (
        "submitted",
        published["supported_actions"],
    )


def test_fulfillments_are_refused_as_shopify_refuses_them(
    store: ShopifyStore, api: httpx.Client, split: dict[str, Any]
) -> None:
    listed = _listed(api, split["order"]["id"])
    ours, overseas, theirs = (listed[k] for k in (store.location_id, split["overseas"], split["third"]))
    line = ours["line_items"][0]

    def refused(answer: httpx.Response, status: int, words: str) -> None:
        assert answer.status_code == status, answer.text
        assert words in str(answer.json()["errors"])

    refused(_fulfil(api, {"fulfillment_order_id": ours["id"]}, {"fulfillment_order_id": overseas["id"]}),
            422, "one location")  # fmt: skip
    refused(_fulfil(api, {"fulfillment_order_id": theirs["id"]}), 422, "assigned to shipwire")
    refused(_fulfil(api, {"fulfillment_order_id": 1}), 404, "Not Found")
    too_many = {
        "fulfillment_order_id": ours["id"],
        "fulfillment_order_line_items": [{"id": line["id"], "quantity": 3}],
    }
    refused(_fulfil(api, too_many), 422, "invalid line or quantity")
    refused(api.post(f"{ADMIN}/fulfillments.json", json={"fulfillment": {}}), 400, "Required parameter")
    retrack = {"fulfillment": {"tracking_info": {}}}
    refused(api.post(f"{ADMIN}/fulfillments/1/update_tracking.json", json=retrack), 404, "Not Found")
    assert store.fulfillments(split["order"]["id"]) == []  # nothing of the refused requests was kept

    assert _fulfil(api, {"fulfillment_order_id": ours["id"]}).status_code == 201
    assert _fulfil(api, {"fulfillment_order_id": overseas["id"]}).status_code == 201
    refused(_fulfil(api, {"fulfillment_order_id": ours["id"]}), 422, "is closed")  # already fulfilled
    assert store.order(split["order"]["id"])["fulfillment_status"] == "partial"  # the 3PL's line is left
    unauthorised = api.post(f"{ADMIN}/fulfillments.json", json={}, headers={"X-Shopify-Access-Token": "no"})
    assert unauthorised.status_code == 401


def test_a_lost_answer_leaves_the_fulfillment_made_for_the_client_to_find(store: ShopifyStore) -> None:
    order = store.place_order({"lines": [{"sku": "SHIRT-S"}]})
    drops = Drops(create_app(store))
    with serving(drops) as url, httpx.Client(base_url=url, headers={"X-Shopify-Access-Token": TOKEN}) as api:
        [fo] = _listed(api, order["id"]).values()
        drops.set(1.0, seed=0)  # seed 0: the first draw drops the answer after the sandbox acted
        with pytest.raises(httpx.HTTPError):
            _fulfil(api, {"fulfillment_order_id": fo["id"]}, number="LOST1")
        drops.set(0.0)
        shown = api.get(f"{ADMIN}/orders/{order['id']}.json").json()["order"]["fulfillments"]
        scripted = httpx.get(f"{url}/_sandbox/fulfillments", params={"order_id": order["id"]}).json()
    assert [f["tracking_number"] for f in shown] == [f["tracking_number"] for f in scripted] == ["LOST1"]
