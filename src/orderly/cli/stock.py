"""Stock: figures per warehouse, manual movements and the ledger check."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.table import Column, Table

from orderly.cli.common import NUMBERS, actor, err, fail, out, unit_of_work
from orderly.inventory import service as inventory
from orderly.inventory.schemas import BinIn, BinOut, BinsIn, StockOut
from orderly.orders.validation import validation_errors

stock_app = typer.Typer(help="Stock levels, movements and the ledger check.", no_args_is_help=True)

Sku = Annotated[str, typer.Argument(help="Your SKU")]
WarehouseCode = Annotated[str, typer.Argument(metavar="WAREHOUSE", help="Warehouse code")]
Reason = Annotated[str | None, typer.Option(help="Why, kept in the stock ledger")]


def _figure_line(figure: StockOut) -> None:
    out.print(
        f"{figure.sku} in {figure.warehouse}: on hand {figure.on_hand}, reserved {figure.reserved}, "
        f"safety {figure.safety}, available {figure.available}"
    )


@stock_app.command("list")
def stock_list(
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="Show at most this many SKUs")] = 100,
) -> None:
    """Every SKU: totals over all warehouses and what can be sold (a bundle's from its components)."""
    with unit_of_work(read_only=True) as session:
        found = inventory.list_stock(session, limit=limit + 1)
    numbers = [
        Column(name, justify="right") for name in ("On hand", "Reserved", "Safety", "Sellable", "In transit")
    ]
    table = Table("SKU", "Name", "Kind", *numbers, "Warehouses", title="Stock")
    for row in found[:limit]:
        table.add_row(
            row.sku,
            row.name,
            "bundle" if row.is_bundle else "product",
            *(str(n) for n in (row.on_hand, row.reserved, row.safety, row.sellable, row.in_transit)),
            ", ".join(f"{w.warehouse} {w.available}" for w in row.warehouses),
        )
    out.print(table)
    if len(found) > limit:
        out.print(f"Showing the first {limit} SKUs; use --limit to see more.", style="yellow")


@stock_app.command("show")
def show(sku: Sku) -> None:
    """Stock of one SKU in every warehouse."""
    with unit_of_work(read_only=True) as session:
        figures = inventory.stock_of(session, sku)
    if not figures:
        out.print(f"No stock recorded for {sku!r} yet.")
        return
    names = ("on_hand", "reserved", "safety", "available", "in_transit")
    numbers = [Column(name.replace("_", " ").capitalize(), justify="right") for name in names]
    binned = any(f.bin for f in figures)  # the column only where bins are used
    table = Table("Warehouse", *numbers, *(["Bin"] if binned else []), title=f"Stock of {sku}")
    for f in figures:
        figure = (f.warehouse, *(str(getattr(f, name)) for name in names))
        table.add_row(*figure, *([f.bin or ""] if binned else []))
    if len(figures) > 1:
        table.add_section()
        table.add_row("total", *(str(sum(getattr(f, name) for f in figures)) for name in names), style="bold")
    out.print(table)


@stock_app.command("receive", context_settings=NUMBERS)
def receive(
    sku: Sku,
    warehouse: WarehouseCode,
    quantity: Annotated[int, typer.Argument(metavar="QTY", help="How many arrived")],
    reason: Reason = None,
) -> None:
    """Book goods in."""
    with unit_of_work() as session:
        figure = inventory.receive(session, sku, warehouse, quantity, actor=actor(), reason=reason)
    _figure_line(figure)


@stock_app.command("adjust", context_settings=NUMBERS)
def adjust(
    sku: Sku,
    warehouse: WarehouseCode,
    delta: Annotated[int, typer.Argument(help="Change of on hand: 5 adds, -3 removes")],
    reason: Reason = None,
) -> None:
    """Add or remove stock (damage, loss, found goods)."""
    with unit_of_work() as session:
        figure = inventory.adjust(session, sku, warehouse, delta, actor=actor(), reason=reason)
    _figure_line(figure)


@stock_app.command("count", context_settings=NUMBERS)
def count(
    sku: Sku,
    warehouse: WarehouseCode,
    counted: Annotated[int, typer.Argument(help="How many are physically there")],
    reason: Reason = None,
) -> None:
    """Record a stock count: on hand becomes the counted quantity."""
    with unit_of_work() as session:
        figure = inventory.count(session, sku, warehouse, counted, actor=actor(), reason=reason)
    _figure_line(figure)


@stock_app.command("safety", context_settings=NUMBERS)
def safety(
    sku: Sku,
    warehouse: WarehouseCode,
    quantity: Annotated[int, typer.Argument(metavar="QTY", help="Stock never promised to orders")],
    reason: Reason = None,
) -> None:
    """Set the safety stock."""
    with unit_of_work() as session:
        figure = inventory.set_safety(session, sku, warehouse, quantity, actor=actor(), reason=reason)
    _figure_line(figure)


@stock_app.command("verify")
def verify(
    repair: Annotated[bool, typer.Option(help="Set each drifted level to what the ledger says")] = False,
) -> None:
    """Check every stock level against the ledger; exit code 1 when they differ and were not repaired."""
    with unit_of_work(read_only=not repair) as session:
        drifts = inventory.verify(session, repair=repair, actor=actor())
    if not drifts:
        out.print("All stock levels match the ledger.", style="green")
        return
    table = Table(
        "SKU",
        "Warehouse",
        "Level (on hand/reserved/safety)",
        "Ledger (on hand/reserved/safety)",
        title="Drift",
    )
    for d in drifts:
        table.add_row(
            d.sku or f"#{d.product_id}",
            d.warehouse or f"#{d.warehouse_id}",
            "/".join(map(str, d.level)),
            "/".join(map(str, d.ledger)),
        )
    out.print(table)
    kept = [d for d in drifts if d.cannot_repair is not None]
    for d in kept:
        err.print(
            f"{d.sku or f'#{d.product_id}'} in {d.warehouse or f'#{d.warehouse_id}'}: {d.cannot_repair}"
        )
    if repair:
        if len(kept) < len(drifts):
            out.print(f"Repaired {len(drifts) - len(kept)} stock level(s) from the ledger.", style="green")
        if kept:
            err.print(f"{len(kept)} stock level(s) left as they are.", style="red")
            raise typer.Exit(1)
        return
    err.print(
        f"{len(drifts)} stock level(s) differ from the ledger; run `orderly stock verify --repair` to fix.",
        style="red",
    )
    raise typer.Exit(1)


Walk = Annotated[
    int | None,
    typer.Option(
        min=0, help="The bin's place on the picker's walk (default: the natural order of bin codes)"
    ),
]


@stock_app.command("bin")
def set_bin(
    sku: Sku,
    warehouse: WarehouseCode,
    bin_code: Annotated[str, typer.Argument(metavar="BIN", help="Where the SKU is picked, e.g. A-02-3")],
    walk: Walk = None,
) -> None:
    """Put a SKU in its bin in a warehouse (again: it moves there)."""
    item = BinIn(sku=sku, warehouse=warehouse, bin=bin_code, walk=walk)
    with unit_of_work() as session:
        inventory.set_bins(session, [item])
    out.print(
        f"{item.sku} in {item.warehouse}: bin {item.bin}" + (f", walk {item.walk}" if item.walk else "")
    )


@stock_app.command("unbin")
def unbin(sku: Sku, warehouse: WarehouseCode) -> None:
    """Take a SKU out of its bin in a warehouse: it is picked last, wherever it is found."""
    with unit_of_work() as session:
        inventory.clear_bin(session, sku, warehouse)
    out.print(f"{sku} in {warehouse}: no bin")


@stock_app.command("bins")
def bins(
    warehouse: Annotated[str | None, typer.Option(help="Only this warehouse's bins")] = None,
    import_file: Annotated[
        Path | None,
        typer.Option(
            "--import",
            exists=True,
            dir_okay=False,
            help="A CSV file with the columns sku, warehouse, bin and perhaps walk: every row is set, "
            "or none when one is wrong",
        ),
    ] = None,
) -> None:
    """Where each SKU is picked, in the picker's walking order; or set many at once from a CSV file."""
    if import_file is not None:
        items = _bin_rows(import_file)
        with unit_of_work() as session:
            inventory.set_bins(session, items)
        out.print(f"{len(items)} bins set from {import_file}.")
        return
    with unit_of_work(read_only=True) as session:
        found = inventory.list_bins(session, warehouse)
    _bin_table(found)


def _bin_rows(path: Path) -> list[BinIn]:
    items = []
    problems = []
    with path.open(newline="", encoding="utf-8-sig") as file:
        reader = csv.DictReader(file)
        missing = {"sku", "warehouse", "bin"} - set(reader.fieldnames or ())
        if missing:
            fail(f"{path}: the first row must name the columns sku, warehouse, bin (and perhaps walk)")
        for row in reader:
            values = {k: v for k, v in row.items() if k in {"sku", "warehouse", "bin", "walk"}}
            if not (values.get("walk") or "").strip():
                values.pop("walk", None)
            try:
                items.append(BinIn.model_validate(values))
            except ValidationError as exc:
                problems += [
                    f"row {reader.line_num}: {e['field']}: {e['message']}" for e in validation_errors(exc)
                ]
    if problems:
        fail(*problems)
    if not items:
        fail(f"{path} has no rows")
    return BinsIn(bins=items).bins


def _bin_table(found: list[BinOut]) -> None:
    if not found:
        out.print("No bins set yet: `orderly stock bin SKU WAREHOUSE BIN`.")
        return
    table = Table("Warehouse", "Bin", "Walk", "SKU", title="Bins, in walking order")
    for item in found:
        table.add_row(item.warehouse, item.bin, "" if item.walk is None else str(item.walk), item.sku)
    out.print(table)
