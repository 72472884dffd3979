"""Serve the TikTok Shop sandbox for a demo or a benchmark in another process:
``python -m orderly.sandbox.tiktok_shop [--port 8200]``; script it through ``/_sandbox``."""

from __future__ import annotations

from orderly.sandbox.serve import sandbox_parser, serve_sandbox
from orderly.sandbox.tiktok_shop import TikTokShopStore, create_app


def main(argv: list[str] | None = None) -> None:
    parser = sandbox_parser("orderly.sandbox.tiktok_shop", __doc__, port=8200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    store = TikTokShopStore(seed=args.seed)
    shown = {
        "app_key": store.app_key,
        "app_secret": store.app_secret,
        "access_token": store.access_token,
        "refresh_token": store.refresh_token,
        "shop_cipher": store.shop_cipher,
        "warehouse_id": store.warehouse_id,
    }
    serve_sandbox(create_app(store), args, shown)


if __name__ == "__main__":
    main()
