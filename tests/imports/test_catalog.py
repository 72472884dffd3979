"""Products and bundles imported from a file: new SKUs made, known ones given the fields the file
has, the catalog's own rules kept; a bad row is reported while the rest go on; a re-import is a no-op."""

# ruff: noqa: RUF001 - components are written with full-width commas and signs, as Chinese files have them.
from __future__ import annotations

import io
from dataclasses import replace

import pytest
from sqlalchemy.orm import Session, sessionmaker

from orderly.catalog import service as catalog
from orderly.core.db import transaction
from orderly.imports import cleaning, repository
from orderly.imports.catalog import CatalogKind, components_of
from orderly.imports.domain import Kind, Outcome, Row, RowError
from orderly.imports.service import ImportOptions, run_import
from tests.factories import setup_catalog

OPTIONS = ImportOptions(shop=None, warehouse=None, time_zone="UTC", currency="USD", mode=None, actor="ops")
HEADERS = {
    "sku": "SKU", "name": "商品名称", "barcode": "Barcode", "category": "Category", "weight_g": "Weight (g)",
    "length_mm": "Length", "width_mm": "Width", "height_mm": "Height", "cost": "Cost", "currency": "Currency",
    "components": "Components",
}  # fmt: skip


def row(number: int, **values: str) -> Row:
    return Row(number, values, {name: HEADERS[name] for name in values})


def run(factory: sessionmaker[Session], rows: list[Row], options: ImportOptions = OPTIONS) -> Outcome:
    with transaction(factory) as s:
        return CatalogKind().apply(s, rows, options, dry_run=False)


def product(factory: sessionmaker[Session], sku: str) -> dict[str, object]:
    with transaction(factory) as s:
        return catalog.get_product(s, sku).model_dump(exclude={"id", "created_at"})


def test_new_products_and_bundles_are_made_with_barcodes_sizes_and_costs(
    factory: sessionmaker[Session],
) -> None:
    setup_catalog(factory)

    outcome = run(
        factory,
        [
            row(
                2,
                sku="MUG-1",
                name="Mug",
                barcode="4006381333931",
                weight_g="350",
                length_mm="120",
                cost="3.50",
            ),
            row(3, sku="SPOON-1", name="Spoon", cost="1,20", currency="eur"),
            row(
                4,
                sku="SET-1",
                name="Breakfast set",
                components="MUG-1*2; SPOON-1",
                cost="¥80",
                currency="CNY",
            ),
            row(5, sku="SET-2", name="Mixed", components="SKU-1 x 3，SPOON-1"),
        ],
    )

    assert outcome == Outcome(imported=4)
    mug = product(factory, "MUG-1")
    assert (mug["barcode"], mug["weight_g"], mug["length_mm"], mug["cost"], mug["cost_currency"]) == (
        "4006381333931",
        350,
        120,
        350,
        "USD",
    )
    assert (product(factory, "SPOON-1")["cost"], product(factory, "SPOON-1")["cost_currency"]) == (120, "EUR")
    breakfast = product(factory, "SET-1")
    assert breakfast["is_bundle"] and (breakfast["cost"], breakfast["cost_currency"]) == (8000, "CNY")
    assert breakfast["components"] == [{"sku": "MUG-1", "quantity": 2}, {"sku": "SPOON-1", "quantity": 1}]
    assert product(factory, "SET-2")["components"] == [
        {"sku": "SKU-1", "quantity": 3},
        {"sku": "SPOON-1", "quantity": 1},
    ]


def test_known_products_take_the_fields_the_file_gives_and_keep_the_others(
    factory: sessionmaker[Session],
) -> None:
    setup_catalog(factory)
    run(factory, [row(2, sku="SKU-1", category="mugs", barcode="036000291452")])

    outcome = run(factory, [row(2, sku="SKU-1", name="Blue mug", cost="2")])

    assert outcome == Outcome(imported=1)
    got = product(factory, "SKU-1")
    assert (got["name"], got["category"], got["barcode"], got["cost"]) == (
        "Blue mug",
        "mugs",
        "036000291452",
        200,
    )


def test_the_same_file_imported_again_changes_nothing(factory: sessionmaker[Session]) -> None:
    setup_catalog(factory)
    rows = [
        row(2, sku="MUG-1", name="Mug", barcode="4006381333931", cost="3.50", weight_g="0"),
        row(3, sku="SET-1", name="Set", components="MUG-1:2|SKU-2"),
        row(4, sku="KIT-1", name="Kit", components="SKU-2, SKU-1*2"),  # as setup_catalog made it
    ]
    first = run(factory, rows)

    again = run(factory, rows)

    assert (first.imported, first.unchanged) == (2, 1)
    assert again == Outcome(unchanged=3)


