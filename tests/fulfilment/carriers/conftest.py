"""Carrier sandboxes over real HTTP, and what a parcel needs to be quoted or labelled."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest

from orderly.fulfilment.carriers.connector import CustomsLine, ParcelSpec, Party
from orderly.sandbox.dhl_express import DhlStore
from orderly.sandbox.dhl_express import create_app as dhl_app
from orderly.sandbox.easypost import EasyPostStore
from orderly.sandbox.easypost import create_app as easypost_app
from orderly.sandbox.serve import serving
from tests.fulfilment.conftest import app, cli, client, token

__all__ = ["app", "cli", "client", "token"]

EASYPOST_KEY = "EZTKsandbox"
DHL_USER, DHL_SECRET, DHL_ACCOUNT = "sandbox-key", "sandbox-secret", "123456789"
SHIP_FROM = {
    "name": "Home Warehouse",
    "company": "Orderly Demo",
    "line1": "1 Dock Rd",
    "city": "Oakland",
    "region": "CA",
    "postal_code": "94607",
    "country": "US",
    "phone": "5105550100",
}


@dataclass
class Sandbox:
    store: Any
    url: str


@pytest.fixture
def easypost() -> Iterator[Sandbox]:
    store = EasyPostStore(api_key=EASYPOST_KEY)
    with serving(easypost_app(store)) as url:
        store.base_url = url
        yield Sandbox(store, url)


@pytest.fixture
def dhl() -> Iterator[Sandbox]:
    store = DhlStore(username=DHL_USER, password=DHL_SECRET, accounts=(DHL_ACCOUNT,))
    with serving(dhl_app(store)) as url:
        yield Sandbox(store, url)


def parcel(cross_border: bool = True, **changes: Any) -> ParcelSpec:
    recipient = (
        Party("Ana Ruiz", "Calle 5 12", "Madrid", "28013", "ES", phone="34910000000")
        if cross_border
        else Party("Ada Buyer", "5 Cross St.", "Canton", "48817", "US", region="MI")
    )
    spec = ParcelSpec(
        reference="SHP-1",
        sender=Party("Home Warehouse", "1 Dock Rd", "Oakland", "94607", "US", region="CA"),
        recipient=recipient,
        weight_g=500,
        length_mm=250,
        width_mm=180,
        height_mm=60,
        ship_date=date(2026, 12, 4),
        customs=(CustomsLine("Cotton T-shirt", 2, 3000, "USD", 400, sku="TSHIRT-M"),) if cross_border else (),
    )
    return ParcelSpec(**{**spec.__dict__, **changes})
