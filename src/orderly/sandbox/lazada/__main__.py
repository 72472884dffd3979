"""Serve the Lazada sandbox for a demo or a benchmark in another process:
``python -m orderly.sandbox.lazada [--port 8300] [--country SG]``; script it through ``/_sandbox``
(``POST /_sandbox/products``, ``POST /_sandbox/orders``, ``GET /_sandbox/products/{sku}``)."""

from __future__ import annotations

import argparse

import uvicorn

from orderly.sandbox.lazada import LazadaStore, create_app
from orderly.sandbox.lazada.store import SITES


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m orderly.sandbox.lazada", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8300)
    parser.add_argument("--country", default="SG", choices=sorted(SITES))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--webhook", default=None, help="where pushes go (the hub's /api/v1/webhooks/<shop>)")
    args = parser.parse_args(argv)
    store = LazadaStore(country=args.country, seed=args.seed)
    store.base_url = f"http://{args.host}:{args.port}"
    if args.webhook:
        store.set_webhook(args.webhook)
    # The credentials a connector to this sandbox needs, for the person starting it.
    print(
        f"base_url={store.base_url}/rest",
        f"app_key={store.app_key}",
        f"app_secret={store.app_secret}",
        f"access_token={store.access_token}",
        f"refresh_token={store.refresh_token}",
        flush=True,
    )
    uvicorn.run(create_app(store), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
