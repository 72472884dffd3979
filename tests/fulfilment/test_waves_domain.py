"""Waves, pure: a warehouse's parcels per carrier of their labels (those without one first), in the
pick order given, cut into waves of at most WAVE_SIZE."""

from __future__ import annotations

import pytest

from orderly.fulfilment import domain
from orderly.fulfilment.domain import WaveParcel, form_waves


def _parcel(
    shipment_id: int, warehouse: str = "WH-1", carrier: str | None = None, labelled: bool = True
) -> WaveParcel:
    return WaveParcel(
        shipment_id=shipment_id,
        warehouse=warehouse,
        order_id=shipment_id,
        order_number=f"#{shipment_id}",
        shop="shop-a",
        carrier=carrier,
        service=None,
        tracking_number=f"TRK{shipment_id}" if labelled else None,
        units=1,
        first_bin="A-1",
    )


def test_waves_go_by_warehouse_then_unlabelled_first_then_carrier_by_name_keeping_pick_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(domain, "WAVE_SIZE", 2)
    parcels = [
        _parcel(1, carrier="UPS"),
        _parcel(2, carrier="DHL"),
        _parcel(3, carrier="UPS", labelled=False),  # a carrier named but no label yet: to buy
        _parcel(4, carrier="UPS"),
        _parcel(5),  # a tracking number typed in with no carrier named
        _parcel(6, carrier="UPS"),
        _parcel(7, warehouse="WH-2", carrier="UPS"),
    ]

    waves = form_waves(parcels)

    assert [(w.warehouse, w.carrier, w.number, [p.shipment_id for p in w.parcels]) for w in waves] == [
        ("WH-1", None, 1, [3]),
        ("WH-1", "", 1, [5]),
        ("WH-1", "DHL", 1, [2]),
        ("WH-1", "UPS", 1, [1, 4]),
        ("WH-1", "UPS", 2, [6]),
        ("WH-2", "UPS", 1, [7]),
    ]
    assert [p.shipment_id for p in waves[0].unlabelled] == [3] and waves[3].unlabelled == ()
    assert form_waves([]) == []
