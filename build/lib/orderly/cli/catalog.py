"""Master data: shops, products, bundles, warehouses and SKU mappings."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.table import Table

from orderly.catalog import service as catalog
from orderly.catalog.domain import MERCHANT, PLATFORM
from orderly.catalog.schemas import (
    FULFILLED_BY_HELP,
    LOCATION_HELP,
    PLATFORM_IDS_HELP,
    BundleIn,
    ComponentIn,
    MappingIn,
    MappingOut,
    MappingUpdate,
    ProductIn,
    ProductUpdate,
)
from orderly.channels import service as channels
from orderly.channels.schemas import ShopIn
from orderly.cli.common import fail, id_argument, out, unit_of_work, when
from orderly.core.clock import day_or_instant, range_start, zone
from orderly.core.config import get_settings
from orderly.inventory import service as inventory
from orderly.inventory.schemas import WarehouseIn, WarehouseUpdate

shop_app = typer.Typer(help="Shops: one per storefront or marketplace account.", no_args_is_help=True)
product_app = typer.Typer(help="Products: the SKUs you stock.", no_args_is_help=True)
bundle_app = typer.Typer(help="Bundles: SKUs sold as a set of other SKUs.", no_args_is_help=True)
warehouse_app = typer.Typer(help="Warehouses that hold stock.", no_args_is_help=True)
mapping_app = typer.Typer(help="Map a shop's own SKUs or listings to your SKUs.", no_args_is_help=True)

Limit = Annotated[int, typer.Option(min=1, help="Show at most this many rows")]
Category = Annotated[str | None, typer.Option(help="Free text, for your own grouping")]
Barcode = Annotated[str | None, typer.Option(help="EAN, UPC or your own code")]
Weight = Annotated[int | None, typer.Option(min=0, help="Shipping weight in grams")]


class FulfilledByChoice(StrEnum):
    merchant = MERCHANT
    platform = PLATFORM


def _more(shown: int, limit: int, what: str) -> None:
    if shown > limit:
        out.print(f"Showing the first {limit} {what}; use --limit to see more.", style="yellow")


@shop_app.command("add")
def shop_add(
    code: Annotated[str, typer.Argument(help="Short code used in orders, e.g. 'amazon-de'")],
    name: Annotated[str, typer.Option(help="Display name")],
    channel: Annotated[str, typer.Option(help="Platform: shopify, amazon, ebay, manual...")],
) -> None:
    """Add a shop."""
    with unit_of_work() as session:
        shop = channels.create_shop(session, ShopIn(code=code, name=name, channel=channel))
    out.print(f"Shop {shop.code!r} added (id {shop.id}).")


@shop_app.command("list")
def shop_list() -> None:
    """List shops."""
    with unit_of_work(read_only=True) as session:
        shops = channels.list_shops(session)
    table = Table("ID", "Code", "Name", "Channel", "Health", title="Shops")
    for shop in shops:
        failing = [
            f"{kind} failing since {when(h.unhealthy_since)}: {h.last_error}"
            for kind, h in shop.health.items()
            if h.unhealthy_since is not None
        ]
        table.add_row(str(shop.id), shop.code, shop.name, shop.channel, "; ".join(failing) or "ok")
    out.print(table)


@product_app.command("add")
def product_add(
    sku: Annotated[str, typer.Argument(help="Your SKU")],
    name: Annotated[str, typer.Option(help="Product name")],
    category: Category = None,
    barcode: Barcode = None,
    weight_g: Weight = None,
) -> None:
    """Add a product."""
    data = ProductIn(sku=sku, name=name, category=category, barcode=barcode, weight_g=weight_g)
    with unit_of_work() as session:
        product = catalog.create_product(session, data)
    out.print(f"Product {product.sku!r} added (id {product.id}).")


@product_app.command("list")
def product_list(limit: Limit = 100) -> None:
    """List products and bundles."""
    with unit_of_work(read_only=True) as session:
        products = catalog.list_products(session, limit=limit + 1)
    table = Table("ID", "SKU", "Name", "Kind", "Category", "Barcode", "Weight (g)", title="Products")
    for p in products[:limit]:
        table.add_row(
            str(p.id),
            p.sku,
            p.name,
            "bundle" if p.is_bundle else "product",
            p.category or "",
            p.barcode or "",
            "" if p.weight_g is None else str(p.weight_g),
        )
    out.print(table)
    _more(len(products), limit, "products")


def _presale(value: str) -> datetime:
    try:
        moment = day_or_instant(value)
        return range_start(moment, zone(get_settings().timezone))
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--presale-until") from None


@product_app.command("edit")
def product_edit(
    sku: Annotated[str, typer.Argument(help="Your SKU")],
    name: Annotated[str | None, typer.Option(help="Product name")] = None,
    category: Annotated[str | None, typer.Option(help="Your own grouping; '' clears it")] = None,
    barcode: Annotated[str | None, typer.Option(help="EAN, UPC or your own code; '' clears it")] = None,
    weight_g: Weight = None,
    presale_until: Annotated[
        str | None,
        typer.Option(
            help="Orders wait, held, until then: a date (its start in ORDERLY_TIMEZONE) or a time with offset"
        ),
    ] = None,
    no_presale: Annotated[bool, typer.Option("--no-presale", help="Not a presale item any more")] = False,
) -> None:
    """Change a product's name, category, barcode, weight or presale date."""
    given: dict[str, Any] = {
        key: value for key, value in (("name", name), ("weight_g", weight_g)) if value is not None
    }
    given |= {
        key: value or None
        for key, value in (("category", category), ("barcode", barcode))
        if value is not None
    }
    if presale_until is not None:
        given["presale_until"] = _presale(presale_until)
    if no_presale:
        given["presale_until"] = None
    data = ProductUpdate.model_validate(given)
    if not data.model_fields_set:
        fail("nothing to change: give at least one option (see --help)")
    with unit_of_work() as session:
        product = catalog.update_product(session, sku, data)
    presale = f", presale until {when(product.presale_until)}" if product.presale_until else ""
    out.print(f"Product {product.sku!r} updated: {product.name}{presale}.")


