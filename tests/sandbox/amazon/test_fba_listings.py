"""Listings Amazon fulfils from its own stock (FBA): a seller quantity sent for one turns it into a
seller-fulfilled offer, so the sandbox shows whether any was sent."""

from __future__ import annotations

import httpx

from orderly.channels.amazon import mapper
from orderly.sandbox.amazon import AmazonStore
from tests.sandbox.amazon.test_sandbox import MARKETPLACE, auth


def test_an_fba_listing_patched_with_a_seller_quantity_leaves_fba(
    http: httpx.Client, store: AmazonStore
) -> None:
    created = http.post("/_sandbox/listings", json={"sku": "FBA-1", "fulfillment_channel": "AMAZON_NA"})
    assert created.status_code == 201
    assert (created.json()["fulfillment_channel"], created.json()["patches"]) == ("AMAZON_NA", 0)
    assert http.post("/_sandbox/listings", json={"sku": "X", "fulfillment_channel": "FBA"}).status_code == 422

    path = f"/listings/2021-08-01/items/{store.seller_id}/FBA-1"
    answer = http.patch(
        path, params={"marketplaceIds": MARKETPLACE}, json=mapper.patch_quantity(3), headers=auth(http, store)
    )
    assert answer.json()["status"] == "ACCEPTED"
    [listing] = store.listings()
    assert (listing["fulfillment_channel"], listing["quantity"], listing["patches"]) == ("DEFAULT", 3, 1)
