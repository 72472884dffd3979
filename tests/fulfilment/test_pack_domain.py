"""The pure rules of picking and packing: the picker's walk, and what a scan may put in a parcel."""

from __future__ import annotations

import pytest

from orderly.core.errors import Conflict, DomainError
from orderly.core.phrases import say
from orderly.fulfilment import domain
from orderly.fulfilment.domain import ShipmentStatus
from orderly.fulfilment.packing import packer_name
from orderly.fulfilment.paperwork import Line, Parcel, pick_key, pick_walk
from orderly.inventory.domain import walk_key
from orderly.orders.domain import OrderStatus
from tests.fulfilment.test_paperwork import parcel

SKUS = {1: "MUG", 2: "TOWEL", 3: "PEN"}


def test_the_walk_takes_numbered_bins_first_then_codes_in_natural_order_then_no_bin() -> None:
    bins = [("A-10", None), ("", None), ("Z-1", 2), ("A-2", None), ("B-1", 1), ("a-3", None), ("C-1", 2)]
    walked = sorted(bins, key=lambda b: walk_key(*b))
    assert walked == [
        ("B-1", 1),
        ("C-1", 2),
        ("Z-1", 2),
        ("A-2", None),
        ("a-3", None),
        ("A-10", None),
        ("", None),
    ]


def test_a_parcels_picks_set_its_place_in_the_batch_and_its_stops() -> None:
    # A kit line on the slip; its components on the shelves, the towel's bin first on the walk.
    kit = parcel(
        "SH-2",
        lines=(Line("KIT", "Kit", 1),),
        picks=(Line("MUG", "Mug", 2, "A-10"), Line("TOWEL", "Towel", 1, "Q-9", walk=0)),
    )
    plain = parcel("SH-1", lines=(Line("MUG", "Mug", 1, "A-10"),))
    no_bin = parcel("SH-0", lines=(Line("PEN", "Pen", 1),))
    assert [p.reference for p in sorted([no_bin, plain, kit], key=pick_key)] == ["SH-2", "SH-1", "SH-0"]
    (walk,) = pick_walk([plain, kit])
    assert [(s.bin_location, s.sku, s.quantity) for s in walk.stops] == [
        ("Q-9", "TOWEL", 1),
        ("A-10", "MUG", 3),
    ]
    assert isinstance(kit, Parcel) and kit.stock_lines == kit.picks and plain.stock_lines == plain.lines


def test_a_scan_is_refused_for_a_wrong_item_and_for_one_too_many() -> None:
    expected = {1: 2, 2: 1}
    domain.check_scan(1, expected, {1: 1}, SKUS)
    with pytest.raises(
        Conflict, match=r"^wrong item: PEN is not in this parcel; it holds 2 x MUG, 1 x TOWEL$"
    ):
        domain.check_scan(3, expected, {}, SKUS)
    with pytest.raises(
        Conflict, match=r"^one too many: MUG is in the parcel 2 times, and 2 are scanned already$"
    ):
        domain.check_scan(1, expected, {1: 2}, SKUS)


def test_a_parcel_closes_only_with_every_unit_scanned() -> None:
    expected = {1: 2, 2: 1, 3: 1}
    assert domain.missing(expected, {1: 1, 3: 1}) == {1: 1, 2: 1}
    with pytest.raises(Conflict) as refused:
        domain.check_complete(7, expected, {1: 1, 3: 1}, SKUS)
    assert refused.value.message == (
        "shipment 7 is not complete: MUG: 1 of 2 scanned, 1 missing; TOWEL: 0 of 1 scanned, 1 missing"
    )
    domain.check_complete(7, expected, {1: 2, 2: 1, 3: 1}, SKUS)


def test_each_scan_refusal_keeps_its_phrase_and_says_the_same_english() -> None:
    expected = {1: 2, 2: 1}
    refusals = []
    for refuse in (
        lambda: domain.check_scan(3, expected, {}, SKUS),
        lambda: domain.check_scan(1, expected, {1: 2}, SKUS),
        lambda: domain.check_complete(7, expected, {1: 1}, SKUS),
        lambda: domain.check_packable(7, ShipmentStatus.PACKED),
        lambda: domain.check_order_shippable(7, OrderStatus.ON_HOLD),
    ):
        with pytest.raises(Conflict) as refused:
            refuse()
        refusals.append(refused.value)
    for refusal in refusals:
        assert refusal.phrase is not None, refusal.message
        assert refusal.phrase.english() == refusal.message == str(refusal)
        assert say(refusal.phrase.as_json(), lambda text: text) == refusal.message  # stored and said back
    wrong = refusals[0].phrase
    assert wrong is not None and wrong.text == "wrong item: %(sku)s is not in this parcel; it holds %(holds)s"
    swapped = {"%(count)s x %(sku)s": "%(sku)s*%(count)s"}  # each part of the list is translated too
    said = say(wrong.as_json(), lambda text: swapped.get(text, text))
    assert said == "wrong item: PEN is not in this parcel; it holds MUG*2, TOWEL*1"


@pytest.mark.parametrize("status", list(ShipmentStatus))
def test_only_parcels_not_yet_packed_take_scans(status: ShipmentStatus) -> None:
    if status in (ShipmentStatus.CREATED, ShipmentStatus.LABEL_BOUGHT, ShipmentStatus.PICKED):
        domain.check_packable(1, status)
    else:
        with pytest.raises(Conflict, match=f"shipment 1 is {status}: "):
            domain.check_packable(1, status)


def test_a_packer_name_fits_the_history_it_is_written_in() -> None:
    assert packer_name("tester", None) == "tester"
    assert packer_name("tester", "table 2") == "tester/table 2"
    with pytest.raises(DomainError, match="longer than 100"):
        packer_name("u" * 95, "table 12")
