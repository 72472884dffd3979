"""Serve the Shopee sandbox for a demo or a benchmark in another process:
``python -m orderly.sandbox.shopee [--port 8205]``; script it through ``/_sandbox``."""

from __future__ import annotations

from orderly.sandbox.serve import sandbox_parser, serve_sandbox
from orderly.sandbox.shopee import ShopeeStore, create_app


def main(argv: list[str] | None = None) -> None:
    parser = sandbox_parser("orderly.sandbox.shopee", __doc__, port=8205)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    store = ShopeeStore(seed=args.seed)
    shown = {
        "partner_id": store.partner_id,
        "partner_key": store.partner_key,
        "shop_id": store.shop_id,
        "access_token": store.access_token,
        "refresh_token": store.refresh_token,
    }
    serve_sandbox(create_app(store), args, shown)


if __name__ == "__main__":
    main()
