"""Serve the Amazon sandbox for a demo or a benchmark in another process:
``python -m orderly.sandbox.amazon [--port 8100] [--fast]``; script it through ``/_sandbox``."""

from __future__ import annotations

from typing import Any

from orderly.sandbox.amazon import FAST_RATES, AmazonStore, create_app
from orderly.sandbox.serve import sandbox_parser, serve_sandbox


def main(argv: list[str] | None = None) -> None:
    parser = sandbox_parser("orderly.sandbox.amazon", __doc__, port=8100)
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
    shown = {
        "client_id": store.client_id,
        "client_secret": store.client_secret,
        "refresh_token": store.refresh_token,
        "seller_id": store.seller_id,
        "marketplace_id": store.marketplace_id,
    }
    serve_sandbox(create_app(store), args, shown)


if __name__ == "__main__":
    main()
