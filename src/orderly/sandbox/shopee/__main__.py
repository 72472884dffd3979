"""Serve the Shopee sandbox for a demo or a benchmark in another process:
``python -m orderly.sandbox.shopee [--port 8205]``; script it through ``/_sandbox``."""

from __future__ import annotations

import argparse

import uvicorn

from orderly.sandbox.shopee import ShopeeStore, create_app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m orderly.sandbox.shopee", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8205)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    store = ShopeeStore(seed=args.seed)
    # What a connection to this sandbox needs, for the person starting it.
    print(
        f"partner_id={store.partner_id}",
        f"partner_key={store.partner_key}",
        f"shop_id={store.shop_id}",
        f"access_token={store.access_token}",
        f"refresh_token={store.refresh_token}",
        flush=True,
    )
    uvicorn.run(create_app(store), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