@product_app.command("delete")
def product_delete(sku: Annotated[str, typer.Argument(help="Your SKU")]) -> None:
    """Delete a product nothing refers to (no stock, orders, mappings or bundles)."""
    with unit_of_work() as session:
        catalog.delete_product(session, sku)
    out.print(f"Product {sku!r} deleted.")


def _component(value: str) -> ComponentIn:
    sku, colon, quantity = value.rpartition(":")
    if not colon:
        return ComponentIn(sku=value, quantity=1)
    if not quantity.isdigit():
        raise typer.BadParameter(f"{value!r} is not SKU:QTY", param_hint="--component")
    return ComponentIn(sku=sku, quantity=int(quantity))


@bundle_app.command("add")
def bundle_add(
    sku: Annotated[str, typer.Argument(help="The bundle's own SKU")],
    name: Annotated[str, typer.Option(help="Bundle name")],
    component: Annotated[
        list[str],
        typer.Option(help="A part as SKU:QTY (QTY defaults to 1); repeat for each part", metavar="SKU:QTY"),
    ],
    category: Category = None,
    barcode: Barcode = None,
    weight_g: Weight = None,
) -> None:
    """Add a bundle made of existing products."""
    data = BundleIn(
        sku=sku,
        name=name,
        category=category,
        barcode=barcode,
        weight_g=weight_g,
        components=[_component(c) for c in component],
    )
    with unit_of_work() as session:
        bundle = catalog.create_bundle(session, data)
    parts = ", ".join(f"{c.quantity} x {c.sku}" for c in bundle.components)
    out.print(f"Bundle {bundle.sku!r} added (id {bundle.id}): {parts}.")


_SHIP_ON_PACK = typer.Option(
    "--ship-on-pack/--ship-on-confirm",
    help="A parcel packed by scan is handed over at once, or waits packed for the carrier's pickup "
    "or the packer's confirmation (`orderly shipments ship`; the default)",
)
ShipOnPack = Annotated[bool, _SHIP_ON_PACK]
ShipOnPackChange = Annotated[bool | None, _SHIP_ON_PACK]


@warehouse_app.command("add")
def warehouse_add(
    code: Annotated[str, typer.Argument(help="Short code, e.g. 'WH-DE'")],
    name: Annotated[str, typer.Option(help="Display name")],
    kind: Annotated[str, typer.Option(help="own, overseas, 3pl or fba")] = WarehouseIn.model_fields[
        "kind"
    ].default,
    country: Annotated[str | None, typer.Option(help="ISO 3166-1 alpha-2 code, e.g. DE")] = None,
    priority: Annotated[
        int, typer.Option(help="Orders are filled from the lowest priority first")
    ] = WarehouseIn.model_fields["priority"].default,
    ship_on_pack: ShipOnPack = False,
) -> None:
    """Add a warehouse."""
    data = WarehouseIn(
        code=code, name=name, kind=kind, country=country, priority=priority, ship_on_pack=ship_on_pack
    )
    with unit_of_work() as session:
        warehouse = inventory.create_warehouse(session, data)
    out.print(f"Warehouse {warehouse.code!r} added (id {warehouse.id}).")


