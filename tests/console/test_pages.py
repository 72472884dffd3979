"""The console's pages as HTML: who may open them, the order list's filters and search, the order's
story, languages, zones and money."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from orderly.auth import service as users
from orderly.auth.domain import Role
from orderly.core.db import transaction
from orderly.fulfilment import service as fulfilment
from orderly.fulfilment.domain import TrackingEvent, TrackingKind
from orderly.orders.models import Order, RawPayload


def _numbers(html: str) -> list[str]:
    return sorted(re.findall(r'data-order="([^"]+)"', html))


@pytest.mark.parametrize("path", ["/", "/orders", "/orders/1", "/orders?q=x"])
def test_pages_send_anyone_not_signed_in_to_sign_in(anonymous: TestClient, path: str) -> None:
    response = anonymous.get(path)
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in"
    # so does a token that is not an admin's, or a made-up one
    assert anonymous.get(path, headers={"Authorization": "Bearer nope"}).status_code == 303


def test_preferences_need_a_viewer(anonymous: TestClient) -> None:
    assert anonymous.post("/preferences", data={"locale": "zh_Hans"}).status_code == 303


def test_a_page_the_role_may_not_open_is_a_page_saying_so_in_the_viewers_language(
    anonymous: TestClient, factory: sessionmaker[Session]
) -> None:
    with transaction(factory) as s:
        finance = {"Authorization": f"Bearer {users.create_token(s, 'books', role=Role.FINANCE).token}"}
    english = anonymous.get("/rules", headers=finance)
    assert english.status_code == 403 and english.headers["content-type"].startswith("text/html")
    assert "<h1>Not for your role</h1>" in english.text
    assert "Your role (Finance) may not open this page" in english.text
    assert 'data-permission="rules:read"' in english.text
    assert 'href="/orders"' in english.text and 'href="/rules"' not in english.text  # its own navigation
    chinese = anonymous.get("/users", headers={**finance, "Accept-Language": "zh-CN"})
    assert chinese.status_code == 403 and "<h1>您的角色无权访问</h1>" in chinese.text
    assert "您的角色（财务）不能打开此页面" in chinese.text  # noqa: RUF001
    assert 'data-permission="users:admin"' in chinese.text
    refused = anonymous.post("/orders/bulk", data={"action": "hold", "order": "1"}, headers=finance)
    assert refused.status_code == 403 and 'data-permission="holds:write"' in refused.text  # a change too
    api = anonymous.get("/api/v1/users", headers=finance)  # the API's refusals stay JSON
    assert api.status_code == 403 and "needs the permission 'users:admin'" in api.json()["error"]["message"]


def test_an_address_leading_nowhere_is_a_page_saying_so_to_a_person_signed_in(
    anonymous: TestClient, factory: sessionmaker[Session]
) -> None:
    with transaction(factory) as s:
        service = {
            "Authorization": f"Bearer {users.create_token(s, 'desk', role=Role.CUSTOMER_SERVICE).token}"
        }
    for path, code in (
        ("/nowhere", 404),
        ("/orders/not-a-number", 422),  # refused before the database
        ("/orders/99999999999999999999", 422),
        ("/orders/export.pdf", 422),
    ):
        page = anonymous.get(path, headers=service)
        assert page.status_code == code and page.headers["content-type"].startswith("text/html"), path
        assert "<h1>Not found</h1>" in page.text and "There is no page at this address." in page.text
        assert 'href="/exceptions"' in page.text  # the navigation, to go on from
    chinese = anonymous.get("/nowhere", headers={**service, "Accept-Language": "zh-CN"})
    assert chinese.status_code == 404 and "此地址没有页面。" in chinese.text
    # The API, a change and anyone not signed in keep the JSON answer.
    assert anonymous.get("/api/v1/nowhere", headers=service).json()["error"]["message"] == "Not Found"
    assert anonymous.get("/api/v1/orders/x", headers=service).status_code == 422
    assert anonymous.post("/nowhere", headers=service).headers["content-type"] == "application/json"
    assert anonymous.get("/nowhere").headers["content-type"] == "application/json"
    assert anonymous.get("/orders/x").status_code == 303  # sent to sign in, as for any page


def test_sign_in_page_in_the_browsers_language(anonymous: TestClient) -> None:
    english = anonymous.get("/sign-in", headers={"Accept-Language": "de-DE, en;q=0.5"})
    assert english.status_code == 200
    assert "Sign in to Orderly" in english.text and 'lang="en"' in english.text
    chinese = anonymous.get("/sign-in", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"})
    assert "登录 Orderly" in chinese.text and "密码" in chinese.text
    assert "/static/vendor/htmx/htmx.min.js" in chinese.text


def test_assets_are_served_by_the_hub(anonymous: TestClient) -> None:
    for path in (
        "/static/vendor/htmx/htmx.min.js",
        "/static/vendor/chartjs/chart.umd.min.js",
        "/static/console.css",
    ):
        assert anonymous.get(path).status_code == 200, path


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["#1001", "1002", "1003", "114-0001"]),
        ({"q": "müller"}, ["#1001"]),
        ({"q": "li@example.cn"}, ["1002"]),
        ({"q": "030 1234567"}, ["#1001"]),
        ({"q": "1001"}, ["#1001"]),
        ({"shop": "shop-b"}, ["1002"]),
        ({"channel": "amazon"}, ["114-0001"]),
        ({"status": "on_hold"}, ["1003"]),
        ({"hold_reason": "out_of_stock"}, ["1003"]),
        ({"tag": "vip"}, ["#1001"]),
        ({"country": "de"}, ["#1001"]),
        ({"sku": "SKU-3"}, ["1003"]),
        ({"placed_from": "2026-11-13"}, ["1003", "114-0001"]),
        ({"placed_to": "2026-11-10"}, ["1002"]),  # the viewer's zone is the hub's: UTC
        ({"q": "nobody"}, []),
    ],
)
def test_order_list_filters_and_search(
    client: TestClient, orders: dict[str, int], params: dict[str, str], expected: list[str]
) -> None:
    page = client.get("/orders", params=params)
    assert page.status_code == 200
    assert _numbers(page.text) == expected
    # the same through htmx: only the rows
    rows = client.get("/orders", params=params, headers={"HX-Request": "true", "HX-Target": "rows"})
    assert _numbers(rows.text) == expected and "<html" not in rows.text


def test_a_filter_that_cannot_be_read_is_said(client: TestClient, orders: dict[str, int]) -> None:
    for params, said in (
        ({"shop": "nope"}, "unknown shop"),
        ({"placed_from": "11/11/2026"}, "is not a date such as 2026-12-01"),
        ({"status": "lost"}, "lost"),
        ({"hold_reason": "bored"}, "bored"),
        ({"placed_from": "0001-01-01"}, "out of range"),
        ({"placed_to": "2026-11-11T09:00"}, "has no offset"),
        ({"q": "a\x00b"}, "NUL"),
        ({"sku": "x" * 321}, "at most 320"),
        ({"cursor": "garbage"}, "cursor"),
    ):
        page = client.get("/orders", params=params)
        assert page.status_code == 200 and said in page.text, params
        assert _numbers(page.text) == []


def test_the_list_pages_by_cursor(
    client: TestClient, orders: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("orderly.console.pages.orders.PAGE_SIZE", 3)
    first = client.get("/orders")
    assert _numbers(first.text) == ["1002", "1003", "114-0001"]  # newest first by id
    more = re.search(r'hx-get="(/orders\?[^"]+)"', first.text)
    assert more is not None
    rest = client.get(
        more.group(1).replace("&amp;", "&"), headers={"HX-Request": "true", "HX-Target": "more"}
    )
    assert _numbers(rest.text) == ["#1001"] and "More orders" not in rest.text


def test_a_day_is_the_viewers_day(client: TestClient, orders: dict[str, int]) -> None:
    client.post("/preferences", data={"timezone": "Asia/Shanghai"})
    page = client.get("/orders", params={"placed_from": "2026-11-11", "placed_to": "2026-11-11"})
    assert _numbers(page.text) == ["#1001", "1002"]
    assert (
        "Nov 11, 2026, 8:00:00\u202fAM CST" in page.text
    )  # #1001, placed at midnight UTC (CLDR's narrow space)


def test_chinese_page_with_money_and_times_in_its_format(client: TestClient, orders: dict[str, int]) -> None:
    answer = client.post("/preferences", data={"locale": "zh_Hans", "timezone": "Asia/Shanghai"})
    assert answer.status_code == 204 and answer.headers["HX-Refresh"] == "true"
    page = client.get("/orders")
    assert "订单" in page.text and "已暂停" in page.text and "缺货" in page.text
    assert "2026年11月11日 08:00:00 CST" in page.text
    assert "€24.98" in page.text and "US$44.97" in page.text  # EUR and USD as zh_Hans writes them
    english = client.post("/preferences", data={"locale": "en"})
    assert english.status_code == 204
    assert "$44.97" in client.get("/orders").text


def test_an_unknown_order_is_a_page_saying_so(client: TestClient, orders: dict[str, int]) -> None:
    missing = client.get("/orders/999999")
    assert missing.status_code == 404 and "no order 999999" in missing.text and "<html" in missing.text
    assert client.get(f"/orders/{2**63}").status_code == 422  # past any id: refused before the database


def test_preferences_refuse_what_they_cannot_use(client: TestClient) -> None:
    assert client.post("/preferences", data={"locale": "fr"}).status_code == 422
    assert client.post("/preferences", data={"timezone": "Mars/Olympus"}).status_code == 422


def test_the_order_page_tells_its_story(
    client: TestClient, orders: dict[str, int], factory: sessionmaker[Session]
) -> None:
    with transaction(factory) as s:  # as a shop's sync keeps it
        order = s.get(Order, orders["#1001"])
        assert order is not None
        payload = RawPayload(shop_id=order.shop_id, kind="order", external_id="#1001", body={"name": "#1001"})
        s.add(payload)
        s.flush()
        order.raw_payload_id = payload.id
    page = client.get(f"/orders/{orders['#1001']}")
    assert page.status_code == 200
    text = page.text
    assert "Zoë Müller" in text and "Hauptstr. 1" in text and "gift wrap" in text
    assert "WH-1" in text  # reserved there
    assert re.search(r"<td>SKU-1</td><td>WH-1</td><td class=\"num\">1</td>", text)
    assert "Outcome" in text and "approved" in text
    assert "→ Allocated" in text  # its history
    assert "Platform payload" in text and '"name": "#1001"' in text
    held = client.get(f"/orders/{orders['1003']}").text
    assert "Out of stock" in held and "Nothing reserved." in held


def test_the_order_page_shows_its_parcels_and_their_tracking(
    client: TestClient, orders: dict[str, int], factory: sessionmaker[Session]
) -> None:
    parcel = client.post(
        f"/api/v1/orders/{orders['#1001']}/shipments",
        json={"carrier": "DHL", "tracking_number": "JD014600006281230", "ship": True},
    )
    assert parcel.status_code == 201, parcel.text
    with transaction(factory) as s:
        fulfilment.record_tracking(
            s,
            parcel.json()["id"],
            [
                TrackingEvent(
                    TrackingKind.IN_TRANSIT,
                    datetime(2026, 11, 12, 9, 30, tzinfo=UTC),
                    "PU",
                    "Processed at hub",
                    "Leipzig",
                )
            ],
            source="carrier",
            actor="carrier",
        )
    client.post("/preferences", data={"timezone": "Europe/Berlin"})
    text = client.get(f"/orders/{orders['#1001']}").text
    assert "JD014600006281230" in text and "Tracking" in text
    assert "Nov 12, 2026, 10:30:00\u202fAM CET" in text and "Processed at hub · Leipzig" in text
    assert "Shipped" in text
    assert client.get("/orders", params={"q": "JD014600006281230"}).text.count('data-order="#1001"') == 1


@pytest.fixture
def person(factory: sessionmaker[Session]) -> tuple[str, str]:
    with transaction(factory) as s:
        users.create_user(
            s, "mei", "correct horse battery", role=Role.CUSTOMER_SERVICE, timezone="Asia/Shanghai"
        )
    return "mei", "correct horse battery"


def test_a_person_signs_in_keeps_their_language_and_signs_out(
    anonymous: TestClient, orders: dict[str, int], person: tuple[str, str]
) -> None:
    name, password = person
    wrong = anonymous.post("/sign-in", data={"username": name, "password": "nope"})
    assert wrong.status_code == 401 and "the username or password is wrong" in wrong.text
    signed = anonymous.post("/sign-in", data={"username": name, "password": password})
    assert signed.status_code == 303 and signed.headers["location"] == "/"
    page = anonymous.get("/orders")
    assert page.status_code == 200 and "mei" in page.text
    assert "2026年" not in page.text and "CST" in page.text  # their zone, in English until they switch
    token = re.search(r'"X-CSRF-Token": "([^"]+)"', page.text)
    assert token is not None  # htmx sends it with every change
    # a change without the session's CSRF token is refused
    assert anonymous.post("/preferences", data={"locale": "zh_Hans"}).status_code == 403
    switched = anonymous.post(
        "/preferences", data={"locale": "zh_Hans"}, headers={"X-CSRF-Token": token.group(1)}
    )
    assert switched.status_code == 204
    assert "2026年11月11日 08:00:00 CST" in anonymous.get("/orders").text  # kept in the profile
    out = anonymous.post("/sign-out", headers={"X-CSRF-Token": token.group(1)})
    assert out.status_code == 303
    assert anonymous.get("/orders").status_code == 303
