"""What can be sold of a product or a bundle (the figure shops are offered): pure rule."""

from __future__ import annotations

from orderly.inventory.domain import Level, sellable

KIT, MUG, LID = 10, 1, 2
LEVELS = {
    (MUG, 100): Level(on_hand=7, reserved=2, safety=1),  # 4 available
    (MUG, 200): Level(on_hand=5),
    (LID, 100): Level(on_hand=3),
}


def test_a_product_sells_what_is_available_across_the_warehouses_given() -> None:
    assert sellable([MUG, LID], {}, LEVELS, {100, 200}) == {MUG: 9, LID: 3}
    assert sellable([MUG], {}, LEVELS, {100}) == {MUG: 4}  # an inactive warehouse sells nothing


def test_a_bundle_sells_as_many_as_its_scarcest_component_allows() -> None:
    parts = {KIT: [(MUG, 2), (LID, 1)]}

    assert sellable([KIT], parts, LEVELS, {100, 200}) == {KIT: 3}  # lids: 3; mugs: 9 // 2 = 4
    assert sellable([KIT], parts, LEVELS, {100}) == {KIT: 2}  # mugs: 4 // 2
    assert sellable([KIT], parts, LEVELS, {200}) == {KIT: 0}  # no lids there


def test_nothing_in_stock_sells_nothing() -> None:
    assert sellable([99, KIT], {KIT: [(99, 1)]}, {}, {100}) == {99: 0, KIT: 0}
