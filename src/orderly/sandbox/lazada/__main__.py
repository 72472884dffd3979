"""Serve the Lazada sandbox for a demo or a benchmark in another process:
``python -m orderly.sandbox.lazada [--port 8300] [--country SG]``; script it through ``/_sandbox``
(``POST /_sandbox/products``, ``POST /_sandbox/orders``, ``GET /_sandbox/products/{sku}``)."""

from __future__ import annotations

from orderly.sandbox.lazada import LazadaStore, create_app
from orderly.sandbox.lazada.store import SITES
from orderly.sandbox.serve import sandbox_parser, serve_sandbox


def main(argv: list[str] | None = None) -> None:
    parser = sandbox_parser("orderly.sandbox.lazada", __doc__, port=8300)
    parser.add_argument("--country", default="SG", choices=sorted(SITES))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--webhook", default=None, help="where pushes go (the hub's /api/v1/webhooks/<shop>)")
    args = parser.parse_args(argv)
    store = LazadaStore(country=args.country, seed=args.seed)
    store.base_url = f"http://{args.host}:{args.port}"
    if args.webhook:
        store.set_webhook(args.webhook)
    shown = {
        "base_url": f"{store.base_url}/rest",
        "app_key": store.app_key,
        "app_secret": store.app_secret,
        "access_token": store.access_token,
        "refresh_token": store.refresh_token,
    }
    serve_sandbox(create_app(store), args, shown)


if __name__ == "__main__":
    main()
