"""The TikTok Shop connector against the sandbox, over real HTTP: signing, tokens, paging, faults,
stock with partial errors, and packages shipped with TikTok's logistics or the seller's carrier."""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from pydantic import TypeAdapter

from orderly.channels.connector import (
    AuthFailed,
    ChannelError,
    Parcel,
    ParcelLine,
    RateLimited,
    Rejected,
    StockPush,
)
from orderly.channels.registry import connector_class
from orderly.channels.tiktok_shop import TikTokShopConnector, client
from orderly.orders.schemas import NormalizedOrder
from orderly.sandbox.tiktok_shop import Faults, Line, TikTokShopStore
from tests.channels.tiktok_shop.conftest import Connect
from tests.channels.tiktok_shop.samples import sample

NORMALIZED: TypeAdapter[NormalizedOrder] = TypeAdapter(NormalizedOrder)


def window(store: TikTokShopStore) -> tuple[datetime, datetime]:
    now = datetime.fromtimestamp(store.now(), UTC)
    return now - timedelta(hours=1), now + timedelta(seconds=2)


def every_page(connector: TikTokShopConnector, after: datetime, before: datetime) -> tuple[list[str], int]:
    ids, pages, cursor = [], 0, None
    while True:
        page = connector.fetch_orders(after, before, cursor)
        ids += [raw.external_id for raw in page.orders]
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            return ids, pages


def test_registered_as_a_plugin() -> None:
    assert connector_class("tiktok_shop") is TikTokShopConnector
    assert TikTokShopConnector.webhooks and TikTokShopConnector.webhook_polls
    assert TikTokShopConnector.PLATFORM_LOGISTICS and TikTokShopConnector.writes_back
    assert TikTokShopConnector.required_settings == ("shop_cipher",)


def test_orders_page_by_page_token_within_the_update_window(store: TikTokShopStore, connect: Connect) -> None:
    store.add_sku("MUG-1", price="45000", stock=100)
    placed = [store.place_order([Line("MUG-1", 1 + n % 2)])["id"] for n in range(7)]
    store.advance(7200)
    later = store.place_order([Line("MUG-1", 1)])["id"]
    connector = connect(page_size=3)
    ids, pages = every_page(connector, *window(store))
    assert (sorted(ids), pages) == ([later], 1)  # the first seven were updated two hours before
    after = datetime.fromtimestamp(store.now() - 3 * 3600, UTC)
    ids, pages = every_page(connector, after, datetime.fromtimestamp(store.now() + 1, UTC))
    assert (sorted(ids), pages) == (sorted([*placed, later]), 3)
    raw = connector.fetch_order(placed[0])
    assert raw is not None and raw.external_id == placed[0]
    order = NORMALIZED.validate_python(connector.map_order(raw))
    assert (order["shop"], order["lines"][0]["quantity"], order["total"]) == ("tiktok", 1, 5500000)
    assert connector.fetch_order("576461413038000001") is None
    assert connector.fetch_order("not-an-id") is None


def test_returns_come_beside_their_orders_and_a_return_changed_alone_brings_its_order(
    store: TikTokShopStore, connect: Connect
) -> None:
    store.add_sku("MUG-1", price="45000", stock=100)
    delivered = store.place_order([Line("MUG-1", 2)])["id"]
    store.ship_outside(delivered)
    store.deliver(delivered)
    waiting = store.place_order([Line("MUG-1", 1)])["id"]
    first = store.order(delivered)["line_items"][0]["id"]
    back = store.return_items(delivered, [first], status="BUYER_SHIPPED_ITEM")
    connector = connect()
    page = connector.fetch_orders(*window(store), None)
    raws = {raw.external_id: raw for raw in page.orders}
    assert [entry["return_id"] for entry in raws[delivered].body["return_orders"]] == [back]
    assert "return_orders" not in raws[waiting].body  # not shipped: no return asked for
    assert connector.map_order(raws[delivered])["lines"][0]["returned"] == 0  # on its way back
    # Two hours on, the order itself untouched, the seller takes the package in: the window of that
    # change brings the order (read by id), a later version, one unit back.
    store.advance(7200)
    store.move_return(back, "RETURN_OR_REFUND_REQUEST_COMPLETE")
    details = store.calls.get("order_detail", 0)
    (raw,) = connector.fetch_orders(*window(store), None).orders
    assert raw.external_id == delivered and raw.version > raws[delivered].version
    assert store.calls["order_detail"] == details + 1
    order = NORMALIZED.validate_python(connector.map_order(raw))
    assert (order["lines"][0]["shipped"], order["lines"][0]["returned"]) == (2, 1)
    fetched = connector.fetch_order(delivered)
    assert fetched is not None and fetched.version == raw.version


