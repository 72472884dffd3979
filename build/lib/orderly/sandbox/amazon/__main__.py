"""Serve the Amazon sandbox for a demo or a benchmark in another process:
``python -m orderly.sandbox.amazon [--port 8100] [--fast]``; script it through ``/_sandbox``."""

from __future__ import annotations

import argparse
from typing import Any

import uvicorn

from orderly.sandbox.amazon import FAST_RATES, AmazonStore, create_app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m orderly.sandbox.amazon", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--fast",
        action="store_true",
        help="no throttling and no 2-minute rule (the published limits otherwise)",
    )
    args = parser.parse_args(argv)
    options: dict[str, Any] = {}
    if args.fast:
        options = {"rates": FAST_RATES, "before_lag_seconds": 0}
    store = AmazonStore(seed=args.seed, **options)
    # The credentials and ids a connector to this sandbox needs, for the person starting it.
    print(
        f"client_id={store.client_id}",
        f"client_secret={store.client_secret}",
        f"refresh_token={store.refresh_token}",
        f"seller_id={store.seller_id}",
        f"marketplace_id={store.marketplace_id}",
        flush=True,
    )
    uvicorn.run(create_app(store), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