@warehouse_app.command("edit")
def warehouse_edit(
    code: Annotated[str, typer.Argument(help="The warehouse's code")],
    name: Annotated[str | None, typer.Option(help="Display name")] = None,
    kind: Annotated[str | None, typer.Option(help="own, overseas, 3pl or fba")] = None,
    country: Annotated[str | None, typer.Option(help="ISO 3166-1 alpha-2 code, e.g. DE")] = None,
    priority: Annotated[
        int | None, typer.Option(help="Orders are filled from the lowest priority first")
    ] = None,
    active: Annotated[
        bool | None, typer.Option("--active/--inactive", help="An inactive warehouse is never allocated from")
    ] = None,
    ship_on_pack: ShipOnPackChange = None,
) -> None:
    """Change a warehouse's name, kind, country or priority, whether packing ships, or switch it off."""
    given = {
        "name": name,
        "kind": kind,
        "country": country,
        "priority": priority,
        "active": active,
        "ship_on_pack": ship_on_pack,
    }
    data = WarehouseUpdate.model_validate({k: v for k, v in given.items() if v is not None})
    if not data.model_fields_set:
        fail("nothing to change: give at least one option (see --help)")
    with unit_of_work() as session:
        w = inventory.update_warehouse(session, code, data)
    state = "active" if w.active else "inactive"
    packing = ""
    if ship_on_pack is not None:
        packing = ", ships on pack" if w.ship_on_pack else ", packed parcels wait to be shipped"
    out.print(f"Warehouse {w.code!r} updated: {w.name}, priority {w.priority}, {state}{packing}.")


@warehouse_app.command("delete")
def warehouse_delete(code: Annotated[str, typer.Argument(help="The warehouse's code")]) -> None:
    """Delete a warehouse that never held stock."""
    with unit_of_work() as session:
        inventory.delete_warehouse(session, code)
    out.print(f"Warehouse {code!r} deleted.")


@warehouse_app.command("list")
def warehouse_list() -> None:
    """List warehouses in the order orders are filled from."""
    with unit_of_work(read_only=True) as session:
        warehouses = inventory.list_warehouses(session)
    table = Table(
        "ID", "Code", "Name", "Kind", "Country", "Priority", "Active", "Ship on pack", title="Warehouses"
    )
    for w in warehouses:
        table.add_row(
            str(w.id),
            w.code,
            w.name,
            w.kind,
            w.country or "",
            str(w.priority),
            "yes" if w.active else "no",
            "yes" if w.ship_on_pack else "no",
        )
    out.print(table)


MappingId = Annotated[int, id_argument("The mapping's id (see `orderly mapping list`)")]
Location = Annotated[str | None, typer.Option(help=LOCATION_HELP)]
Sells = Annotated[FulfilledByChoice | None, typer.Option("--fulfilled-by", help=FULFILLED_BY_HELP)]


def _platform_ids(values: list[str], *, removable: bool) -> dict[str, str | None]:
    ids: dict[str, str | None] = {}
    for value in values:
        name, equals, given = value.partition("=")
        if not equals or not name.strip() or not (given.strip() or removable):
            expected = "NAME=VALUE (NAME= removes it)" if removable else "NAME=VALUE"
            raise typer.BadParameter(f"{value!r} is not {expected}", param_hint="--platform-id")
        ids[name.strip()] = given.strip() or None
    return ids


@mapping_app.command("add")
def mapping_add(
    shop: Annotated[str, typer.Option(help="Shop code")],
    sku: Annotated[str, typer.Option(help="Your SKU")],
    platform_sku: Annotated[str | None, typer.Option(help="The SKU the shop sends")] = None,
    listing_id: Annotated[str | None, typer.Option(help="The shop's listing or item id")] = None,
    location: Location = None,
    fulfilled_by: Sells = None,
    platform_id: Annotated[
        list[str] | None, typer.Option(help=f"{PLATFORM_IDS_HELP}; repeat for each", metavar="NAME=VALUE")
    ] = None,
) -> None:
    """Map a shop's SKU and/or listing to one of your SKUs."""
    data = MappingIn(
        shop=shop,
        sku=sku,
        platform_sku=platform_sku,
        listing_id=listing_id,
        location=location,
        fulfilled_by=(fulfilled_by or FulfilledByChoice.merchant).value,
        platform_ids=_platform_ids(platform_id or [], removable=False),
    )
    with unit_of_work() as session:
        mapping = catalog.create_mapping(session, data)
    source = " / ".join(x for x in (mapping.platform_sku, mapping.listing_id) if x)
    out.print(f"Mapping {mapping.id} added: {mapping.shop} {source} -> {mapping.sku}.")
    _where(mapping)