def test_a_wrong_secret_gets_the_live_invalid_sign_answer(store: TikTokShopStore, connect: Connect) -> None:
    connector = connect(app_secret="not-the-secret")
    with pytest.raises(AuthFailed) as failed:
        connector.fetch_orders(*window(store), None)
    assert failed.value.status == 401
    live = sample("error_invalid_sign_106001_live.json")
    assert "code 106001" in str(failed.value) and live["message"][:60] in str(failed.value)
    assert store.rejected_signs == 1


def test_an_expired_token_is_refreshed_once_and_kept(store: TikTokShopStore, connect: Connect) -> None:
    kept: list[Mapping[str, str]] = []
    connector = connect()
    connector.keep_credentials = kept.append
    store.expire_tokens()
    connector.fetch_orders(*window(store), None)  # 105002, a refresh, the call again
    assert store.tokens_issued == 2 and store.calls["orders"] == 2
    (fresh,) = kept
    assert fresh["access_token"] == store.access_token and fresh["refresh_token"] == store.refresh_token
    assert int(fresh["access_token_expire_in"]) > store.now()
    # A second connector built with the spent refresh token takes the process's newer tokens.
    again = connect()
    again.fetch_orders(*window(store), None)
    assert store.tokens_issued == 2


def test_a_token_about_to_expire_is_refreshed_before_it_is_used(
    store: TikTokShopStore, connect: Connect
) -> None:
    kept: list[Mapping[str, str]] = []
    connector = connect(access_token_expire_in=str(store.now() + 60))
    connector.keep_credentials = kept.append
    connector.fetch_orders(*window(store), None)
    assert store.tokens_issued == 2 and store.calls["orders"] == 1 and len(kept) == 1


def test_a_refused_refresh_is_tried_again_with_the_stored_tokens(
    store: TikTokShopStore, connect: Connect
) -> None:
    """Another process may have spent the refresh token first: the job's next try reads the shop's
    stored tokens; one that keeps failing dies, for a person."""
    store.expire_tokens()
    with pytest.raises(ChannelError, match="authorised again") as refused:
        connect(refresh_token="ROW_spent").fetch_orders(*window(store), None)
    assert refused.value.retryable and not isinstance(refused.value, AuthFailed)
    with pytest.raises(AuthFailed, match="authorise the shop again"):
        connect().authorize("ROW_not_a_code")