def test_bad_rows_are_reported_on_their_cells_while_the_rest_go_on(factory: sessionmaker[Session]) -> None:
    setup_catalog(factory)
    run(factory, [row(2, sku="SKU-1", barcode="036000291452")])

    outcome = run(
        factory,
        [
            row(2, sku="NEW-1"),
            row(3, sku="bad sku!", name="Bad"),
            row(4, sku="NEW-2", name="Two", barcode="4006381333932"),
            row(5, sku="NEW-3", name="Three", barcode="0036000291452"),
            row(6, sku="SET-9", name="Set", components="NOPE*2, SKU-1"),
            row(7, sku="SET-8", name="Set", components="KIT-1*1"),
            row(8, sku="SKU-2", components="SKU-1"),
            row(9, sku="KIT-1", components="SKU-3*2"),
            row(10, sku="NEW-4", name="Four", weight_g="heavy", cost="1.234"),
            row(11, sku="NEW-5", name="Five", cost="3", currency="ABC"),
            row(12, sku="NEW-6", name="Six"),
            row(13, sku="NEW-6", name="Six again"),
            row(14, sku="NEW-7", name="x" * 301),
        ],
    )

    assert outcome.imported == 1  # NEW-6
    assert [(e.row, e.column, e.reason) for e in outcome.errors] == [
        (2, None, "NEW-1 is new: a new product needs a name"),
        (3, "SKU", "SKU 'bad sku!' must be 1-64 letters, digits, '.', '_', '-' or '/', starting with a "
                   "letter or digit"),
        (4, "Barcode", "barcode: '4006381333932' reads as a GTIN-13 (EAN/UPC) but its check digit is 2; it "
                       "should be 1: check the digits"),
        (5, "Barcode", "barcode '0036000291452' is already SKU-1's"),
        (6, "Components", "unknown component SKU(s): NOPE"),
        (7, "Components", "a bundle's components must be plain SKUs, not bundles"),
        (8, "Components", "SKU-2 is a plain product: it cannot become a bundle"),
        (9, "Components", "KIT-1 is a bundle of other components: a bundle's components cannot change"),
        (10, "Weight (g)", "'heavy' is not a whole number of units"),
        (10, "Cost", "'1.234' has more decimals than USD has (2)"),
        (11, "Cost", "'ABC' is not an ISO 4217 currency code such as USD or CNY"),
        (13, None, "NEW-6 is on row 12 already: give each SKU once"),
        (14, "商品名称", "name: String should have at most 300 characters"),
    ]  # fmt: skip
    assert all(isinstance(error, RowError) for error in outcome.errors)


def test_a_cost_needs_a_currency_from_the_row_or_the_file(factory: sessionmaker[Session]) -> None:
    setup_catalog(factory)

    outcome = run(factory, [row(2, sku="MUG-1", name="Mug", cost="3")], replace(OPTIONS, currency=None))

    assert outcome.errors == [
        RowError(2, "Cost", "3", "no currency: add a currency column or choose one for the file")
    ]


@pytest.mark.parametrize(
    ("written", "parts"),
    [
        ("MUG-1*2; SPOON", [("MUG-1", 2), ("SPOON", 1)]),
        ("MUG-1 x 2, SPOON-1 X 3", [("MUG-1", 2), ("SPOON-1", 3)]),
        ("MUG-1:2|SPOON", [("MUG-1", 2), ("SPOON", 1)]),
        ("MUG-1×2\nSPOON", [("MUG-1", 2), ("SPOON", 1)]),
        ("MUG-1 * 2；", [("MUG-1", 2)]),
    ],
)
def test_components_are_read_as_spreadsheets_write_them(written: str, parts: list[tuple[str, int]]) -> None:
    assert components_of(written) == parts


@pytest.mark.parametrize("written", ["MUG-1*two", ";;", "MUG 1*2"])
def test_components_that_cannot_be_read_are_refused(written: str) -> None:
    with pytest.raises(cleaning.Invalid):
        components_of(written)


def test_a_products_file_in_chinese_is_imported_through_the_run_and_reported(
    factory: sessionmaker[Session],
) -> None:
    setup_catalog(factory)
    text = (
        "商品编码,商品名称,条形码,成本价,币种,组合明细\n"
        "TEA-1,绿茶,4006381333931,12.50,CNY,\n"
        "TEA-2,红茶,,9,CNY,\n"
        "TEA-SET,茶礼盒,,,,TEA-1*2;TEA-2\n"
        "TEA-BAD,坏的,4006381333932,,,\n"
    )

    run_id = run_import(
        factory, io.BytesIO(text.encode()), "茶.csv", Kind.CATALOG, ImportOptions(actor="ops")
    )
    again = run_import(factory, io.BytesIO(text.encode()), "茶.csv", Kind.CATALOG, ImportOptions(actor="ops"))

    with transaction(factory) as s:
        run, errors = repository.run(s, run_id), repository.errors(s, run_id)
        second = repository.run(s, again)
        assert run is not None and second is not None
        assert (run.status, run.layout, run.rows_read, run.imported, run.failed) == (
            "done",
            "generic",
            4,
            3,
            1,
        )
        assert [(e.row, e.column) for e in errors] == [(5, "条形码")]
        assert (second.imported, second.unchanged, second.failed) == (0, 3, 1)
    assert product(factory, "TEA-SET")["components"] == [
        {"sku": "TEA-1", "quantity": 2},
        {"sku": "TEA-2", "quantity": 1},
    ]
    assert (product(factory, "TEA-1")["cost"], product(factory, "TEA-1")["cost_currency"]) == (1250, "CNY")
