"""``orderly rejections``: list, replay once the cause is fixed, discard."""

from __future__ import annotations

import getpass
import json
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from orderly.core.db import transaction
from orderly.orders.models import IngestRejection, Order
from tests.cli.conftest import Cli, rows
from tests.factories import order, setup_catalog


def _ingest(cli: Cli, tmp_path: Path, *rejected: dict[str, object]) -> None:
    path = tmp_path / "orders.json"
    path.write_text(json.dumps(list(rejected)))
    cli("ingest", str(path), code=1)  # something was rejected


def _rejection(factory: sessionmaker[Session], external_id: str) -> IngestRejection:
    with transaction(factory) as s:
        return s.scalars(select(IngestRejection).where(IngestRejection.external_id == external_id)).one()


def test_replay_after_adding_the_missing_mapping_exits_1_while_one_is_still_rejected(
    cli: Cli, factory: sessionmaker[Session], tmp_path: Path
) -> None:
    setup_catalog(factory, {"SKU-2": 5})
    _ingest(cli, tmp_path, order(("SHOP-SKU-9", 2), external_id="X1"), order(("OTHER", 1), external_id="X2"))
    x1 = _rejection(factory, "X1")

    listing = cli("rejections", "list").stdout
    (row,) = rows(listing, str(x1.id))
    assert row[1:5] == ["open", "shop-a", "X1", "1"]
    assert "unknown SKU 'SHOP-SKU-9'" in row[5]

    cli("mapping", "add", "--shop", "shop-a", "--sku", "SKU-2", "--platform-sku", "SHOP-SKU-9")
    replayed = cli("rejections", "replay", code=1)  # X2 is still rejected

    assert rows(replayed.stdout, "created") == [["created", "1"]]
    assert rows(replayed.stdout, "rejected") == [["rejected", "1"]]
    assert "unknown SKU 'OTHER'" in replayed.stdout
    x1 = _rejection(factory, "X1")
    assert (x1.status, x1.attempts) == ("resolved", 2)
    with transaction(factory) as s:
        stored = s.scalars(select(Order).where(Order.external_id == "X1")).one()
    assert x1.order_id == stored.id
    assert stored.status == "allocated"
    assert (_rejection(factory, "X2").status, _rejection(factory, "X2").attempts) == ("open", 2)

    open_now = cli("rejections", "list").stdout
    assert not rows(open_now, str(x1.id))
    assert rows(cli("rejections", "list", "--status", "resolved").stdout, str(x1.id))


def test_replay_given_ids_only(cli: Cli, factory: sessionmaker[Session], tmp_path: Path) -> None:
    setup_catalog(factory, {"SKU-1": 5})
    _ingest(cli, tmp_path, order(("SKU-1", 1), shop="shop-z", external_id="Z1"), order(shop="shop-y"))
    cli("shop", "add", "shop-z", "--name", "Z", "--channel", "manual")
    cli("shop", "add", "shop-y", "--name", "Y", "--channel", "manual")
    z1 = _rejection(factory, "Z1")

    replayed = cli("rejections", "replay", str(z1.id))

    assert rows(replayed.stdout, "created") == [["created", "1"]]
    assert _rejection(factory, "Z1").status == "resolved"
    with transaction(factory) as s:
        assert s.scalars(select(IngestRejection.status).where(IngestRejection.id != z1.id)).all() == ["open"]


def test_replay_refusals(cli: Cli, factory: sessionmaker[Session], tmp_path: Path) -> None:
    setup_catalog(factory)
    assert "No open rejections to replay" in cli("rejections", "replay").stdout
    assert "no open rejection(s) 99" in cli("rejections", "replay", "99", code=1).stderr
    cli("rejections", "replay", "abc", code=2)


def test_discard(cli: Cli, factory: sessionmaker[Session], tmp_path: Path) -> None:
    setup_catalog(factory)
    _ingest(cli, tmp_path, order(("OTHER", 1), external_id="D1"))
    d1 = _rejection(factory, "D1")

    assert f"Rejection {d1.id} discarded" in cli("rejections", "discard", str(d1.id)).stdout

    d1 = _rejection(factory, "D1")
    assert d1.status == "discarded"
    assert d1.reason.endswith(f"(discarded by cli:{getpass.getuser()})")
    assert not rows(cli("rejections", "list").stdout, str(d1.id))
    assert rows(cli("rejections", "list", "--status", "discarded").stdout, str(d1.id))
    assert rows(cli("rejections", "list", "--status", "all").stdout, str(d1.id))
    assert f"no open rejection {d1.id}" in cli("rejections", "discard", str(d1.id), code=1).stderr
    assert "No open rejections to replay" in cli("rejections", "replay").stdout
    cli("rejections", "list", "--status", "closed", code=2)


def test_list_limit(cli: Cli, factory: sessionmaker[Session], tmp_path: Path) -> None:
    setup_catalog(factory)
    _ingest(cli, tmp_path, *(order(("OTHER", 1)) for _ in range(3)))

    listing = cli("rejections", "list", "--limit", "2").stdout

    assert len([line for line in listing.splitlines() if "│ open" in line]) == 2
    assert "Showing the first 2" in listing
