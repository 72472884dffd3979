"""The warehouse's screens on both databases: waves formed by warehouse and carrier in walking order,
their pick lists and label batches as PDFs in that order, the missing labels bought through the jobs
(progress and the carrier's refusals), scan to pack with good and bad scans, the stale and late
parcels exactly, and only the roles that handle parcels let in."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from orderly.auth.domain import Role
from orderly.console.i18n import told
from orderly.core.clock import utcnow
from orderly.core.db import transaction
from orderly.core.errors import Conflict
from orderly.fulfilment import domain, service
from orderly.fulfilment.carriers.domain import Offer
from orderly.fulfilment.carriers.models import LabelState, ShipmentLabel
from orderly.fulfilment.domain import TrackingEvent, TrackingKind, check_order_shippable
from orderly.fulfilment.models import Shipment
from orderly.fulfilment.schemas import ShipmentIn
from orderly.inventory import service as inventory
from orderly.inventory.schemas import WarehouseIn
from orderly.jobs.worker import Worker
from orderly.orders.domain import OrderStatus
from orderly.orders.ingest import ingest_batch
from tests.console.test_stock_page import _as
from tests.factories import order, setup_catalog, stored_order
from tests.fulfilment.carriers.conftest import Sandbox, easypost
from tests.fulfilment.carriers.test_accounts_and_quotes import add_account
from tests.fulfilment.carriers.test_labels import run_jobs, worker

__all__ = ["easypost", "worker"]

EAN = "4006381333931"  # SKU-1's
UPC = "036000291452"  # SKU-2's


def stock_the_floor(client: TestClient, factory: sessionmaker[Session]) -> None:
    """WH-1 with SKU-1..3 in stock, each in its bin (C-7 walked first), SKU-1 and SKU-2 with barcodes."""
    setup_catalog(factory, {"SKU-1": 50, "SKU-2": 50, "SKU-3": 50})
    bins = [("SKU-1", "A-10", None), ("SKU-2", "A-2", None), ("SKU-3", "C-7", 0)]
    body = {"bins": [{"sku": s, "warehouse": "WH-1", "bin": b, "walk": n} for s, b, n in bins]}
    assert client.put("/api/v1/bins", json=body).status_code == 200
    for sku, barcode in (("SKU-1", EAN), ("SKU-2", UPC)):
        assert client.patch(f"/api/v1/products/{sku}", json={"barcode": barcode}).status_code == 200


def parcels(
    factory: sessionmaker[Session], *made: tuple[str, list[tuple[str, int]], ShipmentIn]
) -> list[int]:
    """An order per (number, lines, parcel) and its one parcel, from WH-1; their ids."""
    ingest_batch(factory, [order(*lines, external_id=number) for number, lines, _ in made])
    order_ids = [stored_order(factory, number).id for number, _, _ in made]
    with transaction(factory) as s:
        return [
            service.create_shipment(s, order_id, data, actor="t").id
            for order_id, (_, _, data) in zip(order_ids, made, strict=True)
        ]


def labelled(carrier: str, number: str) -> ShipmentIn:
    return ShipmentIn(carrier=carrier, tracking_number=f"TRK{number.strip('#')}")


def floor_with_waves(client: TestClient, factory: sessionmaker[Session]) -> dict[str, int]:
    """Five parcels to pick: three for UPS, one for DHL, one without a label; their ids by order."""
    stock_the_floor(client, factory)
    numbers = ("#801", "#802", "#803", "#804", "#805")
    made = parcels(
        factory,
        ("#801", [("SKU-3", 1)], labelled("UPS", "#801")),  # C-7: the first stop
        ("#802", [("SKU-1", 1)], labelled("UPS", "#802")),  # A-10
        ("#803", [("SKU-2", 2)], labelled("UPS", "#803")),  # A-2
        ("#804", [("SKU-1", 1)], ShipmentIn(weight_g=500)),  # no label yet
        ("#805", [("SKU-2", 1)], labelled("DHL", "#805")),
    )
    return dict(zip(numbers, made, strict=True))


def _sections(html: str) -> list[tuple[str, list[int]]]:
    """Each wave on the page: its heading, and its parcels in the order listed."""
    found = []
    for part in html.split('<section class="wave')[1:]:
        heading = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", part.split("<h2>")[1].split("</h2>")[0])).strip()
        body = part.split("<tbody>")[1].split("</tbody>")[0]
        found.append(
            (heading, [int(n) for n in re.findall(r'<tr class="parcel" data-shipment="(\d+)"', body)])
        )
    return found


def _pages(content: bytes) -> list[str]:
    return ["".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(content)).pages]


def test_waves_are_a_warehouses_parcels_per_carrier_in_walking_order_cut_to_size(
    client: TestClient, factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = floor_with_waves(client, factory)
    monkeypatch.setattr(domain, "WAVE_SIZE", 2)

    page = client.get("/warehouse")

    assert page.status_code == 200
    assert _sections(page.text) == [
        ("WH-1 · Labels to buy · wave 1 1 parcel", [ids["#804"]]),
        ("WH-1 · DHL · wave 1 1 parcel", [ids["#805"]]),
        ("WH-1 · UPS · wave 1 2 parcels", [ids["#801"], ids["#803"]]),  # C-7 (walk 0), then A-2
        ("WH-1 · UPS · wave 2 1 parcel", [ids["#802"]]),  # A-10
    ]
    assert re.search(r'<a href="/warehouse" aria-current="page">Warehouse</a>', page.text)  # navigation
    assert "No carrier account sells labels" in page.text  # the unlabelled wave, with no account
    # A parcel picked, packed or shipped is no longer waiting.
    with transaction(factory) as s:
        service.pick_shipment(s, ids["#801"], actor="t")
    assert _sections(client.get("/warehouse").text)[2] == (
        "WH-1 · UPS · wave 1 2 parcels",
        [ids["#803"], ids["#802"]],
    )
    chinese = client.get("/warehouse", headers={"Cookie": "orderly_locale=zh_Hans"})
    assert "待拣货的波次" in chinese.text


def test_the_waves_of_one_warehouse_are_shown_when_it_is_chosen(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    ids = floor_with_waves(client, factory)
    with transaction(factory) as s:  # tried first for the orders that follow
        inventory.create_warehouse(s, WarehouseIn(code="WH-0", name="Front", priority=0))
        inventory.receive(s, "SKU-3", "WH-0", 5, actor="t", reason="opening stock")
    (front,) = parcels(factory, ("#806", [("SKU-3", 1)], labelled("UPS", "#806")))

    every = _sections(client.get("/warehouse").text)
    one = _sections(client.get("/warehouse", params={"warehouse": "WH-1"}).text)
    other = client.get("/warehouse", params={"warehouse": "WH-0"})

    assert every[0] == ("WH-0 · UPS · wave 1 1 parcel", [front])  # warehouses in their natural order
    assert one == every[1:] and ids["#804"] in one[0][1]
    assert _sections(other.text) == every[:1] and "<option selected>WH-0</option>" in other.text
    assert client.get("/warehouse", params={"warehouse": "WH-9"}).status_code == 404


def test_a_waves_pick_list_and_labels_are_pdfs_in_walking_order(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    ids = floor_with_waves(client, factory)
    (ups,) = [wave for wave in _sections(client.get("/warehouse").text) if "UPS" in wave[0]]
    shipments = ",".join(map(str, ups[1]))

    picks = client.get("/warehouse/pick-list.pdf", params={"shipments": shipments})
    labels = client.get("/warehouse/labels.pdf", params={"shipments": shipments})

    assert ups[1] == [ids["#801"], ids["#803"], ids["#802"]]
    assert picks.status_code == 200 and picks.headers["content-type"] == "application/pdf"
    text = "".join(_pages(picks.content))
    stops = ["C-7SKU-3", "A-2SKU-2", "A-10SKU-1"]
    assert [text.index(stop) for stop in stops] == sorted(text.index(stop) for stop in stops)
    assert "#804" not in text and "#805" not in text  # other waves' parcels
    assert labels.status_code == 200 and labels.headers["content-type"] == "application/pdf"
    assert [next(n for n in ("TRK801", "TRK802", "TRK803") if n in p) for p in _pages(labels.content)] == [
        "TRK801",
        "TRK803",
        "TRK802",
    ]
    # A parcel without a label has none to print; a wave's link naming nothing is refused.
    unlabelled = client.get("/warehouse/labels.pdf", params={"shipments": str(ids["#804"])})
    assert unlabelled.status_code == 409 and "has no label yet" in unlabelled.text
    assert client.get("/warehouse/pick-list.pdf", params={"shipments": "x"}).status_code == 400
    assert client.get("/warehouse/labels.pdf", params={"shipments": "999999"}).status_code == 404


def test_a_waves_missing_labels_are_bought_through_the_jobs_with_progress_and_refusals(
    client: TestClient, factory: sessionmaker[Session], easypost: Sandbox, worker: Worker
) -> None:
    add_account(client, easypost.url)
    stock_the_floor(client, factory)
    good, refused = parcels(
        factory,
        ("#901", [("SKU-1", 1)], ShipmentIn(weight_g=500)),
        ("#902", [("SKU-2", 1)], ShipmentIn(weight_g=500)),
    )
    page = client.get("/warehouse").text
    assert f'name="shipments" value="{refused},{good}"' in page  # in walking order: A-2, then A-10
    assert "Buy 2 missing labels" in page

    asked = client.post(
        "/warehouse/labels",
        data={"shipments": str(good), "carrier_account": "ep", "service": "cheapest"},
        headers={"HX-Request": "true"},
    )
    unknown = client.post(
        "/warehouse/labels", data={"shipments": str(refused), "carrier_account": "ep", "service": "Overnight"}
    )
    again = client.post("/warehouse/labels", data={"shipments": str(good), "carrier_account": "ep"})
    nowhere = client.post("/warehouse/labels", data={"shipments": str(good), "carrier_account": "nope"})

    assert asked.status_code == 200
    assert 'hx-trigger="every 2s"' in asked.text and 'data-state="buying"' in asked.text  # polled
    assert unknown.status_code == 200 and 'data-state="buying"' in unknown.text
    assert again.status_code == 200 and "a label purchase is under way" in again.text  # said beside it
    assert nowhere.status_code == 200 and "a label purchase is under way" in nowhere.text
    run_jobs(worker, factory)
    progress = client.get("/warehouse/labels", params={"shipments": f"{good},{refused}"})
    assert progress.status_code == 200
    assert "hx-trigger" not in progress.text  # nothing under way: no more polling
    assert f'data-shipment="{good}" data-state="bought"' in progress.text
    assert f'data-shipment="{refused}" data-state="failed"' in progress.text
    assert "service Overnight" in progress.text  # the carrier's reason
    assert "1 bought, 0 being bought, 1 refused or unknown, 0 not asked." in progress.text
    waves = client.get("/warehouse").text
    assert "USPS" in waves and "service Overnight" in waves  # the bought one in its carrier's wave


def test_packing_by_scans_refuses_wrong_items_and_one_too_many_and_says_when_complete(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    stock_the_floor(client, factory)
    (parcel,) = parcels(factory, ("#7001", [("SKU-1", 2), ("SKU-2", 1)], labelled("UPS", "#7001")))
    htmx = {"HX-Request": "true"}

    def scan(code: str, **headers: str) -> tuple[int, str]:
        answer = client.post("/warehouse/pack", data={"code": code}, headers=headers)
        return answer.status_code, answer.text

    assert "No parcel open" in client.get("/warehouse/pack").text
    code, opened = scan(f"SHP-{parcel}")
    assert code == 200 and "3 units to scan" in opened and 'data-outcome="scanned"' in opened
    _, first = scan(EAN)
    assert 'data-sku="SKU-1"' in first and re.search(r'scanned">1</td><td class="num needed">2<', first)
    wrong = scan("SKU-3")
    assert wrong[0] == 409 and "wrong item: SKU-3 is not in this parcel" in wrong[1]
    assert 'data-outcome="refused"' in wrong[1] and 'role="alert"' in wrong[1]
    scan(EAN)
    code, too_many = scan(EAN, **htmx)  # to htmx a refusal is a 200, so the page swaps it in
    assert code == 200 and "one too many: SKU-1" in too_many and 'data-outcome="refused"' in too_many
    assert scan("NOTHING-HERE")[0] == 404
    assert scan("")[0] == 422
    assert f'data-shipment="{parcel}"' in client.get("/warehouse/pack").text  # carried on after a reload
    code, done = scan(UPC)
    assert code == 200 and 'data-outcome="complete"' in done
    assert "packed: it waits for the carrier" in done and "Complete: the parcel is packed" in done
    assert client.get(f"/api/v1/shipments/{parcel}").json()["status"] == "packed"
    again = scan(EAN)
    assert again[0] == 409 and "packed already" in again[1]


def test_a_chinese_packer_reads_what_each_scan_did_and_why_it_was_refused_in_chinese(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    stock_the_floor(client, factory)
    (parcel,) = parcels(factory, ("#7003", [("SKU-1", 2), ("SKU-2", 1)], labelled("UPS", "#7003")))
    chinese = {"Accept-Language": "zh-CN"}

    def scan(code: str) -> str:
        return client.post("/warehouse/pack", data={"code": code}, headers=chinese).text

    assert f"正在打包订单 #7003 的包裹 {parcel}：还需扫描 3 件" in scan(f"SHP-{parcel}")  # noqa: RUF001
    assert "SKU-1：已扫 1 / 共 2" in scan(EAN)  # noqa: RUF001
    assert "商品不对：SKU-3 不在此包裹中；包裹内应为 2 × SKU-1、1 × SKU-2" in scan("SKU-3")  # noqa: RUF001
    assert "未知条码 &#39;NOTHING-HERE&#39;：" in scan("NOTHING-HERE")  # noqa: RUF001
    scan(EAN)
    assert "多扫了一件：包裹中 SKU-1 共 2 件，已扫 2 件" in scan(EAN)  # noqa: RUF001
    done = scan(UPC)
    assert f"SKU-2：已扫 1 / 共 1；包裹 {parcel} 已打包：等待承运商揽收或您的确认" in done  # noqa: RUF001
    assert f"包裹 {parcel} 的状态为 packed：包裹已打包，不能再扫入商品" in scan(EAN)  # noqa: RUF001
    # The API says the same in English alone.
    answer = client.post("/api/v1/pack/scans", json={"code": "NOTHING-HERE"}, headers=chinese)
    assert answer.json()["error"]["message"].startswith("unknown code 'NOTHING-HERE'")


def test_a_warehouse_that_ships_on_pack_ships_the_parcel_with_its_last_scan(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    stock_the_floor(client, factory)
    assert client.patch("/api/v1/warehouses/WH-1", json={"ship_on_pack": True}).status_code == 200
    (parcel,) = parcels(factory, ("#7002", [("SKU-1", 1)], labelled("UPS", "#7002")))
    client.post("/warehouse/pack", data={"code": "#7002"})  # its order's number opens it
    done = client.post("/warehouse/pack", data={"code": "sku-1"})
    assert 'data-outcome="complete"' in done.text and "packed and shipped" in done.text
    assert client.get(f"/api/v1/shipments/{parcel}").json()["status"] == "shipped"


def test_a_packing_table_is_named_and_keeps_its_own_parcel(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    stock_the_floor(client, factory)
    first, second = parcels(
        factory,
        ("#7003", [("SKU-1", 1)], labelled("UPS", "#7003")),
        ("#7004", [("SKU-1", 1)], labelled("UPS", "#7004")),
    )
    client.post("/warehouse/pack", data={"code": f"SHP-{first}"})  # at no table
    named = client.get("/warehouse/pack", params={"table": " T2 "})
    assert "You pack at table T2 as" in named.text and "No parcel open" in named.text
    assert client.cookies.get("orderly_pack_table") == "T2"
    client.post("/warehouse/pack", data={"code": f"SHP-{second}"})
    at_t2 = client.get("/warehouse/pack").text
    assert f'data-shipment="{second}"' in at_t2 and 'value="T2"' in at_t2
    current = client.get("/api/v1/pack/current", params={"packer": "T2"})
    assert current.json()["shipment_id"] == second  # the API's packer at that table
    cleared = client.get("/warehouse/pack", params={"table": ""})
    assert "No table named" in cleared.text and f'data-shipment="{first}"' in cleared.text
    assert "orderly_pack_table" not in client.cookies


def test_the_parcel_being_packed_starts_again_with_nothing_scanned(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    stock_the_floor(client, factory)
    (parcel,) = parcels(factory, ("#7005", [("SKU-1", 2)], labelled("UPS", "#7005")))
    client.post("/warehouse/pack", data={"code": f"SHP-{parcel}"})
    scanned = client.post("/warehouse/pack", data={"code": EAN}).text
    assert "1 unit left to scan" in scanned and 'hx-post="/warehouse/pack/restart"' in scanned
    again = client.post(
        "/warehouse/pack/restart", data={"shipment": str(parcel)}, headers={"HX-Request": "true"}
    )
    assert again.status_code == 200 and "Started again" in again.text and "2 units left to scan" in again.text
    assert client.get(f"/api/v1/shipments/{parcel}/pack").json()["items"][0]["scanned"] == 0
    assert client.post("/warehouse/pack/restart", data={"shipment": "x"}).status_code == 400
    client.post("/warehouse/pack", data={"code": EAN})
    client.post("/warehouse/pack", data={"code": EAN})  # packed
    refused = client.post("/warehouse/pack/restart", data={"shipment": str(parcel)})
    assert refused.status_code == 409 and 'data-outcome="refused"' in refused.text


def _unknown_label(client: TestClient, factory: sessionmaker[Session], easypost: Sandbox) -> int:
    """A parcel whose label purchase lost its answer (as a DHL one does): its outcome unknown."""
    add_account(client, easypost.url)
    stock_the_floor(client, factory)
    (parcel,) = parcels(factory, ("#951", [("SKU-1", 1)], ShipmentIn(weight_g=500)))
    asked = client.post(
        f"/api/v1/shipments/{parcel}/label", json={"carrier_account": "ep", "service": "Priority"}
    )
    assert asked.status_code == 202, asked.text
    offer = Offer("USPS", "Priority", "Priority", 795, "USD", carrier_shipment_id="shp_lost")
    with transaction(factory) as s:
        s.execute(
            update(ShipmentLabel)
            .where(ShipmentLabel.shipment_id == parcel)
            .values(state=LabelState.UNKNOWN, offer=offer.to_json(), error="the answer was lost")
        )
    return parcel


def test_a_label_of_unknown_outcome_is_settled_from_the_order_page(
    client: TestClient, factory: sessionmaker[Session], easypost: Sandbox
) -> None:
    parcel = _unknown_label(client, factory, easypost)
    order_id = client.get(f"/api/v1/shipments/{parcel}").json()["order_id"]
    page = client.get(f"/orders/{order_id}").text
    assert "Outcome unknown" in page and f'hx-post="/warehouse/labels/{parcel}/outcome"' in page
    assert f"reference SHP-{parcel}" in page
    outcome = f"/warehouse/labels/{parcel}/outcome"
    htmx = {"HX-Request": "true"}
    unnamed = client.post(outcome, data={"from": "order", "bought": "yes", "note": "seen"}, headers=htmx)
    assert "tracking_number" in unnamed.text and "HX-Refresh" not in unnamed.headers
    done = client.post(
        outcome,
        data={
            "from": "order",
            "bought": "yes",
            "tracking_number": "9400100000000000000001",
            "note": "in USPS",
        },
        headers=htmx,
    )
    assert done.status_code == 200 and done.headers["HX-Refresh"] == "true"
    settled = client.get(f"/api/v1/shipments/{parcel}").json()
    assert (settled["status"], settled["tracking_number"]) == ("label_bought", "9400100000000000000001")
    assert "label/outcome" not in client.get(f"/orders/{order_id}").text  # nothing left to settle
    again = client.post(outcome, data={"from": "order", "bought": "no", "note": "x"}, headers=htmx)
    assert "no label purchase of unknown outcome" in again.text


def test_a_label_of_unknown_outcome_is_settled_from_the_waves_labels(
    client: TestClient, factory: sessionmaker[Session], easypost: Sandbox
) -> None:
    parcel = _unknown_label(client, factory, easypost)
    panel = client.get("/warehouse/labels", params={"shipments": str(parcel)}).text
    assert f'data-shipment="{parcel}" data-state="unknown"' in panel and "Nothing was bought" in panel
    answer = client.post(
        f"/warehouse/labels/{parcel}/outcome",
        data={"shipments": str(parcel), "bought": "no", "note": "nothing under this reference"},
    )
    assert answer.status_code == 200 and f'data-shipment="{parcel}" data-state="failed"' in answer.text
    assert "nothing was bought" in answer.text
    reader = _as(factory, Role.READER)
    assert client.post(f"/warehouse/labels/{parcel}/outcome", data={}, headers=reader).status_code == 403


def stale_floor(client: TestClient, factory: sessionmaker[Session]) -> dict[str, int]:
    stock_the_floor(client, factory)
    return stale_parcels(factory)


def stale_parcels(factory: sessionmaker[Session]) -> dict[str, int]:
    """Parcels on their way: one unheard of for 30 hours, one heard of an hour ago but past its
    promise, one fine, one unheard of whose carrier reports nothing (manual), and one delivered late."""
    names = ("quiet", "late", "fine", "manual", "delivered")
    made = dict(
        zip(
            names,
            parcels(
                factory,
                *((f"#60{n}", [("SKU-1", 1)], labelled("UPS", f"#60{n}")) for n in range(len(names))),
            ),
            strict=True,
        )
    )
    now = utcnow()
    heard = {"quiet": 30, "late": 1, "fine": 1, "manual": 30, "delivered": 40}
    promised = {"late": now - timedelta(hours=2), "fine": now + timedelta(days=2), "delivered": now}
    with transaction(factory) as s:
        for name, shipment_id in made.items():
            service.ship_shipment(s, shipment_id, actor="t")
            kind = TrackingKind.DELIVERED if name == "delivered" else TrackingKind.IN_TRANSIT
            event = TrackingEvent(
                kind, now - timedelta(hours=heard[name]), "IT", f"{name} scan", "Memphis TN"
            )
            service.record_tracking(s, shipment_id, [event], source="easypost", actor="t")
        for name, shipment_id in made.items():
            plugin = "manual" if name == "manual" else "easypost"
            s.execute(
                update(Shipment)
                .where(Shipment.id == shipment_id)
                .values(carrier_plugin=plugin, promised_by=promised.get(name))
            )
    return made


def test_the_stale_list_is_exactly_the_parcels_the_stale_and_late_alerts_are_about(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    made = stale_floor(client, factory)

    page = client.get("/warehouse/stale")

    assert page.status_code == 200
    listed = [int(n) for n in re.findall(r'<tr class="chase" data-shipment="(\d+)"', page.text)]
    assert listed == [made["quiet"], made["late"]]  # the longest unheard of first
    quiet, late = page.text.split('<tr class="chase"')[1:]
    assert "No news" in quiet and "Late" not in quiet and "quiet scan · Memphis TN" in quiet
    assert "Late" in late and "No news" not in late and "late scan" in late
    order_id = client.get(f"/api/v1/shipments/{made['quiet']}").json()["order_id"]
    assert f'<a href="/orders/{order_id}">#600</a>' in quiet  # the order, and its tracking timeline
    with transaction(factory) as s:  # the alerts' own rule agrees
        service.watch_parcels(s, utcnow(), timedelta(hours=24))
    alerts = client.get("/api/v1/alerts").json()
    subjects = sorted((a["kind"], a["subject"]) for a in alerts if a["kind"].startswith("parcel_"))
    assert subjects == [
        ("parcel_late", f"shipment:{made['late']}"),
        ("parcel_stale", f"shipment:{made['quiet']}"),
    ]


@pytest.mark.parametrize("role", [Role.FINANCE, Role.CUSTOMER_SERVICE, Role.OPERATIONS])
def test_roles_that_do_not_handle_parcels_are_refused_the_warehouse_screens(
    client: TestClient, factory: sessionmaker[Session], role: Role
) -> None:
    (parcel,) = parcels_for_roles(client, factory)
    other, warehouse = _as(factory, role), _as(factory, Role.WAREHOUSE)
    paths = [
        "/warehouse",
        "/warehouse/pack",
        "/warehouse/stale",
        f"/warehouse/pick-list.pdf?shipments={parcel}",
    ]
    for path in paths:
        assert client.get(path, headers=other).status_code == 403, path
        assert client.get(path, headers=warehouse).status_code == 200, path
    assert client.post("/warehouse/pack", data={"code": f"SHP-{parcel}"}, headers=other).status_code == 403
    assert client.post("/warehouse/pack/restart", data={"shipment": parcel}, headers=other).status_code == 403
    labels = {"shipments": str(parcel), "carrier_account": "ep"}
    assert client.post("/warehouse/labels", data=labels, headers=other).status_code == 403
    assert ">Warehouse</a>" not in client.get("/orders", headers=other).text
    assert ">Warehouse</a>" in client.get("/orders", headers=warehouse).text
    assert client.get(f"/api/v1/shipments/{parcel}").json()["status"] == "label_bought"  # nothing scanned


def parcels_for_roles(client: TestClient, factory: sessionmaker[Session]) -> list[int]:
    stock_the_floor(client, factory)
    return parcels(factory, ("#9901", [("SKU-1", 1)], labelled("UPS", "#9901")))


def test_an_order_that_may_not_ship_is_named_by_its_status_in_chinese() -> None:
    with pytest.raises(Conflict) as refused:
        check_order_shippable(7, OrderStatus.ON_HOLD)
    english = (
        "order 7 is on_hold: parcels are made and shipped only for allocated, label_printed, partly_shipped"
    )
    assert refused.value.message == f"{english} orders"
    said = told(refused.value.message, refused.value.phrase, "zh_Hans")
    assert said == "订单 7 的状态为“已暂停”：只有已分配库存、已打印面单、部分发货状态的订单才能建包裹和发货"  # noqa: RUF001
