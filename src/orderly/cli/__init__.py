"""The ``orderly`` command line: run the hub, manage master data and stock, ingest order files.

Every command reads :func:`orderly.core.config.get_settings`, works in one transaction and prints with
Rich; a request the domain refuses is a red message on stderr and exit code 1.
"""

from __future__ import annotations

import typer

from orderly.cli.carriers import carriers_app
from orderly.cli.catalog import bundle_app, mapping_app, product_app, shop_app, warehouse_app
from orderly.cli.common import Group
from orderly.cli.fulfilment import ship, shipments_app
from orderly.cli.imports import import_app
from orderly.cli.labels import labels_app
from orderly.cli.orders import ingest, orders_app, rejections_app
from orderly.cli.pack import pack
from orderly.cli.review import review_app
from orderly.cli.routing import route, routing_app
from orderly.cli.server import migrate, start, status, token_app
from orderly.cli.stock import stock_app
from orderly.cli.sync import (
    alerts,
    inbox_app,
    jobs_app,
    secret_key,
    shop_authorize,
    shop_backfill,
    shop_backfills,
    shop_connect,
    shop_sync,
    worker,
)
from orderly.cli.transfers import transfers_app
from orderly.cli.users import audit, users_app

app = typer.Typer(
    cls=Group,
    help="Orderly: a self-hosted order and inventory hub.",
    no_args_is_help=True,
    add_completion=False,
)
app.command()(start)
app.command()(migrate)
app.command()(status)
app.command()(ingest)
app.command()(ship)
app.command()(route)
app.command()(pack)
app.command()(worker)
app.command()(alerts)
app.command("secret-key")(secret_key)
app.command()(audit)
shop_app.command("connect")(shop_connect)
shop_app.command("authorize")(shop_authorize)
shop_app.command("sync")(shop_sync)
shop_app.command("backfill")(shop_backfill)
shop_app.command("backfills")(shop_backfills)
app.add_typer(jobs_app, name="jobs")
app.add_typer(inbox_app, name="inbox")
app.add_typer(token_app, name="token")
app.add_typer(users_app, name="users")
app.add_typer(shop_app, name="shop")
app.add_typer(product_app, name="product")
app.add_typer(bundle_app, name="bundle")
app.add_typer(warehouse_app, name="warehouse")
app.add_typer(mapping_app, name="mapping")
app.add_typer(stock_app, name="stock")
app.add_typer(transfers_app, name="transfers")
app.add_typer(orders_app, name="orders")
app.add_typer(rejections_app, name="rejections")
app.add_typer(review_app, name="review")
app.add_typer(routing_app, name="routing")
app.add_typer(shipments_app, name="shipments")
app.add_typer(labels_app, name="labels")
app.add_typer(carriers_app, name="carriers")
app.add_typer(import_app, name="import")

__all__ = ["app"]