def _where(mapping: MappingOut) -> None:
    if mapping.fulfilled_by == PLATFORM:
        out.print("The platform fulfils this listing from its own stock: no figure is ever pushed to it.")
    elif mapping.listing_id and mapping.effective_location:
        own = "its own" if mapping.location else "the shop's default"
        out.print(f"Its stock is pushed to location {mapping.effective_location} ({own}).")


def _location(mapping: MappingOut) -> str:
    if mapping.location or not mapping.effective_location:
        return mapping.location or ""
    return f"{mapping.effective_location} (shop)"


@mapping_app.command("list")
def mapping_list(
    shop: Annotated[str | None, typer.Option(help="Only this shop's mappings")] = None,
    limit: Limit = 100,
) -> None:
    """List SKU mappings, with where each listing's stock goes and the last figure it was told."""
    with unit_of_work(read_only=True) as session:
        mappings = catalog.list_mappings(session, shop=shop, limit=limit + 1)
    table = Table(
        "ID",
        "Shop",
        "Platform SKU",
        "Listing",
        "SKU",
        "Location",
        "Stock of",
        "Last figure",
        "Pushed at",
        "Last error",
        title="SKU mappings",
    )
    for m in mappings[:limit]:
        table.add_row(
            str(m.id),
            m.shop,
            m.platform_sku or "",
            m.listing_id or "",
            m.sku,
            _location(m),
            m.fulfilled_by,
            "" if m.last_quantity is None else str(m.last_quantity),
            when(m.last_pushed_at),
            m.last_error or "",
        )
    out.print(table)
    _more(len(mappings), limit, "mappings")


@mapping_app.command("show")
def mapping_show(mapping_id: MappingId) -> None:
    """One mapping: its listing's location, platform ids and the last figure it was told."""
    with unit_of_work(read_only=True) as session:
        m = catalog.get_mapping(session, mapping_id)
    rows = [
        ("Shop", m.shop),
        ("Platform SKU", m.platform_sku or ""),
        ("Listing", m.listing_id or ""),
        ("SKU", m.sku),
        ("Stock of", m.fulfilled_by),
        ("Location", _location(m)),
        ("Platform ids", ", ".join(f"{k}={v}" for k, v in sorted(m.platform_ids.items()))),
        ("Learned ids", ", ".join(f"{k}={v}" for k, v in sorted(m.learned_ids.items()))),
        ("Last figure", "" if m.last_quantity is None else str(m.last_quantity)),
        ("Pushed at", when(m.last_pushed_at)),
        ("Last error", m.last_error or ""),
    ]
    table = Table("Field", "Value", title=f"SKU mapping {m.id}", show_header=False)
    for name, value in rows:
        table.add_row(name, value)
    out.print(table)


@mapping_app.command("edit")
def mapping_edit(
    mapping_id: MappingId,
    sku: Annotated[str | None, typer.Option(help="Your SKU the listing sells from now on")] = None,
    location: Location = None,
    default_location: Annotated[
        bool, typer.Option("--default-location", help="Go back to the shop's default location")
    ] = False,
    fulfilled_by: Sells = None,
    platform_id: Annotated[
        list[str] | None,
        typer.Option(help="Set a platform id; NAME= removes it; repeat for each", metavar="NAME=VALUE"),
    ] = None,
) -> None:
    """Change a mapping; what is not given stays as it is."""
    if location is not None and default_location:
        raise typer.BadParameter("give --location or --default-location, not both", param_hint="--location")
    changes: dict[str, object] = {}
    if sku is not None:
        changes["sku"] = sku
    if location is not None or default_location:
        changes["location"] = location
    if fulfilled_by is not None:
        changes["fulfilled_by"] = fulfilled_by.value
    if platform_id:
        changes["platform_ids"] = _platform_ids(platform_id, removable=True)
    if not changes:
        fail("nothing to change: give --sku, --location, --default-location, --fulfilled-by or --platform-id")
    with unit_of_work() as session:
        mapping = catalog.update_mapping(session, mapping_id, MappingUpdate.model_validate(changes))
    source = mapping.listing_id or mapping.platform_sku
    out.print(f"Mapping {mapping.id} changed: {mapping.shop} {source} -> {mapping.sku}.")
    _where(mapping)


@mapping_app.command("delete")
def mapping_delete(mapping_id: MappingId) -> None:
    """Delete a mapping; refused while open orders came in through it."""
    with unit_of_work() as session:
        catalog.delete_mapping(session, mapping_id)
    out.print(f"Mapping {mapping_id} deleted.")
