"""Serve the TikTok Shop sandbox for a demo or a benchmark in another process:
``python -m orderly.sandbox.tiktok_shop [--port 8200]``; script it through ``/_sandbox``."""

from __future__ import annotations

import argparse

import uvicorn

from orderly.sandbox.tiktok_shop import TikTokShopStore, create_app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m orderly.sandbox.tiktok_shop", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    store = TikTokShopStore(seed=args.seed)
    # The credentials and ids a connector to this sandbox needs, for the person starting it.
    print(
        f"app_key={store.app_key}",
        f"app_secret={store.app_secret}",
        f"access_token={store.access_token}",
        f"refresh_token={store.refresh_token}",
        f"shop_cipher={store.shop_cipher}",
        f"warehouse_id={store.warehouse_id}",
        flush=True,
    )
    uvicorn.run(create_app(store), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