def test_throttling_retries_in_place_then_names_the_operation(
    store: TikTokShopStore, connect: Connect, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(client, "DEFAULT_RETRY_AFTER", 0.01)
    store.set_faults(Faults(throttle=1.0))
    with pytest.raises(RateLimited) as throttled:
        connect().fetch_orders(*window(store), None)
    assert throttled.value.operation == "orders" and throttled.value.status == 429
    store.configure(rate=0.001, burst=2)  # one first page (orders, returns), then the budget is spent
    store.clear_faults()
    connector = connect()
    connector.fetch_orders(*window(store), None)
    with pytest.raises(RateLimited):
        connector.fetch_orders(*window(store), None)


def test_server_errors_are_retried_in_place(store: TikTokShopStore, connect: Connect) -> None:
    store.set_faults(Faults(error=0.3, seed=4))
    for _ in range(3):
        connect().fetch_orders(*window(store), None)  # every call got through in its tries
    store.set_faults(Faults(error=1.0))
    with pytest.raises(ChannelError) as failed:
        connect().fetch_orders(*window(store), None)
    assert failed.value.status == 500 and failed.value.retryable


def test_a_slow_answer_times_out_as_a_retryable_failure(
    store: TikTokShopStore, connect: Connect, base_url: str
) -> None:
    store.set_faults(Faults(delay=1.0, delay_seconds=1.0))
    with (
        httpx.Client(base_url=base_url, timeout=0.2) as impatient,
        pytest.raises(ChannelError, match="timed out") as failed,
    ):
        connect(http_client=impatient).fetch_orders(*window(store), None)
    assert failed.value.retryable


def push(store: TikTokShopStore, sku: str, quantity: int, **more: object) -> StockPush:
    found = store.sku(sku)
    return StockPush(found.id, sku, quantity, more.pop("binding", {}), **more)  # type: ignore[arg-type]


def test_stock_is_set_per_sku_and_warehouse_learning_the_product(
    store: TikTokShopStore, connect: Connect
) -> None:
    store.add_sku("MUG-1", stock=5)
    connector = connect()
    (result,) = connector.push_stock([push(store, "MUG-1", 17)])
    assert result.ok and store.quantity("MUG-1") == 17
    assert result.binding == {"product_id": store.sku("MUG-1").product_id, "warehouses": [store.warehouse_id]}
    (result,) = connector.push_stock([push(store, "MUG-1", -3, binding=result.binding)])
    assert result.ok and result.binding is None and store.quantity("MUG-1") == 0
    assert store.calls["products"] == 1  # learned once


def test_failures_inside_a_success_answer_are_failures(store: TikTokShopStore, connect: Connect) -> None:
    sku = store.add_sku("MUG-1", stock=5)
    store.set_faults(Faults(failing_skus=(sku.id,)))
    (result,) = connect().push_stock([push(store, "MUG-1", 9)])
    assert not result.ok and "12052990" in (result.error or "")
    assert store.quantity("MUG-1") == 5
    store.clear_faults()
    # The sample's case: a warehouse the SKU is not in.
    (result,) = connect(warehouse_id="7068517275539719942").push_stock([push(store, "MUG-1", 9)])
    assert not result.ok
    assert "warehouse 7068517275539719942: 12052097: The warehouse does not exist" in (result.error or "")
    (result,) = connect().push_stock(
        [push(store, "MUG-1", 9, platform_ids={"product_id": "1729582718312000001"})]
    )
    assert not result.ok and "does not exist" in (result.error or "")


def test_a_products_skus_go_in_one_call_and_one_refused_inside_it_fails_alone(
    store: TikTokShopStore, connect: Connect
) -> None:
    small = store.add_sku("TEE-S", stock=1)
    medium = store.add_sku("TEE-M", stock=1, product=small.product_id)
    large = store.add_sku("TEE-L", stock=1, product=small.product_id)
    store.add_sku("MUG-1", stock=1)
    store.set_faults(Faults(failing_skus=(medium.id,)))
    connector = connect()
    pushes = [
        push(store, "TEE-S", 4),
        push(store, "MUG-1", 6),
        push(store, "TEE-M", 5),
        push(store, "TEE-L", -2),
    ]
    learned = connector.push_stock(pushes)
    assert [(r.listing_id, r.ok) for r in learned] == [
        (small.id, True),
        (store.sku("MUG-1").id, True),
        (medium.id, False),
        (large.id, True),
    ]
    assert "12052990" in (learned[2].error or "")
    assert [store.quantity(sku) for sku in ("TEE-S", "TEE-M", "TEE-L", "MUG-1")] == [4, 1, 0, 6]
    assert store.calls["inventory"] == 2  # one call per product
    # Known products and warehouses: no search, still one call per product.
    again = [
        push(store, sku, 7, binding=result.binding or {})
        for sku, result in zip(("TEE-S", "MUG-1", "TEE-L"), (learned[0], learned[1], learned[3]), strict=True)
    ]
    searches = store.calls["products"]
    assert all(r.ok for r in connector.push_stock(again))
    assert (store.calls["inventory"], store.calls["products"]) == (4, searches)
    # A refusal of the whole call fails each of its SKUs, and forgets the product learned.
    store.clear_faults()
    wrong = {"product_id": "1729582718312999999", "warehouses": [store.warehouse_id]}
    refused = connector.push_stock(
        [push(store, "TEE-S", 3, binding=wrong), push(store, "TEE-M", 3, binding=wrong)]
    )
    assert [(r.ok, r.binding) for r in refused] == [(False, {}), (False, {})]
    assert all("does not exist" in (r.error or "") for r in refused)


def test_a_sku_the_shop_does_not_have_is_refused(store: TikTokShopStore, connect: Connect) -> None:
    store.add_sku("MUG-1")
    (result,) = connect().push_stock([StockPush("2729382476852999999", "NOPE-1", 3, {})])
    assert not result.ok and "no TikTok SKU" in (result.error or "")


def parcel(order: Mapping[str, object], **more: object) -> Parcel:
    lines = [ParcelLine(item["sku_id"], item["seller_sku"], 1) for item in order["line_items"]]  # type: ignore[attr-defined]
    fields: dict[str, object] = {
        "reference": "P-1",
        "external_id": order["id"],
        "carrier": None,
        "service": None,
        "tracking_number": None,
        "tracking_url": None,
        "shipped_at": datetime.now(UTC),
        "lines": lines,
    }
    return Parcel(**(fields | more))  # type: ignore[arg-type]


def test_tiktoks_logistics_ships_the_package_and_gives_its_label(
    store: TikTokShopStore, connect: Connect
) -> None:
    store.add_sku("MUG-1", stock=5)
    order = store.place_order([Line("MUG-1", 2)])
    connector = connect()
    label = connector.ship_with_platform(parcel(order), method="DROP_OFF")
    assert label.tracking_number.startswith("TT") and label.carrier == "TT Virtual express"
    assert label.label_pdf is not None and label.label_pdf.startswith(b"%PDF")
    assert label.platform_ids == (order["packages"][0]["id"],)
    assert store.order(order["id"])["status"] == "AWAITING_COLLECTION"
    assert store.shipped()[0]["body"] == {"handover_method": "DROP_OFF"}
    # Again after a lost answer: what TikTok made, nothing shipped twice.
    again = connect().ship_with_platform(parcel(order, maybe_sent=True))
    assert again.tracking_number == label.tracking_number and len(store.shipped()) == 1


def test_a_parcel_must_carry_its_whole_package(store: TikTokShopStore, connect: Connect) -> None:
    store.add_sku("MUG-1", stock=5)
    order = store.place_order([Line("MUG-1", 2)])
    short = parcel(order)
    short = Parcel(**{**short.__dict__, "lines": short.lines[:1]})
    with pytest.raises(Rejected, match="whole packages"):
        connect().ship_with_platform(short)
    with pytest.raises(Rejected, match="PICKUP or DROP_OFF"):
        connect().ship_with_platform(parcel(order), method="COURIER")
    fbt = store.place_order([Line("MUG-1", 1)], fbt=True)
    with pytest.raises(Rejected, match="fulfilled by TikTok"):
        connect().ship_with_platform(parcel(fbt))
    assert store.shipped() == []


def test_our_carriers_parcel_goes_as_a_self_shipment(store: TikTokShopStore, connect: Connect) -> None:
    store.add_sku("MUG-1", stock=5)
    order = store.place_order([Line("MUG-1", 1)])
    tracked = parcel(order, carrier="J&T Express", tracking_number="JT0001")
    with pytest.raises(Rejected, match="shipping_providers"):
        connect().write_back(tracked)
    connector = connect(shipping_providers={"j&t express": "6617675021119438850"})
    done = connector.write_back(tracked)
    assert done.platform_ids == (order["packages"][0]["id"],) and connector.acted
    assert store.order(order["id"])["status"] == "IN_TRANSIT"
    assert store.shipped()[0]["body"]["self_shipment"] == {
        "tracking_number": "JT0001",
        "shipping_provider_id": "6617675021119438850",
    }
    again = connect(shipping_providers={"J&T Express": "6617675021119438850"}).write_back(tracked)
    assert "already shipped" in again.note and len(store.shipped()) == 1


def test_a_tracking_number_given_later_is_waited_for_without_shipping_twice(
    store: TikTokShopStore, connect: Connect
) -> None:
    store.add_sku("MUG-1", stock=5)
    store.tracking_later = True
    order = store.place_order([Line("MUG-1", 1)])
    with pytest.raises(ChannelError, match="a tracking number yet") as waiting:
        connect().ship_with_platform(parcel(order))
    assert waiting.value.retryable
    store.give_tracking(order["id"])
    label = connect().ship_with_platform(parcel(order, maybe_sent=True))
    assert label.tracking_number == store.order(order["id"])["tracking_number"]
    assert len(store.shipped()) == 1


def test_token_expiries_given_as_durations_become_moments() -> None:
    before = int(time.time())
    tokens = client.tokens_of(
        {"access_token": "a" * 20, "refresh_token": "r" * 20, "access_token_expire_in": 604800}
    )
    assert before + 604800 <= int(tokens["access_token_expire_in"]) <= int(time.time()) + 604800
    moment = client.tokens_of(
        {"access_token": "a" * 20, "refresh_token": "r" * 20, "access_token_expire_in": 1893456000}
    )
    assert moment["access_token_expire_in"] == "1893456000"
